"""Who may read and change what in risk sharing — the whole policy in one place.

Rule families and their versions
    read: every signed-in user (public policy). change: the family's owner (administering
    organisation) only — a maker (officer or approver) proposes, a second user of the owner with
    the approver role approves (maker-checker); any other organisation, the platform admin
    included, gets 403. Proposals are read by the owner and the platform admin (others 404).
Scheme state (covered loans, fund balances, headroom)
    read: every signed-in user. change: as a rule family (proposal + approval); balances also
    move with share signatures, declines and recoveries.
New families
    the platform admin installs presets, naming the owner (default: the admin organisation);
    a fund may start a family of its own with ``POST /risk-rules``.
Claims, their shares, loan facts, recoveries, ledger lines
    read: the claim's parties only (admin: all); others 404. File: a bank or guarantor that is
    itself a party. Review/reject: a party's staff other than the filing user. A share: only
    users of that share's organisation (maker proposes, approver approves or declines, staff pay).
Claim party organisations
    checked at filing: bank = the loan's bank; guarantor = the loan's guarantor (the guarantee
    contract); other roles by organisation kind (``schemes.ROLE_ORG_KINDS``; never the admin).
"""

from __future__ import annotations

from fastapi import HTTPException, status

from api.identity.models import Organisation, OrgKind, User, UserRole
from api.risk_sharing.models import RiskClaimParty, RiskRuleFamily

STAFF_ROLES = (UserRole.officer, UserRole.approver)


def forbid(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail)


def require_family_owner(org: Organisation, family: RiskRuleFamily) -> None:
    """Only the administering organisation changes a rule family (the platform admin included: 403)."""
    if org.id != family.owner_org_id:
        raise forbid(
            f"rule family '{family.rule_id}' is administered by organisation {family.owner_org_id}: "
            "only its users may propose or approve changes"
        )


def require_staff(user: User) -> None:
    if str(user.role) not in {str(r) for r in STAFF_ROLES}:
        raise forbid("needs an officer or approver")


def require_approver(user: User) -> None:
    if str(user.role) != UserRole.approver:
        raise forbid("needs a user with the approver role (checker)")


def require_share_org(org: Organisation, share: RiskClaimParty) -> None:
    """A share is signed, paid or declined by users of its own organisation only (admin included)."""
    if share.org_id is None or org.id != share.org_id:
        raise forbid(f"only users of the organisation of party '{share.party_key}' may act on its share")


def is_admin(org: Organisation) -> bool:
    return str(org.kind) == OrgKind.admin
