"""Risk-sharing API: rule families (owner, proposed changes approved by a second user of the
owner), versions, simulation, compensation claims (review once, then each party signs and pays
its own share), recoveries and the ledger. Thin routes: validate, call the services and the
pure ``risk_sharing`` package, commit once. Who may do what: ``api.risk_sharing.policies``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Query, Response, status
from sqlalchemy.exc import IntegrityError

from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.core.idempotency import IdempotencyDep
from api.identity.models import OrgKind, UserRole
from api.risk_sharing import governance
from api.risk_sharing import recoveries as risk_sharing_recoveries
from api.risk_sharing import schemes as risk_sharing_schemes
from api.risk_sharing import service as risk_sharing_service
from api.risk_sharing import shares as risk_sharing_shares
from api.risk_sharing.models import ChangeStatus, ClaimStatus, RiskClaim, RiskRule, RiskRuleChange
from api.risk_sharing.schemas import (
    ClaimCreate,
    ClaimDecision,
    ClaimPartyPublic,
    ClaimPublic,
    ClaimsPage,
    LedgerPublic,
    PartyAmountPublic,
    PartyBalancePublic,
    RecoveriesPage,
    RecoveryCreate,
    RecoveryPublic,
    RiskRuleChangePublic,
    RiskRuleChangesPage,
    RiskRuleFamiliesPage,
    RiskRuleFamilyPublic,
    RiskRulePublic,
    RiskRulesPage,
    RuleChangeDecision,
    SchemeStatePublic,
    SchemeStateUpdate,
    ShareDecline,
    SharePayment,
    SimulateRequest,
    SimulationPublic,
)
from ipfin.money import cny_to_fen
from risk_sharing.presets import list_presets
from risk_sharing.splitting import simulate

router = APIRouter(prefix="", tags=["risk-sharing"])


_STAFF = (UserRole.officer, UserRole.approver)


PresetInstaller = Depends(require_role(OrgKind.admin))  # the platform admin only


RuleStaff = Depends(require_role(OrgKind.fund, OrgKind.reguarantor, OrgKind.guarantor, user_roles=_STAFF))


PartyStaff = Depends(
    require_role(OrgKind.bank, OrgKind.guarantor, OrgKind.reguarantor, OrgKind.fund, user_roles=_STAFF)
)


Filer = Depends(require_role(OrgKind.bank, OrgKind.guarantor, user_roles=(UserRole.officer,)))


Reviewer = Depends(require_role(OrgKind.guarantor, OrgKind.reguarantor, OrgKind.fund, user_roles=_STAFF))


Approver = Depends(
    require_role(OrgKind.guarantor, OrgKind.reguarantor, OrgKind.fund, user_roles=(UserRole.approver,))
)


RecoveryStaff = Depends(
    require_role(OrgKind.bank, OrgKind.guarantor, OrgKind.reguarantor, OrgKind.fund, user_roles=_STAFF)
)


T = TypeVar("T")


@router.get("/risk-rules", response_model=RiskRulesPage)
def list_rules(
    session: SessionDep,
    _: CurrentUser,
    rule_id: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RiskRulesPage:
    """Rule versions (public policy), by family and version."""
    total, rows = risk_sharing_schemes.list_rule_rows(session, rule_id=rule_id, offset=offset, limit=limit)
    return RiskRulesPage(count=total, offset=offset, limit=limit, data=[RiskRulePublic.model_validate(r) for r in rows])


@router.get("/risk-rules/presets", response_model=list[str])
def presets(_: CurrentUser) -> list[str]:
    """Names of the shipped rule presets (install one with ``POST /risk-rules/presets/{name}``)."""
    return list_presets()


@router.post(
    "/risk-rules/presets/{name}",
    response_model=RiskRulePublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[PresetInstaller],
)
def install_preset(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, name: str, owner_org_id: int | None = None
) -> RiskRule:
    """Platform admin: install a shipped preset as a new family administered by ``owner_org_id``
    (default: the admin organisation). An installed family is changed only by its owner (409 here)."""
    row = governance.install_preset(session, user, org, name, owner_org_id)
    session.commit()
    session.refresh(row)
    return row


@router.post(
    "/risk-rules",
    response_model=RiskRulePublic | RiskRuleChangePublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[RuleStaff],
)
def create_rule_version(
    session: SessionDep,
    user: CurrentUser,
    org: CurrentOrg,
    definition: Annotated[dict[str, Any], Body()],
    response: Response,
    owner_org_id: int | None = None,
) -> RiskRule | RiskRuleChange:
    """Start a rule family (201, the rule version; a fund's own, or the admin's for ``owner_org_id``),
    or propose a new version of an existing one (202, the proposal; its owner's staff only, 403 otherwise).

    A proposed version takes effect when a second user of the owner approves it
    (``POST /risk-rule-changes/{id}/approve``): it may not start in the past nor cover loans that
    already have claims; the open-ended previous version is then closed the day before it starts.
    """
    out = governance.create_or_propose(session, user, org, definition, owner_org_id)
    session.commit()
    session.refresh(out)
    if isinstance(out, RiskRuleChange):
        response.status_code = status.HTTP_202_ACCEPTED
    return out


@router.get("/risk-rule-families", response_model=RiskRuleFamiliesPage)
def list_rule_families(
    session: SessionDep,
    _: CurrentUser,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RiskRuleFamiliesPage:
    """Rule families and the organisation administering each (public policy)."""
    total, rows = governance.list_families(session, offset=offset, limit=limit)
    data = [RiskRuleFamilyPublic.model_validate(r) for r in rows]
    return RiskRuleFamiliesPage(count=total, offset=offset, limit=limit, data=data)


@router.get("/risk-rule-changes", response_model=RiskRuleChangesPage)
def list_rule_changes(
    session: SessionDep,
    org: CurrentOrg,
    rule_id: str | None = None,
    status_: Annotated[ChangeStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RiskRuleChangesPage:
    """Proposed changes of the families the caller's organisation administers (admin: all)."""
    total, rows = governance.list_changes(
        session, org, rule_id=rule_id, status=status_.value if status_ else None, offset=offset, limit=limit
    )
    data = [RiskRuleChangePublic.model_validate(r) for r in rows]
    return RiskRuleChangesPage(count=total, offset=offset, limit=limit, data=data)


@router.get("/risk-rule-changes/{change_id}", response_model=RiskRuleChangePublic)
def read_rule_change(session: SessionDep, org: CurrentOrg, change_id: int) -> RiskRuleChange:
    return governance.get_change(session, org, change_id)


@router.post("/risk-rule-changes/{change_id}/approve", response_model=RiskRuleChangePublic)
def approve_rule_change(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, change_id: int, body: RuleChangeDecision | None = None
) -> RiskRuleChange:
    """Checker: an approver of the owner other than the proposer applies the change (checks re-run)."""
    ch = governance.approve_change(session, user, org, change_id, body.note if body else None)
    session.commit()
    session.refresh(ch)
    return ch


@router.post("/risk-rule-changes/{change_id}/reject", response_model=RiskRuleChangePublic)
def reject_rule_change(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, change_id: int, body: RuleChangeDecision | None = None
) -> RiskRuleChange:
    ch = governance.reject_change(session, user, org, change_id, body.note if body else None)
    session.commit()
    session.refresh(ch)
    return ch


@router.get("/risk-rules/{rule_row_id}", response_model=RiskRulePublic)
def read_rule(session: SessionDep, _: CurrentUser, rule_row_id: int) -> RiskRule:
    return risk_sharing_schemes.get_rule_row(session, rule_row_id)


@router.post("/risk-rules/{rule_row_id}/simulate", response_model=SimulationPublic)
def simulate_rule(session: SessionDep, _: CurrentUser, rule_row_id: int, body: SimulateRequest) -> SimulationPublic:
    """What each party would pay for a loss (per-loan caps only; no ledger state)."""
    rule = risk_sharing_schemes.rule_of(risk_sharing_schemes.get_rule_row(session, rule_row_id))
    sim = simulate(rule, cny_to_fen(body.loss_cny), apply_per_loan_caps=body.apply_per_loan_caps)
    return SimulationPublic(
        rule_id=sim.rule_id,
        rule_version=sim.rule_version,
        loss_fen=sim.loss_fen,
        loss_base_fen=sim.split.loss_base_fen,
        uncounted_loss_fen=sim.uncounted_loss_fen,
        parties=[PartyAmountPublic(**p.__dict__) for p in sim.split.parties],
    )


@router.get("/risk-schemes/{rule_id}", response_model=SchemeStatePublic)
def read_scheme_state(session: SessionDep, _: CurrentUser, rule_id: str) -> SchemeStatePublic:
    """A rule family's covered loans, fund balances and the headroom left on its scheme-wide caps."""
    state = risk_sharing_schemes.scheme_state(session, rule_id)
    return _state_public(session, state)


@router.put(
    "/risk-schemes/{rule_id}",
    response_model=RiskRuleChangePublic,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[RuleStaff],
)
def update_scheme_state(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, rule_id: str, body: SchemeStateUpdate
) -> RiskRuleChange:
    """Propose loans covered (payout-rate ceiling) and fund balances (balance-limited parties): 202,
    applied when a second user of the family's owner approves it; other organisations 403.

    ``covered_loans_from_book: true`` derives loans covered from the ipfin loan table
    (``risk_sharing_schemes.book_covered_loans_fen``); ``covered_loans_cny`` then adds loans outside ipfin.
    """
    ch = governance.propose_scheme_state(session, user, org, rule_id, body)
    session.commit()
    session.refresh(ch)
    return ch


def _state_public(session: SessionDep, state: Any) -> SchemeStatePublic:
    book, total = risk_sharing_schemes.covered_loans(session, state)
    return SchemeStatePublic(
        rule_id=state.rule_id,
        covered_loans_fen=state.covered_loans_fen,
        covered_loans_from_book=state.covered_loans_from_book,
        covered_loans_book_fen=book,
        covered_loans_total_fen=total,
        party_balance_fen=dict(state.party_balance_fen),
        headroom_fen=risk_sharing_schemes.scheme_headroom(session, state),
    )


def _claim_public(session: SessionDep, c: RiskClaim) -> ClaimPublic:
    parties = [ClaimPartyPublic.model_validate(p) for p in risk_sharing_service.claim_parties(session, c.id)]  # type: ignore[arg-type]
    return ClaimPublic.model_validate(c, update={"parties": parties})


@router.post("/claims", response_model=ClaimPublic, status_code=status.HTTP_201_CREATED, dependencies=[Filer])
def file_claim(
    session: SessionDep,
    user: CurrentUser,
    org: CurrentOrg,
    body: ClaimCreate,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> ClaimPublic:
    """File a compensation claim (bank or guarantee agency). The same ``Idempotency-Key`` with the
    same body returns the claim already filed (200); with a different body, 409."""
    key = idempotency_key or f"auto-{uuid.uuid4()}"
    try:
        c, created = risk_sharing_service.file_claim(session, user, org, body, key)
        session.commit()
    except IntegrityError:  # a concurrent request with the same key won the insert
        session.rollback()
        existing = risk_sharing_service.find_by_idempotency_key(session, org, key)
        if existing is None:
            raise
        c, created = risk_sharing_service.replay_or_conflict(existing, body), False
    if not created:
        response.status_code = status.HTTP_200_OK
    session.refresh(c)
    return _claim_public(session, c)


@router.get("/claims", response_model=ClaimsPage)
def list_claims(
    session: SessionDep,
    org: CurrentOrg,
    status_: Annotated[ClaimStatus | None, Query(alias="status")] = None,
    rule_id: str | None = None,
    loan_id: int | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ClaimsPage:
    """Claims the caller filed or pays into, by status, rule family or ipfin loan."""
    total, rows = risk_sharing_service.list_claims(
        session, org, status=status_.value if status_ else None, rule_id=rule_id, offset=offset, limit=limit,
        loan_id=loan_id,
    )
    return ClaimsPage(count=total, offset=offset, limit=limit, data=[_claim_public(session, r) for r in rows])


@router.get("/claims/{claim_id}", response_model=ClaimPublic)
def read_claim(session: SessionDep, org: CurrentOrg, claim_id: int) -> ClaimPublic:
    return _claim_public(session, risk_sharing_service.get_claim(session, org, claim_id))


@router.post("/claims/{claim_id}/review", response_model=ClaimPublic, dependencies=[Reviewer])
def review_claim(session: SessionDep, user: CurrentUser, org: CurrentOrg, claim_id: int) -> ClaimPublic:
    """Review against the rule and the ledger: every reason, the loss base and each party's amount."""
    c = risk_sharing_service.review_claim(session, user, org, claim_id)
    session.commit()
    return _claim_public(session, c)


def _share_done(session: SessionDep, claim_id: int, org: Any) -> ClaimPublic:
    session.commit()
    return _claim_public(session, risk_sharing_service.get_claim(session, org, claim_id))


@router.post("/claims/{claim_id}/shares/{party_key}/propose", response_model=ClaimPublic, dependencies=[PartyStaff])
def propose_share(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, claim_id: int, party_key: str
) -> ClaimPublic:
    """Maker of the party: put its share forward for the party's approver."""
    risk_sharing_shares.propose_share(session, user, org, claim_id, party_key)
    return _share_done(session, claim_id, org)


@router.post("/claims/{claim_id}/shares/{party_key}/approve", response_model=ClaimPublic, dependencies=[PartyStaff])
def approve_share(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, claim_id: int, party_key: str
) -> ClaimPublic:
    """Checker of the party (approver ≠ proposer, ≠ filing user): approve its share; its caps and
    balance are checked under the family lock (the first signature freezes and reserves the split)."""
    risk_sharing_shares.approve_share(session, user, org, claim_id, party_key)
    return _share_done(session, claim_id, org)


@router.post("/claims/{claim_id}/shares/{party_key}/pay", response_model=ClaimPublic, dependencies=[PartyStaff])
def pay_share(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, claim_id: int, party_key: str, body: SharePayment,
    idem: IdempotencyDep,
) -> Any:
    """Record the party's payment of its approved share (date, reference): booked in the ledger.

    With ``Idempotency-Key`` a retried payment answers as the first one did and books nothing."""
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    risk_sharing_shares.pay_share(session, user, org, claim_id, party_key, body)
    session.flush()
    return idem.finish(session, status.HTTP_200_OK,
                       _claim_public(session, risk_sharing_service.get_claim(session, org, claim_id)))


@router.post("/claims/{claim_id}/shares/{party_key}/decline", response_model=ClaimPublic, dependencies=[PartyStaff])
def decline_share(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, claim_id: int, party_key: str, body: ShareDecline
) -> ClaimPublic:
    """The party's approver formally declines its share, with the reason."""
    risk_sharing_shares.decline_share(session, user, org, claim_id, party_key, body.reason)
    return _share_done(session, claim_id, org)


@router.post("/claims/{claim_id}/reject", response_model=ClaimPublic, dependencies=[Approver])
def reject_claim(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, claim_id: int, body: ClaimDecision | None = None
) -> ClaimPublic:
    c = risk_sharing_service.reject_claim(session, user, org, claim_id, body.note if body else None)
    session.commit()
    return _claim_public(session, c)


@router.post(
    "/recoveries", response_model=RecoveryPublic, status_code=status.HTTP_201_CREATED, dependencies=[RecoveryStaff]
)
def record_recovery(
    session: SessionDep, user: CurrentUser, org: CurrentOrg, body: RecoveryCreate, idem: IdempotencyDep
) -> Any:
    """Record money recovered after payout; it is shared back to the parties per the rule.

    Give the amounts, or ``disposal_id`` of a disposal recorded in the pledge workflow
    (``POST /loans/{id}/disposals``) for the claim's loan: its proceeds and costs are used, once.
    With ``Idempotency-Key`` a retried recovery answers as the first one did and books nothing."""
    if (replay := idem.begin(session, org, body)) is not None:
        return replay
    rec = risk_sharing_recoveries.record_recovery(session, user, org, body)
    session.flush()
    session.refresh(rec)
    return idem.finish(session, status.HTTP_201_CREATED, RecoveryPublic.model_validate(rec))


@router.get("/recoveries", response_model=RecoveriesPage)
def list_recoveries(
    session: SessionDep,
    org: CurrentOrg,
    claim_id: int | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RecoveriesPage:
    total, rows = risk_sharing_recoveries.list_recoveries(session, org, claim_id=claim_id, offset=offset, limit=limit)
    data = [RecoveryPublic.model_validate(r) for r in rows]
    return RecoveriesPage(count=total, offset=offset, limit=limit, data=data)


@router.get("/ledger", response_model=LedgerPublic)
def read_ledger(
    session: SessionDep,
    org: CurrentOrg,
    rule_id: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    by_year: bool = True,
    claim_id: int | None = None,
) -> LedgerPublic:
    """Per party balances (paid, recovered, net) per rule family and year, over the caller's claims
    (or one claim: ``claim_id``, 404 if the caller is not a party of it)."""
    rows = risk_sharing_recoveries.ledger_balances(
        session, org, rule_id=rule_id, year=year, by_year=by_year, claim_id=claim_id
    )
    return LedgerPublic(
        balances=[
            PartyBalancePublic(
                rule_id=b.rule_id, year=b.year, party_key=b.party, paid_fen=b.paid_fen,
                recovered_fen=b.recovered_fen, net_fen=b.net_fen,
            )
            for b in rows
        ]
    )
