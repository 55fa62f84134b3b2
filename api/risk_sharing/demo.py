"""Demo risk-sharing data: every shipped rule preset as version 1 (each family with its
administering organisation), and compensation claims on the demo book's defaulted guaranteed
loans, reviewed by the pure engine (``risk_sharing.engine.review_claim``, one call per claim)
against a running ledger, so caps, eligibility and exact splits are real, not made up; then
signed and paid share by share.

Demo assumptions: claims go under Chongqing 4:2:2:2 (seed 002), administered by the demo
re-guarantor, with the re-guarantor and the NFGF as paying parties; a claim is filed 91–150 days
after default (if that is before ``as_of``) and reviewed 10 days later. Loans in disposal,
recovered, written off or closed: the claim is signed on review day and every share paid within
30 days (``completed``), or rejected when ineligible. ``in_claim`` loans: every other claim is
signed with the re-guarantor's and the NFGF's shares paid and the rest approved (``partially_paid``),
the others stay ``reviewed``. A recovered loan's completed claim gets one recovery: the gross
proceeds and costs of the loan's pledge disposal (``api.pledge.demo`` runs first), dated on its last
proceeds, shared back by the rule to what each party paid (as ``POST /risk/recoveries`` with
``disposal_id`` does), so the transaction register, the disposal and the recovery agree.

**Caps** are counted as the API counts them (``service.review_context``): paid shares on their
payment day, signed unpaid shares on the signing day (reserved), per rule family. Instead of
rescanning the ledger for every claim, :class:`LedgerUsage` keeps the running totals by borrower,
lender, year and party, so each review's context is an O(1) look-up.

**Bulk.** Claims are reviewed in default-date order with explicit ids and inserted
:data:`CLAIM_BLOCK` at a time with Core ``insert()`` executemany (claims, shares, recoveries, ledger
lines); the random draws are made once for all candidate loans, so the rows depend only on the
seed, ``as_of`` and the book, not on the insert size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Row
from sqlmodel import col

from api.core.db import utcnow
from api.identity.models import User
from api.pledge.models import Loan, PledgeDisposal
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
from risk_sharing.rules import Rule, rule_to_dict

CLAIM_RULE = "chongqing-4222"
CLAIM_BLOCK = 2_000
"""Claims reviewed before their rows are inserted (one executemany per table)."""

_ENDED = ("in_claim", "in_disposal", "recovered", "written_off", "closed")
_CLAIM_TABLES = (RiskClaim, RiskClaimParty, RiskRecovery, RiskLedgerEntry)
"""Tables written with explicit ids, in foreign-key order."""

#: Administering organisation of a preset family, by rule-id prefix (the platform admin otherwise).
_OWNERS = {"chongqing-4222": "重庆再担保", "guangzhou": "广州知识产权质押融资风险补偿基金", "nfgf": "国家融资担保基金"}


class LedgerUsage:
    """Running cap usage of one rule family: payouts (and reservations) summed by borrower and year,
    lender and year, party and year, borrower lifetime and in all, and the claims on file by loan.

    :meth:`context` gives what ``risk_sharing.ledger.review_context`` computes by scanning every
    entry, in O(1); ``existing_claims`` holds only the claims on the same loan (the only ones the
    engine's duplicate check reads).
    """

    def __init__(self, rule_id: str) -> None:
        self.rule_id = rule_id
        self._base_year: dict[tuple[str, int], int] = defaultdict(int)
        self._comp_year: dict[tuple[str, int], int] = defaultdict(int)
        self._comp_life: dict[str, int] = defaultdict(int)
        self._lender_year: dict[tuple[str, int], int] = defaultdict(int)
        self._party_year: dict[int, dict[str, int]] = defaultdict(dict)
        self._comp_all = 0
        self._claims: dict[str, list[rs_claims.ExistingClaim]] = defaultdict(list)

    def add(self, e: rs_ledger.LedgerEntry) -> None:
        """Count a payout of this family (recoveries and other families do not use cap room)."""
        if e.rule_id != self.rule_id or e.kind is not rs_ledger.EntryKind.PAYOUT:
            return
        year, amount = e.booked_on.year, e.amount_fen
        party = self._party_year[year]
        party[e.party] = party.get(e.party, 0) + amount
        self._base_year[(e.borrower_id, year)] += amount
        if e.compensation:
            self._comp_year[(e.borrower_id, year)] += amount
            self._comp_life[e.borrower_id] += amount
            self._lender_year[(e.lender_id, year)] += amount
            self._comp_all += amount

    def add_claim(self, claim: rs_claims.ExistingClaim) -> None:
        self._claims[claim.loan_id].append(claim)

    def context(
        self, *, borrower_id: str, lender_id: str, loan_id: str, review_date: date,
        party_balance_fen: dict[str, int] | None = None, covered_loans_fen: int | None = None,
    ) -> rs_claims.ReviewContext:
        """The review context of a claim on ``loan_id`` reviewed on ``review_date``."""
        year = review_date.year
        return rs_claims.ReviewContext(
            review_date=review_date,
            borrower_base_year_fen=self._base_year.get((borrower_id, year), 0),
            borrower_compensation_year_fen=self._comp_year.get((borrower_id, year), 0),
            borrower_compensation_lifetime_fen=self._comp_life.get(borrower_id, 0),
            lender_compensation_year_fen=self._lender_year.get((lender_id, year), 0) if lender_id else 0,
            party_paid_year_fen=dict(self._party_year.get(year, {})),
            party_balance_fen=dict(party_balance_fen or {}),
            covered_loans_fen=covered_loans_fen,
            compensation_paid_fen=self._comp_all,
            existing_claims=tuple(self._claims.get(loan_id, ())),
        )


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


def _next_id(conn: Connection, model: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(model.__table__.c.id), 0))).scalar_one()) + 1


def _install_rules(conn: Connection, ctx: Any, now: Any) -> tuple[dict[str, Rule], dict[str, int]]:
    """Every preset as version 1 of its family, with its owner and an empty scheme state."""
    rules = {r.id: r for r in load_all_presets()}
    admin_org = ctx.org_ids["ipfin 平台管理"]
    owner = {r.id: next((ctx.org_ids[n] for p, n in _OWNERS.items() if r.id.startswith(p)), admin_org)
             for r in rules.values()}
    conn.execute(insert(RiskRule.__table__), [  # type: ignore[attr-defined]
        {"rule_id": r.id, "version": r.version, "name": r.name, "effective_from": r.effective_from,
         "effective_to": r.effective_to, "definition": rule_to_dict(r), "created_by_user_id": None, "created_at": now}
        for r in rules.values()])
    conn.execute(insert(RiskRuleFamily.__table__), [  # type: ignore[attr-defined]
        {"rule_id": k, "owner_org_id": owner[k], "created_by_user_id": None, "created_at": now} for k in rules])
    conn.execute(insert(RiskSchemeState.__table__), [  # type: ignore[attr-defined]
        {"rule_id": k, "lock_counter": 0, "party_balance_fen": {}, "covered_loans_fen": None,
         "covered_loans_from_book": False, "updated_at": now} for k in rules])
    t = RiskRule.__table__  # type: ignore[attr-defined]
    rule_rows = {str(k): int(i) for k, i in conn.execute(select(t.c.rule_id, t.c.id).where(t.c.version == 1))}
    return rules, rule_rows


def _claimable_loans(conn: Connection) -> list[Any]:
    """Guaranteed loans that defaulted and reached a claim, in default-date order."""
    t = Loan.__table__  # type: ignore[attr-defined]
    return list(conn.execute(
        select(t.c.id, t.c.borrower_id, t.c.bank_org_id, t.c.guarantor_org_id, t.c.origination_date, t.c.amount_fen,
               t.c.guarantee_fee_rate, t.c.industry, t.c.default_date, t.c.outstanding_fen, t.c.status)
        .where(t.c.guarantor_org_id.is_not(None), t.c.status.in_(_ENDED), t.c.default_date.is_not(None))
        .order_by(t.c.default_date, t.c.id)
    ).all())


@dataclass(frozen=True)
class _Proceeds:
    """What a completed pledge disposal brought in (as ``recoveries._recovery_amounts`` reads it)."""

    disposal_id: int
    method: str
    gross_fen: int
    costs_fen: int
    received_on: date


def _disposal_proceeds(conn: Connection) -> dict[int, _Proceeds]:
    """Per recovered guaranteed loan, its last disposal with proceeds: Σ proceeds, Σ costs, last proceeds date."""
    d, t = PledgeDisposal.__table__, Loan.__table__  # type: ignore[attr-defined]
    rows = conn.execute(
        select(d.c.id, d.c.loan_id, d.c.method, d.c.proceeds, d.c.costs).join(t, t.c.id == d.c.loan_id)
        .where(t.c.status == "recovered", t.c.guarantor_org_id.is_not(None)).order_by(d.c.id)
    ).all()
    out: dict[int, _Proceeds] = {}
    for r in rows:
        proceeds = [(date.fromisoformat(str(i["on"])), int(i["amount_fen"])) for i in r.proceeds or []]
        gross = sum(a for _, a in proceeds)
        if gross > 0:
            out[int(r.loan_id)] = _Proceeds(int(r.id), str(r.method), gross,
                                            sum(int(i["amount_fen"]) for i in r.costs or []),
                                            max(on for on, _ in proceeds))
    return out


@dataclass
class _Run:
    """The claim run: rule, signers, running usage, next ids and the rows of the current block."""

    rule: Rule
    rule_row: int
    as_of: date
    now: Any
    filer: int
    reviewer: int
    approvers: dict[int, int]
    reguarantor_org: int
    nfgf_org: int
    proceeds: dict[int, _Proceeds]
    next_id: dict[Any, int]
    usage: LedgerUsage
    compensators: frozenset[str]
    rows: dict[Any, list[dict[str, Any]]] = field(default_factory=lambda: {m: [] for m in _CLAIM_TABLES})
    counts: dict[str, int] = field(default_factory=lambda: {
        "risk_claims": 0, "risk_claims_completed": 0, "risk_claims_partially_paid": 0, "risk_recoveries": 0})

    def take_id(self, model: Any) -> int:
        i = self.next_id[model]
        self.next_id[model] = i + 1
        return i

    def flush(self, conn: Connection) -> None:
        """Insert the block's rows, one executemany per table, in foreign-key order."""
        for model in _CLAIM_TABLES:
            if self.rows[model]:
                conn.execute(insert(model.__table__), self.rows[model])  # type: ignore[union-attr]
                self.rows[model] = []


def _status(review: rs_engine.ClaimReview, loan_status: str, coin: float) -> tuple[str, set[str]]:
    """The claim's status at ``as_of`` and the parties that have paid (see the module docstring)."""
    decided = loan_status != "in_claim"
    if not review.eligible:
        return ("rejected" if decided else "reviewed"), set()
    if decided:
        return "completed", {p.key for p in review.split.parties}
    if coin < 0.5:
        return "partially_paid", {"reguarantor", "nfgf"}
    return "reviewed", set()


def _claim(run: _Run, loan: Row[Any], filed_after: int, pay_after: int, coin: float) -> None:
    """Review one loan's claim with the engine and queue its claim, share, ledger and recovery rows."""
    rule = run.rule
    filed_on = loan.default_date + timedelta(days=filed_after)
    review_date = filed_on + timedelta(days=10)
    if review_date > run.as_of or not rule.in_force_on(loan.origination_date):
        return
    claim_id = run.take_id(RiskClaim)
    d_loan = rs_claims.Loan.model_validate({
        "loan_id": f"loan:{loan.id}", "borrower_id": f"borrower:{loan.borrower_id}",
        "lender_id": f"org:{loan.bank_org_id}", "origination_date": loan.origination_date,
        "principal_fen": loan.amount_fen, "guarantee_fee_rate": loan.guarantee_fee_rate, "guaranteed": True,
        "sector": loan.industry, "ip_pledged_share": "1",
    })
    d_claim = rs_claims.Claim.model_validate({
        "claim_id": str(claim_id), "loan_id": d_loan.loan_id, "default_date": loan.default_date,
        "filed_on": filed_on, "outstanding_principal_fen": loan.outstanding_fen,
        "documents": ("loan_contract", "default_notice"),
    })
    context = run.usage.context(borrower_id=d_loan.borrower_id, lender_id=d_loan.lender_id,
                                loan_id=d_loan.loan_id, review_date=review_date)
    review = rs_engine.review_claim(rule, d_claim, d_loan, context)
    status, paid_keys = _status(review, str(loan.status), coin)
    signed = review_date if status in ("completed", "partially_paid") else None
    paid_on = min(review_date + timedelta(days=pay_after), run.as_of) if signed else None
    run.rows[RiskClaim].append({
        "id": claim_id, "idempotency_key": f"demo-{loan.id}", "request_hash": "demo", "rule_row_id": run.rule_row,
        "rule_id": rule.id, "rule_version": rule.version, "loan_id": loan.id, "loan_key": d_loan.loan_id,
        "borrower_key": d_loan.borrower_id, "lender_key": d_loan.lender_id,
        "loan_facts": d_loan.model_dump(mode="json"), "default_date": loan.default_date, "filed_on": filed_on,
        "outstanding_principal_fen": loan.outstanding_fen, "outstanding_interest_fen": 0,
        "recoveries_so_far_fen": 0, "npl_class": None, "classified_on": None, "documents": list(d_claim.documents),
        "status": status, "eligible": review.eligible, "loss_base_fen": review.loss_base_fen,
        "review": review_json(review, review_date), "decision_note": None, "filed_by_org_id": loan.guarantor_org_id,
        "filed_by_user_id": run.filer, "reviewed_by_user_id": run.reviewer,
        "decided_by_user_id": run.approvers.get(run.reguarantor_org) if status == "rejected" else None,
        "signed_on": signed, "version": 2 if status == "reviewed" else 3, "created_at": run.now,
        "updated_at": run.now,
    })
    run.counts["risk_claims"] += 1
    run.usage.add_claim(rs_claims.ExistingClaim(str(claim_id), d_loan.loan_id, status))
    orgs: dict[str, int | None] = {"guarantor": loan.guarantor_org_id, "reguarantor": run.reguarantor_org,
                                   "nfgf": run.nfgf_org, "bank": loan.bank_org_id}
    _queue_shares(run, review, orgs, status=status, signed=signed, paid=paid_keys, paid_on=paid_on, claim_id=claim_id)
    if signed is None or paid_on is None:
        return
    run.counts["risk_claims_completed" if status == "completed" else "risk_claims_partially_paid"] += 1
    booked = []
    for e in rs_ledger.payout_entries(review, d_claim, d_loan, paid_on):
        if e.party in paid_keys:
            booked.append(e)
            run.usage.add(e)
            run.rows[RiskLedgerEntry].append(_ledger_row(run, e, claim_id, orgs, recovery_id=None))
        else:  # signed, not paid: reserved against the caps from the signing day, as the API counts it
            run.usage.add(replace(e, booked_on=signed))
    disposal = run.proceeds.get(int(loan.id))
    if str(loan.status) == "recovered" and status == "completed" and disposal is not None:
        _queue_recovery(run, disposal, booked, claim_id, orgs)


def _queue_shares(
    run: _Run, review: rs_engine.ClaimReview, orgs: dict[str, int | None], *, status: str, signed: date | None,
    paid: set[str], paid_on: date | None, claim_id: int,
) -> None:
    """Share rows: pending (not signed), paid (keys in ``paid``), approved (the rest), nothing_due at 0,
    declined when the claim is rejected."""
    for p in review.split.parties:
        org = orgs.get(p.key)
        signer = run.approvers.get(org) if org is not None else None
        if p.payable_fen == 0:
            st = "nothing_due"
        elif status == "rejected":
            st = "declined"
        elif signed is None:
            st = "pending"
        else:
            st = "paid" if p.key in paid else "approved"
        run.rows[RiskClaimParty].append({
            "id": run.take_id(RiskClaimParty), "claim_id": claim_id, "party_key": p.key, "role": p.role,
            "org_id": org, "nominal_fen": p.nominal_fen, "payable_fen": p.payable_fen, "status": st,
            "proposed_by_user_id": None,
            "approved_by_user_id": signer if st in ("approved", "paid") else None,
            "approved_on": signed if st in ("approved", "paid") else None,
            "paid_by_user_id": signer if st == "paid" else None,
            "paid_on": paid_on if st == "paid" else None,
            "payment_reference": f"DEMO-{claim_id}-{p.key}" if st == "paid" else None,
            "declined_by_user_id": run.approvers.get(run.reguarantor_org) if st == "declined" else None,
            "decline_reason": "claim rejected: not eligible" if st == "declined" else None, "version": 1,
        })


def _ledger_row(run: _Run, e: rs_ledger.LedgerEntry, claim_id: int, orgs: dict[str, int | None],
                recovery_id: int | None) -> dict[str, Any]:
    return {
        "id": run.take_id(RiskLedgerEntry), "rule_row_id": run.rule_row, "rule_id": e.rule_id,
        "rule_version": e.rule_version, "claim_id": claim_id, "recovery_id": recovery_id, "party_key": e.party,
        "party_org_id": orgs.get(e.party), "kind": e.kind.value, "amount_fen": e.amount_fen,
        "compensation": e.compensation, "booked_on": e.booked_on, "loan_key": e.loan_id,
        "borrower_key": e.borrower_id, "lender_key": e.lender_id, "created_at": run.now,
    }


def _queue_recovery(run: _Run, disposal: _Proceeds, booked: list[rs_ledger.LedgerEntry], claim_id: int,
                    orgs: dict[str, int | None]) -> None:
    """The disposal's proceeds shared back pro rata (by the rule) to what each party paid for the claim."""
    paid = {e.party: e.amount_fen for e in booked}
    if not paid:
        return
    share = share_recovery(run.rule, paid, disposal.gross_fen, disposal_costs_fen=disposal.costs_fen)
    rec_id = run.take_id(RiskRecovery)
    run.rows[RiskRecovery].append({
        "id": rec_id, "claim_id": claim_id, "disposal_id": disposal.disposal_id, "received_on": disposal.received_on,
        "method": disposal.method, "gross_fen": share.gross_fen, "disposal_costs_fen": share.disposal_costs_fen,
        "net_fen": share.net_fen, "surplus_fen": share.surplus_fen, "parts": dict(share.parts),
        "recorded_by_user_id": run.filer, "created_at": run.now,
    })
    run.counts["risk_recoveries"] += 1
    first = booked[0]
    for e in rs_ledger.recovery_entries(share, rule_id=first.rule_id, rule_version=first.rule_version,
                                        claim_id=str(claim_id), booked_on=disposal.received_on,
                                        loan_id=first.loan_id, borrower_id=first.borrower_id,
                                        lender_id=first.lender_id):
        e = replace(e, compensation=e.party in run.compensators)
        run.rows[RiskLedgerEntry].append(_ledger_row(run, e, claim_id, orgs, recovery_id=rec_id))


def _advance_sequences(conn: Connection) -> None:
    """Rows went in with explicit ids: move PostgreSQL's id sequences past them."""
    if conn.dialect.name != "postgresql":
        return
    for model in _CLAIM_TABLES:
        t = model.__tablename__
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 1))"
        )


def extend(conn: Connection, ctx: Any) -> dict[str, int]:
    now = utcnow()
    rules, rule_rows = _install_rules(conn, ctx, now)
    rule = rules[CLAIM_RULE]
    run = _Run(
        rule=rule, rule_row=rule_rows[rule.id], as_of=ctx.as_of, now=now,
        filer=_user_id(conn, "officer@guarantor.ipfin.demo"), reviewer=_user_id(conn, "approver@guarantor.ipfin.demo"),
        approvers=_approvers(conn), reguarantor_org=ctx.org_ids["重庆再担保"], nfgf_org=ctx.org_ids["国家融资担保基金"],
        proceeds=_disposal_proceeds(conn), next_id={m: _next_id(conn, m) for m in _CLAIM_TABLES},
        usage=LedgerUsage(rule.id), compensators=frozenset(rule.compensator_keys),
    )
    loans = _claimable_loans(conn)
    n = len(loans)
    filed_after, pay_after, coin = ctx.rng.integers(91, 151, n), ctx.rng.integers(5, 31, n), ctx.rng.random(n)
    for i, loan in enumerate(loans):
        _claim(run, loan, int(filed_after[i]), int(pay_after[i]), float(coin[i]))
        if len(run.rows[RiskClaim]) >= CLAIM_BLOCK:
            run.flush(conn)
    run.flush(conn)
    _advance_sequences(conn)
    return {"risk_rules": len(rules), **run.counts}
