"""What a rule will cost each payer: the rule-cost simulator and the break-even fee on a stored book or a tape.

The book (:class:`risk_sharing.simulator.RiskBook`) is built from the live loans the caller may see in
aggregate (a bank its own, a guarantor those it guarantees, a bureau its region, a fund or re-guarantor
those it pays into, an admin all) that match the filter, or from an uploaded CSV tape:

* EAD = outstanding principal; term = whole years to maturity (at least 1);
* PD = the loan's score in the latest early-warning run that scored it (``ew_score``); a loan never
  scored takes :data:`DEFAULT_PD_BY_CLASS` by its five-class classification from days past due
  (stated assumptions, reported with the counts of each source);
* collateral = the latest valuation of each pledged asset (``pledge_collateral_valuation``), taken as
  the median of a lognormal whose σ comes from the Monte Carlo spread of the linked stored valuation
  (mean and 5th percentile), else from the valuation's own 5th percentile, else
  :data:`DEFAULTS` ``collateral_sigma``; a loan with no valuation uses the appraised value at pledge;
* borrower and lender ids for the per-borrower and per-bank caps; eligibility by the rule's own checks.

Small runs (loans × paths × years ≤ :data:`SYNC_WORK`) answer in the request; larger ones run as jobs
(``api.jobs``) with progress, on Dask when ``IPFIN_DASK_SCHEDULER`` is set (same seed, same numbers).
Amounts in the answers are CNY statistics (floats rounded to the fen), not ledger money.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from api.core.config import get_settings
from api.core.errors import FieldError, NotFound
from api.early_warning.models import EWScore
from api.identity.models import Organisation, User
from api.jobs.service import ProgressFn, submit
from api.pledge.models import CollateralValuation, Loan, LoanCollateral, LoanStatus
from api.risk_sharing.models import RiskRule
from api.stats.filters import LoanFilter, aggregate_scope
from api.valuation.models import Valuation
from ipfin.executor import Executor, get_executor
from pledge.monitoring import classify_loan
from risk_sharing import claims as rs_claims
from risk_sharing.fee import break_even_fees
from risk_sharing.presets import list_presets, load_preset
from risk_sharing.rules import Rule, ValidationError, rule_from_dict
from risk_sharing.simulator import (
    RiskBook,
    RuleCost,
    eligibility_under_rule,
    programme_cost,
    simulate_rule_cost,
)
from securitization.credit import industry_correlation

DEFAULT_PD_BY_CLASS = {"normal": 0.02, "special_mention": 0.08, "substandard": 0.35, "doubtful": 0.6, "loss": 0.9}
"""Annual PD of a loan without an early-warning score, by five-class classification (assumptions)."""

DEFAULTS = {"rho": 0.15, "sector_correlation": 0.5, "disposal_cost": 0.2, "recovery_years": 1.5,
            "discount_rate": 0.04, "collateral_sigma": 0.6}
"""Stated assumptions for what the book does not record (overridable per request)."""

LIVE = (LoanStatus.pledge_registered, LoanStatus.active, LoanStatus.overdue)
SYNC_WORK = 20_000_000
"""Loans × paths × years answered within the request; more runs as a job."""
MAX_LOANS = 200_000
Z95 = 1.6448536269514722
CHUNK = 900


# --------------------------------------------------------------------------- requests


class BookFilter(BaseModel):
    """Which stored loans: live loans originated in the period, by region, industry, IP type, bank."""

    date_from: date | None = None
    date_to: date | None = None
    province_code: str | None = Field(None, max_length=6)
    region_code: str | None = Field(None, max_length=6)
    industry: str | None = Field(None, max_length=1)
    ip_type: str | None = Field(None, max_length=24)
    bank_org_id: int | None = Field(None, ge=1, le=2**63 - 1)
    max_loans: int | None = Field(None, ge=1, le=MAX_LOANS, description="only the first N matching loans (by id)")


class Assumptions(BaseModel):
    """What the book does not record; defaults in :data:`DEFAULTS`."""

    rho: float = Field(DEFAULTS["rho"], ge=0, lt=1, description="asset correlation with the sector factor")
    sector_correlation: float = Field(DEFAULTS["sector_correlation"], ge=0, lt=1)
    disposal_cost: float = Field(DEFAULTS["disposal_cost"], ge=0, le=1)
    recovery_years: float = Field(DEFAULTS["recovery_years"], ge=0, le=10)
    discount_rate: float = Field(DEFAULTS["discount_rate"], gt=-1, lt=1)
    collateral_sigma: float = Field(DEFAULTS["collateral_sigma"], ge=0, le=5)


class RuleCostRequest(BaseModel):
    """A rule (a preset or stored family by ``rule_id``, or one stored version by ``rule_row_id``) and a book."""

    rule_id: str | None = Field(None, max_length=80, examples=["chongqing-4222"])
    rule_row_id: int | None = Field(None, ge=1, le=2**63 - 1)
    book: BookFilter | None = None
    tape: str | None = Field(None, max_length=20_000_000, description="CSV tape (columns in the docs)")
    years: int = Field(1, ge=1, le=10)
    n_paths: int = Field(2_000, ge=2, le=200_000)
    seed: int = Field(1, ge=0, le=2**63 - 1)
    claim_lag_months: int | None = Field(
        None, ge=0, le=120,
        description="months from default to payout (trigger, claim, review, payment); default: the rule's "
                    "trigger delay + 2 months (an assumption). Payouts after the horizon are reported as pending")
    assumptions: Assumptions = Field(default_factory=Assumptions)
    background: bool = Field(False, description="run as a job even when small")


class FeeRequest(RuleCostRequest):
    """A rule-cost run plus the pricing inputs of the break-even fee."""

    operating_cost_rate: float = Field(0.0, ge=0, le=1)
    confidence: float | None = Field(None, gt=0, lt=1, description="capital charge at this quantile, if any")
    cost_of_capital: float = Field(0.0, ge=0, le=1)
    top: int = Field(20, ge=0, le=500, description="how many of the most under-priced loans to list")


# --------------------------------------------------------------------------- the rule


def resolve_rule(session: Session, rule_id: str | None, rule_row_id: int | None, on: date) -> Rule:
    """The stored version by row id; or the stored family's version in force on ``on`` (else its latest);
    or the shipped preset of that id."""
    if (rule_id is None) == (rule_row_id is None):
        raise FieldError("rule_id", "give exactly one of rule_id and rule_row_id")
    if rule_row_id is not None:
        row = session.get(RiskRule, rule_row_id)
        if row is None:
            raise NotFound("risk rule not found")
        return rule_from_dict(row.definition)
    rows = list(session.exec(select(RiskRule).where(RiskRule.rule_id == rule_id).order_by(col(RiskRule.version))))
    if rows:
        rules = [rule_from_dict(r.definition) for r in rows]
        return next((r for r in reversed(rules) if r.in_force_on(on)), rules[-1])
    if rule_id in list_presets():
        return load_preset(rule_id)  # type: ignore[arg-type]
    raise FieldError("rule_id", f"unknown rule '{rule_id}'; presets: {', '.join(list_presets())}")


# --------------------------------------------------------------------------- the book


@dataclass
class BookData:
    """A book with each loan's label and where its PD and collateral came from."""

    book: RiskBook
    labels: list[str]
    sources: dict[str, int] = field(default_factory=dict)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


def _latest_pd(session: Session, ids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for chunk in _chunks(ids):
        q = select(col(EWScore.loan_id), col(EWScore.pd)).where(col(EWScore.loan_id).in_(chunk)).order_by(
            col(EWScore.run_id), col(EWScore.id))
        for lid, pd in session.exec(q):
            out[int(lid)] = float(pd)  # the latest run wins
    return out


def _sigma_from_mean_p5(mean: float, p5: float) -> float | None:
    """σ of the lognormal with this mean and 5th percentile: ln(mean/p5) = σ²/2 + z·σ."""
    if mean <= 0 or p5 <= 0 or p5 >= mean:
        return None
    k = math.log(mean / p5)
    return -Z95 + math.sqrt(Z95 * Z95 + 2 * k)


def _collateral(session: Session, ids: list[int], default_sigma: float) -> dict[int, tuple[float, float]]:
    """Loan → (median CNY, σ) over its pledged assets (sum of medians, value-weighted σ)."""
    assets: dict[int, list[tuple[int, int | None]]] = {}
    q: Any  # three selects of different columns below
    for chunk in _chunks(ids):
        q = select(col(LoanCollateral.loan_id), col(LoanCollateral.ip_asset_id), col(LoanCollateral.appraised_value_fen)
                   ).where(col(LoanCollateral.loan_id).in_(chunk))
        for lid, aid, appraised in session.exec(q):
            assets.setdefault(int(lid), []).append((int(aid), appraised))
    aids = sorted({a for lst in assets.values() for a, _ in lst})
    latest: dict[int, tuple[int, int | None, int | None]] = {}
    for chunk in _chunks(aids):
        q = select(col(CollateralValuation.ip_asset_id), col(CollateralValuation.value_fen),
                   col(CollateralValuation.p5_fen), col(CollateralValuation.valuation_id)).where(
            col(CollateralValuation.ip_asset_id).in_(chunk)).order_by(
            col(CollateralValuation.valuation_date), col(CollateralValuation.id))
        for aid, value, p5, vid in session.exec(q):
            latest[int(aid)] = (int(value), p5, vid)
    mc: dict[int, tuple[int | None, int | None]] = {}
    vids = sorted({int(v[2]) for v in latest.values() if v[2] is not None})
    for chunk in _chunks(vids):
        q = select(col(Valuation.id), col(Valuation.mc_mean_fen), col(Valuation.mc_p5_fen)).where(
            col(Valuation.id).in_(chunk))
        for vid, mean, p5 in session.exec(q):
            mc[int(vid)] = (mean, p5)
    out: dict[int, tuple[float, float]] = {}
    for lid, lst in assets.items():
        total, weighted = 0.0, 0.0
        for aid, appraised in lst:
            if aid in latest:
                value, p5, vid = latest[aid]
                mean, low = mc.get(int(vid), (None, None)) if vid is not None else (None, None)
                sigma = _sigma_from_mean_p5(float(mean), float(low)) if mean and low else None
                if sigma is None and p5:
                    sigma = math.log(value / p5) / Z95 if 0 < p5 < value else None
                v = value / 100.0
            else:
                v, sigma = (appraised or 0) / 100.0, None
            total += v
            weighted += v * (default_sigma if sigma is None else sigma)
        out[lid] = (total, weighted / total if total > 0 else 0.0)
    return out


def stored_book(session: Session, org: Organisation, flt: BookFilter, rule: Rule, a: Assumptions,
                on: date) -> BookData:
    """The live loans ``org`` may see in aggregate that match ``flt``, as a :class:`RiskBook` (module doc)."""
    try:
        lf = LoanFilter(**flt.model_dump(exclude={"max_loans"}))
    except ValueError as exc:
        name = str(exc).split(":", 1)[0]
        raise FieldError(f"book.{name}", str(exc)) from exc
    cols_ = (Loan.id, Loan.borrower_id, Loan.bank_org_id, Loan.guarantor_org_id, Loan.outstanding_fen,
             Loan.origination_date, Loan.maturity_date, Loan.guarantee_fee_rate, Loan.annual_rate,
             Loan.days_past_due, Loan.industry)
    q = select(*[col(c) for c in cols_]).where(
        and_(aggregate_scope(org), lf.clause(), col(Loan.status).in_([str(s) for s in LIVE]),
             col(Loan.outstanding_fen) > 0)).order_by(col(Loan.id)).limit(flt.max_loans or MAX_LOANS + 1)
    rows: list[Any] = list(session.exec(q))  # type: ignore[call-overload]
    if not rows:
        raise FieldError("book", "no live loan you may see matches the filter")
    if len(rows) > MAX_LOANS:
        raise FieldError("book", f"more than {MAX_LOANS:,} loans match; narrow the filter")
    ids = [int(r[0]) for r in rows]
    pds = _latest_pd(session, ids)
    coll = _collateral(session, ids, a.collateral_sigma)
    n = len(rows)
    ead = np.array([r[4] / 100.0 for r in rows])
    pd = np.empty(n)
    scored = 0
    for i, r in enumerate(rows):
        if int(r[0]) in pds:
            pd[i] = min(max(pds[int(r[0])], 0.0), 0.999)
            scored += 1
        else:
            pd[i] = DEFAULT_PD_BY_CLASS[str(classify_loan(max(int(r[9] or 0), 0)))]
    term = np.array([max(1, math.ceil(((r[6] - on).days) / 365.25)) for r in rows], dtype=np.int64)
    industries = sorted({str(r[10]) for r in rows})
    sector = np.array([industries.index(str(r[10])) for r in rows])
    borrower_total: dict[int, int] = {}
    for r in rows:
        borrower_total[int(r[1])] = borrower_total.get(int(r[1]), 0) + int(r[4])
    loans = [rs_claims.Loan(
        loan_id=str(r[0]), borrower_id=str(r[1]), origination_date=r[5], principal_fen=int(r[4]),
        borrower_total_loans_fen=borrower_total[int(r[1])], guaranteed=r[3] is not None,
        guarantee_fee_rate=r[7]) for r in rows]
    valued = sum(1 for i in ids if coll.get(i, (0.0, 0.0))[0] > 0)
    book = RiskBook(
        ead=ead, annual_pd=pd, rho=np.full(n, a.rho),
        collateral_median=np.array([coll.get(i, (0.0, 0.0))[0] for i in ids]),
        collateral_sigma=np.array([coll.get(i, (0.0, 0.0))[1] for i in ids]),
        disposal_cost=np.full(n, a.disposal_cost), recovery_years=np.full(n, a.recovery_years),
        eligible=eligibility_under_rule(rule, loans), term_years=term, sector=sector,
        factor_correlation=industry_correlation(len(industries), a.sector_correlation),
        borrower=np.array([int(r[1]) for r in rows]), lender=np.array([int(r[2]) for r in rows]),
        guarantee_fee_rate=np.array([np.nan if r[7] is None else float(r[7]) for r in rows]),
        interest_rate=np.array([float(r[8]) for r in rows]), discount_rate=a.discount_rate,
    )
    return BookData(book, [str(i) for i in ids], {
        "loans": n, "pd_from_early_warning": scored, "pd_from_classification": n - scored,
        "collateral_valued": valued, "collateral_missing": n - valued})


TAPE_COLUMNS = ("loan_id", "ead_cny", "annual_pd", "collateral_cny")
"""Required tape columns; optional: collateral_sigma, term_years, guarantee_fee_rate, interest_rate,
borrower, lender, sector, eligible (1/0), appraisal_fee_cny."""


def tape_book(text: str, rule: Rule, a: Assumptions) -> BookData:
    """A book from a CSV tape; a bad cell is a 422 naming ``tape`` with its line and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in TAPE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FieldError("tape", f"missing column(s) {', '.join(missing)}; required: {', '.join(TAPE_COLUMNS)}")
    rows = list(reader)
    if not rows:
        raise FieldError("tape", "no loans in the tape")
    if len(rows) > MAX_LOANS:
        raise FieldError("tape", f"more than {MAX_LOANS:,} loans")

    def num(row: dict[str, str], name: str, line: int, default: float | None = None) -> float:
        raw = (row.get(name) or "").strip()
        if not raw:
            if default is None:
                raise FieldError("tape", f"line {line}: {name} is empty")
            return default
        try:
            v = float(raw)
        except ValueError:
            raise FieldError("tape", f"line {line}: {name} is not a number: {raw!r}") from None
        if not math.isfinite(v):
            raise FieldError("tape", f"line {line}: {name} must be finite")
        return v

    cols_: dict[str, list[float]] = {k: [] for k in (
        "ead", "pd", "coll", "sigma", "term", "fee", "rate", "borrower", "lender", "sector", "eligible", "appraisal")}
    for i, row in enumerate(rows, start=2):
        cols_["ead"].append(num(row, "ead_cny", i))
        cols_["pd"].append(num(row, "annual_pd", i))
        cols_["coll"].append(num(row, "collateral_cny", i))
        cols_["sigma"].append(num(row, "collateral_sigma", i, a.collateral_sigma))
        cols_["term"].append(num(row, "term_years", i, 1.0))
        cols_["fee"].append(num(row, "guarantee_fee_rate", i, math.nan))
        cols_["rate"].append(num(row, "interest_rate", i, math.nan))
        cols_["borrower"].append(num(row, "borrower", i, float(i)))
        cols_["lender"].append(num(row, "lender", i, 0.0))
        cols_["sector"].append(num(row, "sector", i, 0.0))
        cols_["eligible"].append(num(row, "eligible", i, 1.0))
        cols_["appraisal"].append(num(row, "appraisal_fee_cny", i, math.nan))
    k = int(max(cols_["sector"])) + 1 if min(cols_["sector"]) >= 0 else 1
    try:
        book = RiskBook(
            ead=np.array(cols_["ead"]), annual_pd=np.array(cols_["pd"]), rho=np.full(len(rows), a.rho),
            collateral_median=np.array(cols_["coll"]), collateral_sigma=np.array(cols_["sigma"]),
            disposal_cost=np.full(len(rows), a.disposal_cost), recovery_years=np.full(len(rows), a.recovery_years),
            eligible=np.array(cols_["eligible"]) != 0, term_years=np.array(cols_["term"], dtype=np.int64),
            sector=np.array(cols_["sector"], dtype=np.int64),
            factor_correlation=industry_correlation(k, a.sector_correlation),
            borrower=np.array(cols_["borrower"], dtype=np.int64), lender=np.array(cols_["lender"], dtype=np.int64),
            guarantee_fee_rate=np.array(cols_["fee"]), interest_rate=np.array(cols_["rate"]),
            appraisal_fee=np.array(cols_["appraisal"]), discount_rate=a.discount_rate,
        )
    except ValueError as exc:
        raise FieldError("tape", str(exc)) from exc
    return BookData(book, [r.get("loan_id") or str(i) for i, r in enumerate(rows, start=2)],
                    {"loans": len(rows), "from_tape": len(rows)})


def load_book(session: Session, org: Organisation, body: RuleCostRequest, rule: Rule, on: date) -> BookData:
    if (body.book is None) == (body.tape is None):
        raise FieldError("book", "give exactly one of book (a filter of the stored book) and tape (CSV)")
    if body.tape is not None:
        return tape_book(body.tape, rule, body.assumptions)
    return stored_book(session, org, body.book or BookFilter(), rule, body.assumptions, on)


# --------------------------------------------------------------------------- running


class _ProgressExecutor:
    """Maps chunks on the inner executor in slices, reporting the share done after each slice."""

    def __init__(self, inner: Executor, progress: ProgressFn | None, total: int, slices: int = 10) -> None:
        self.inner, self.progress, self.total, self.slices, self.done = inner, progress, total, slices, 0

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> list[Any]:
        step = max(1, math.ceil(len(tasks) / self.slices))
        out: list[Any] = []
        for i in range(0, len(tasks), step):
            out += self.inner.map(fn, tasks[i : i + step])
            self.done += len(tasks[i : i + step])
            if self.progress is not None:
                self.progress(0.05 + 0.9 * self.done / max(self.total, 1))
        return out


def _executor(progress: ProgressFn | None, n_paths: int) -> _ProgressExecutor:
    return _ProgressExecutor(get_executor(get_settings().dask_scheduler), progress, n_paths)


def _round(x: float) -> float:
    return round(float(x), 2)


def cost_json(rule: Rule, data: BookData, cost: RuleCost) -> dict[str, Any]:
    """The answer of ``POST /rule-costs``: per party, per cap, and the programme's budgets (CNY statistics)."""
    prog = programme_cost(rule, data.book, cost.years) if (rule.insurance or rule.subsidies) else None
    assert data.book.eligible is not None  # filled by RiskBook.__post_init__
    return {
        "rule_id": rule.id, "rule_version": rule.version, "n_loans": data.book.n,
        "n_eligible": int(np.sum(data.book.eligible)), "exposure_cny": _round(float(np.sum(data.book.ead))),
        "n_paths": cost.n_paths, "seed": cost.seed, "years": cost.years, "method": cost.method,
        "claim_lag_months": cost.claim_lag_months, "book_sources": data.sources,
        "expected_defaults": round(float(np.mean(cost.defaults)), 3),
        "parties": [{
            "key": p.key, "share": p.share, "compensating": p.compensating,
            "expected_payout_cny": _round(p.expected_payout), "expected_payout_se_cny": _round(p.expected_payout_se),
            "payout_quantiles": [{"level": q.level, "value_cny": _round(q.value), "se_cny": _round(q.se)}
                                 for q in p.payout_quantiles],
            "expected_net_cost_cny": _round(p.expected_net_cost),
            "expected_net_cost_se_cny": _round(p.expected_net_cost_se),
            "expected_payout_by_year_cny": [_round(v) for v in p.expected_payout_by_year],
            "expected_pending_at_horizon_cny": _round(p.expected_pending),
            "expected_pending_at_horizon_se_cny": _round(p.expected_pending_se),
        } for p in cost.party_costs],
        "caps": [{
            "cap": c.cap, "probability": round(c.probability, 6), "probability_se": round(c.probability_se, 6),
            "first_year": [round(v, 6) for v in c.first_year],
        } for c in cost.cap_exhaustion],
        "programme": None if prog is None else {
            "insurer": prog.insurer, "premium_rate": prog.premium_rate,
            "expected_premium_by_year_cny": [_round(v) for v in prog.premium_by_year],
            "subsidies": [{
                "key": s.key, "kind": s.kind, "payer": s.payer,
                "annual_budget_cny": None if math.isinf(s.budget) else _round(s.budget),
                "expected_demand_by_year_cny": [_round(v) for v in s.demand_by_year],
                "expected_paid_by_year_cny": [_round(v) for v in s.paid_by_year],
                "budget_exhausted_by_year": list(s.exhausted_by_year),
                "first_exhausted_year": s.first_exhausted_year,
            } for s in prog.subsidies],
        },
    }


def eligible_only(data: BookData) -> BookData:
    """The loans under the rule (a fee is priced on the guaranteed, eligible loans, not the whole book)."""
    keep = np.asarray(data.book.eligible, dtype=bool)
    if not keep.any():
        raise FieldError("book", "no loan of the book is eligible under the rule")
    if keep.all():
        return data
    n = data.book.n
    parts = {f.name: getattr(data.book, f.name) for f in fields(RiskBook)}
    for name, v in parts.items():
        if isinstance(v, np.ndarray) and v.shape == (n,):
            parts[name] = v[keep]
    labels = [lab for lab, k in zip(data.labels, keep, strict=True) if k]
    return BookData(RiskBook(**parts), labels, {**data.sources, "priced_eligible": int(keep.sum())})


def fee_json(rule: Rule, data: BookData, cost: RuleCost, body: FeeRequest) -> dict[str, Any]:
    """The answer of ``POST /guarantee-fees``: break-even rate per party and in total vs the fee cap."""
    fa = break_even_fees(rule, data.book, cost, operating_cost_rate=body.operating_cost_rate,
                         confidence=body.confidence, cost_of_capital=body.cost_of_capital)
    order = np.argsort(-fa.gap_rate, kind="stable")
    under = [int(i) for i in order[: body.top] if fa.under_priced[i]]
    premium = float(rule.insurance.premium_rate) if rule.insurance is not None else None
    return {
        "rule_id": rule.id, "rule_version": rule.version, "n_loans": data.book.n, "n_paths": cost.n_paths,
        "seed": cost.seed, "years": cost.years, "book_sources": data.sources,
        "fee_cap": fa.fee_cap, "fee_parties": list(fa.fee_parties),
        "parties": [{
            "key": p.key, "expected_loss_rate": p.expected_loss_rate, "operating_cost_rate": p.operating_cost_rate,
            "capital_rate": p.capital_rate, "break_even_rate": p.break_even_rate,
            "break_even_rate_se": p.break_even_rate_se,
        } for p in fa.cohort],
        "total_break_even_rate": fa.cohort_total_rate, "total_break_even_rate_se": fa.cohort_total_rate_se,
        "insurance_premium_rate": premium,
        "under_priced_share": fa.under_priced_share,
        "under_priced_count": int(np.sum(fa.under_priced)),
        "gap_cny_per_year": _round(float(np.sum(fa.gap_cny_per_year))),
        "under_priced_loans": [{
            "loan": data.labels[i], "ead_cny": _round(data.book.ead[i]),
            "break_even_rate": float(fa.loan_total_rate[i]), "gap_rate": float(fa.gap_rate[i]),
            "gap_cny_per_year": _round(fa.gap_cny_per_year[i]),
            "charged_rate": None if math.isnan(fa.charged_rate[i]) else float(fa.charged_rate[i]),
        } for i in under],
    }


def _simulate(rule: Rule, data: BookData, body: RuleCostRequest, per_loan: bool,
              progress: ProgressFn | None) -> RuleCost:
    try:
        return simulate_rule_cost(rule, data.book, body.n_paths, body.seed, years=body.years, per_loan=per_loan,
                                  executor=_executor(progress, body.n_paths), claim_lag_months=body.claim_lag_months)
    except ValueError as exc:
        raise FieldError("rule_id", str(exc)) from exc


def is_large(data: BookData, body: RuleCostRequest) -> bool:
    return body.background or data.book.n * body.n_paths * body.years > SYNC_WORK


def prepare(session: Session, org: Organisation, body: RuleCostRequest, on: date) -> tuple[Rule, BookData]:
    """Resolve the rule and read the book now, so bad input fails the request (422/404), never a job."""
    try:
        rule = resolve_rule(session, body.rule_id, body.rule_row_id, on)
    except ValidationError as exc:
        raise FieldError("rule_id", f"stored rule does not validate: {exc}") from exc
    return rule, load_book(session, org, body, rule, on)


def run(rule: Rule, data: BookData, body: RuleCostRequest, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Simulate and summarise; a :class:`FeeRequest` adds the break-even fees."""
    if isinstance(body, FeeRequest):
        data = eligible_only(data)
        return fee_json(rule, data, _simulate(rule, data, body, True, progress), body)
    return cost_json(rule, data, _simulate(rule, data, body, False, progress))


def submit_job(user: User, rule: Rule, data: BookData, body: RuleCostRequest) -> str:
    """Queue a large run; the job's result is the same answer as a small run's."""
    kind = "guarantee_fee" if isinstance(body, FeeRequest) else "rule_cost"

    def work(progress: ProgressFn) -> dict[str, Any]:
        progress(0.05)
        return run(rule, data, body, progress)

    job_id, _ = submit(kind, work, user)
    return job_id


def count_live(session: Session, org: Organisation) -> int:
    """Live loans ``org`` may see in aggregate (for the dashboard's page)."""
    q = select(func.count()).select_from(Loan).where(
        and_(aggregate_scope(org), col(Loan.status).in_([str(s) for s in LIVE])))
    return int(session.exec(q).one())
