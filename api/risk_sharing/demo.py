"""Demo risk-sharing data: every shipped rule preset as version 1 (each family with its
administering organisation), and compensation claims on the demo book's defaulted guaranteed
loans, reviewed by the pure engine against a running ledger (so caps, eligibility and exact
splits are real, not made up), then signed and paid share by share.

Demo assumptions: claims go under Chongqing 4:2:2:2 (seed 002), administered by the demo
re-guarantor, with the re-guarantor and the NFGF as paying parties; a claim is filed 91–150 days
after default (if that is before ``as_of``) and reviewed 10 days later. Loans in disposal,
recovered, written off or closed: the claim is signed on review day and every share paid within
30 days (``completed``), or rejected when ineligible. ``in_claim`` loans: every other claim is
signed with the re-guarantor's and the NFGF's shares paid and the rest approved (``partially_paid``),
the others stay ``reviewed``. Recovered loans get one recovery of 30–80% of the loss base, shared
back by the rule to what each paid.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from api.core.db import utcnow
from api.identity.models import User
from api.pledge.models import Loan
from api.risk_sharing.models import (
    RiskClaim,
    RiskClaimParty,
    RiskLedgerEntry,
    RiskRecovery,
    RiskRule,
    RiskRuleFamily,
    RiskSchemeState,
)
from api.risk_sharing.service import review_json
from risk_sharing import claims as rs_claims
from risk_sharing import engine as rs_engine
from risk_sharing import ledger as rs_ledger
from risk_sharing.presets import load_all_presets
from risk_sharing.recovery import share_recovery
from risk_sharing.rules import rule_to_dict

CLAIM_RULE = "chongqing-4222"


_ENDED = ("in_claim", "in_disposal", "recovered", "written_off", "closed")


#: Administering organisation of a preset family, by rule-id prefix (the platform admin otherwise).
_OWNERS = {"chongqing-4222": "重庆再担保", "guangzhou": "广州知识产权质押融资风险补偿基金", "nfgf": "国家融资担保基金"}


def _user_id(conn: Connection, email: str) -> int:
    return int(conn.execute(select(col(User.id)).where(col(User.email) == email)).scalar_one())  # type: ignore[arg-type]


def _approvers(conn: Connection) -> dict[int, int]:
    """A user with the approver role per organisation (the one that signs its shares)."""
    rows = conn.execute(select(col(User.organisation_id), col(User.id)).where(col(User.role) == "approver")
                        .order_by(col(User.id))).all()
    out: dict[int, int] = {}
    for org_id, user_id in rows:
        out.setdefault(int(org_id), int(user_id))  # type: ignore[arg-type]
    return out


def _install_rules(conn: Connection, ctx: Any, now: Any) -> tuple[dict[str, Any], dict[str, int]]:
    rule_rows: dict[str, int] = {}
    rules = {r.id: r for r in load_all_presets()}
    admin_org = ctx.org_ids["ipfin 平台管理"]
    for r in rules.values():
        rule_rows[r.id] = conn.execute(
            insert(RiskRule).values(
                rule_id=r.id, version=r.version, name=r.name, effective_from=r.effective_from,
                effective_to=r.effective_to, definition=rule_to_dict(r), created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        owner = next((ctx.org_ids[n] for p, n in _OWNERS.items() if r.id.startswith(p)), admin_org)
        conn.execute(insert(RiskRuleFamily).values(rule_id=r.id, owner_org_id=owner, created_at=now))
        conn.execute(insert(RiskSchemeState).values(rule_id=r.id, lock_counter=0, party_balance_fen={},
                                                    covered_loans_from_book=False,
                                                    updated_at=now))
    return rules, rule_rows


def _share_rows(
    review: rs_engine.ClaimReview, orgs: dict[str, int | None], approvers: dict[int, int], *, status: str,
    signed: date | None, paid: set[str], paid_on: date | None, claim_id: int,
) -> list[dict[str, Any]]:
    """Share rows: pending (not signed), paid (keys in ``paid``), approved (the rest), nothing_due at 0."""
    rows = []
    for p in review.split.parties:
        org = orgs.get(p.key)
        signer = approvers.get(org) if org is not None else None
        if p.payable_fen == 0:
            st = "nothing_due"
        elif status == "rejected":
            st = "declined"
        elif signed is None:
            st = "pending"
        else:
            st = "paid" if p.key in paid else "approved"
        rows.append({
            "claim_id": claim_id, "party_key": p.key, "role": p.role, "org_id": org, "nominal_fen": p.nominal_fen,
            "payable_fen": p.payable_fen, "status": st, "version": 1,
            "approved_by_user_id": signer if st in ("approved", "paid") else None,
            "approved_on": signed if st in ("approved", "paid") else None,
            "paid_by_user_id": signer if st == "paid" else None,
            "paid_on": paid_on if st == "paid" else None,
            "payment_reference": f"DEMO-{claim_id}-{p.key}" if st == "paid" else None,
            "decline_reason": "claim rejected: not eligible" if st == "declined" else None,
        })
    return rows


def extend(conn: Connection, ctx: Any) -> dict[str, int]:
    now = utcnow()
    rules, rule_rows = _install_rules(conn, ctx, now)
    rule = rules[CLAIM_RULE]
    filer = _user_id(conn, "officer@guarantor.ipfin.demo")
    reviewer = _user_id(conn, "approver@guarantor.ipfin.demo")
    approvers = _approvers(conn)
    reguarantor_org = ctx.org_ids["重庆再担保"]
    nfgf_org = ctx.org_ids["国家融资担保基金"]
    loans = conn.execute(
        select(Loan).where(col(Loan.guarantor_org_id).is_not(None), col(Loan.status).in_(_ENDED))
        .order_by(col(Loan.default_date), col(Loan.id))
    ).all()
    rng = ctx.rng
    entries: list[rs_ledger.LedgerEntry] = []
    existing: list[rs_claims.ExistingClaim] = []
    counts = {"risk_rules": len(rules), "risk_claims": 0, "risk_claims_approved": 0, "risk_recoveries": 0,
              "risk_claims_partially_paid": 0}
    for loan in loans:
        if loan.default_date is None:
            continue
        filed_on = loan.default_date + timedelta(days=int(rng.integers(91, 151)))
        review_date = filed_on + timedelta(days=10)
        if review_date > ctx.as_of or not rule.in_force_on(loan.origination_date):
            continue
        d_loan = rs_claims.Loan.model_validate({
            "loan_id": f"loan:{loan.id}", "borrower_id": f"borrower:{loan.borrower_id}",
            "lender_id": f"org:{loan.bank_org_id}", "origination_date": loan.origination_date,
            "principal_fen": loan.amount_fen, "guarantee_fee_rate": loan.guarantee_fee_rate, "guaranteed": True,
            "sector": loan.industry, "ip_pledged_share": "1",
        })
        d_claim = rs_claims.Claim.model_validate({
            "claim_id": "demo", "loan_id": d_loan.loan_id, "default_date": loan.default_date, "filed_on": filed_on,
            "outstanding_principal_fen": loan.outstanding_fen, "documents": ("loan_contract", "default_notice"),
        })
        context = rs_ledger.review_context(
            entries, rule_id=rule.id, borrower_id=d_loan.borrower_id, lender_id=d_loan.lender_id,
            review_date=review_date, existing_claims=existing,
        )
        review = rs_engine.review_claim(rule, d_claim, d_loan, context)
        decided = str(loan.status) != "in_claim"
        paid_keys: set[str] = set()
        if not review.eligible:
            status = "rejected" if decided else "reviewed"
        elif decided:
            status, paid_keys = "completed", {p.key for p in review.split.parties}
        elif rng.random() < 0.5:
            status, paid_keys = "partially_paid", {"reguarantor", "nfgf"}
        else:
            status = "reviewed"
        signed = review_date if status in ("completed", "partially_paid") else None
        paid_on = min(review_date + timedelta(days=int(rng.integers(5, 31))), ctx.as_of) if signed else None
        claim_id = conn.execute(
            insert(RiskClaim).values(
                idempotency_key=f"demo-{loan.id}", request_hash="demo", rule_row_id=rule_rows[rule.id],
                rule_id=rule.id, rule_version=rule.version, loan_id=loan.id, loan_key=d_loan.loan_id,
                borrower_key=d_loan.borrower_id, lender_key=d_loan.lender_id,
                loan_facts=d_loan.model_dump(mode="json"), default_date=loan.default_date, filed_on=filed_on,
                outstanding_principal_fen=loan.outstanding_fen, outstanding_interest_fen=0, recoveries_so_far_fen=0,
                documents=list(d_claim.documents), status=status, eligible=review.eligible,
                loss_base_fen=review.loss_base_fen, review=review_json(review, review_date),
                filed_by_org_id=loan.guarantor_org_id, filed_by_user_id=filer, reviewed_by_user_id=reviewer,
                decided_by_user_id=approvers.get(reguarantor_org) if status == "rejected" else None,
                signed_on=signed, version=3 if decided else 2, created_at=now, updated_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        counts["risk_claims"] += 1
        existing.append(rs_claims.ExistingClaim(str(claim_id), d_loan.loan_id, status))
        orgs: dict[str, int | None] = {"guarantor": loan.guarantor_org_id, "reguarantor": reguarantor_org,
                                       "nfgf": nfgf_org, "bank": loan.bank_org_id}
        for row in _share_rows(review, orgs, approvers, status=status, signed=signed, paid=paid_keys,
                               paid_on=paid_on, claim_id=claim_id):
            conn.execute(insert(RiskClaimParty).values(**row))
        if signed is None:
            continue
        counts["risk_claims_approved" if status == "completed" else "risk_claims_partially_paid"] += 1
        d_claim = d_claim.model_copy(update={"claim_id": str(claim_id)})
        booked = [e for e in rs_ledger.payout_entries(replace(review, claim_id=str(claim_id)), d_claim, d_loan,
                                                      paid_on)  # type: ignore[arg-type]
                  if e.party in paid_keys]
        entries.extend(booked)
        for e in booked:
            conn.execute(insert(RiskLedgerEntry).values(
                rule_row_id=rule_rows[rule.id], rule_id=rule.id, rule_version=rule.version, claim_id=claim_id,
                party_key=e.party, party_org_id=orgs.get(e.party), kind=e.kind.value, amount_fen=e.amount_fen,
                compensation=e.compensation, booked_on=e.booked_on, loan_key=d_loan.loan_id,
                borrower_key=d_loan.borrower_id, lender_key=d_loan.lender_id, created_at=now,
            ))
        if str(loan.status) == "recovered" and status == "completed":
            received = min(review_date + timedelta(days=int(rng.integers(60, 365))), ctx.as_of)
            gross = int(review.loss_base_fen * float(rng.uniform(0.3, 0.8)))  # statistic → whole fen once
            costs = gross // 20  # 5% disposal costs
            share = share_recovery(rule, review.payable, gross, disposal_costs_fen=costs)
            rec_id = conn.execute(insert(RiskRecovery).values(
                claim_id=claim_id, received_on=received, method="auction", gross_fen=share.gross_fen,
                disposal_costs_fen=share.disposal_costs_fen, net_fen=share.net_fen, surplus_fen=share.surplus_fen,
                parts=dict(share.parts), recorded_by_user_id=filer, created_at=now,
            )).inserted_primary_key[0]  # type: ignore[index]
            counts["risk_recoveries"] += 1
            for k, v in share.parts.items():
                if v > 0:
                    conn.execute(insert(RiskLedgerEntry).values(
                        rule_row_id=rule_rows[rule.id], rule_id=rule.id, rule_version=rule.version, claim_id=claim_id,
                        recovery_id=rec_id, party_key=k, party_org_id=orgs.get(k), kind="recovery", amount_fen=v,
                        compensation=k in rule.compensator_keys, booked_on=received, loan_key=d_loan.loan_id,
                        borrower_key=d_loan.borrower_id, lender_key=d_loan.lender_id, created_at=now,
                    ))
    return counts
