"""The stored loan book as of a data cut (数据截止日): early-warning features, 12-month outcomes and
the collateral book a stress test runs on.

Everything is read in a few bulk queries (loan ids in chunks), never loan by loan. Where a fact is
not on record the documented fallback of :data:`FALLBACKS` is used, so every live loan is scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from api.pledge.models import (
    Borrower,
    BucketHistory,
    CollateralValuation,
    IPAsset,
    Loan,
    LoanCollateral,
    LoanStatus,
    PledgeAlert,
    PledgePayment,
)
from api.valuation.models import Valuation
from pledge.early_warning import LEGAL_EVENTS, TrueHazardModel, build_features
from pledge.early_warning import FeatureMatrix as Features

DISBURSED = (LoanStatus.active, LoanStatus.overdue, LoanStatus.default, LoanStatus.in_claim, LoanStatus.in_disposal,
             LoanStatus.settled, LoanStatus.recovered, LoanStatus.written_off, LoanStatus.closed)
"""Statuses of loans that were disbursed: the candidates for a past data cut."""

LIVE = (LoanStatus.active, LoanStatus.overdue)
"""Statuses scored at the current cut (a loan in default or beyond already has its outcome)."""

FALLBACKS: dict[str, Any] = {
    "valuation_cv": 0.30,  # median MC spread of the synthetic book when no Monte Carlo result is stored
    "ltv_now": 5.0,  # no collateral value on record: the clip's upper end (worst case)
}
"""Values used when a fact is missing (documented so that a score can be read)."""

FEE_CODES = ("annual_fee_unpaid",)
LEGAL_CODES = {"ip_invalidated": "invalidation_request", "ip_lapsed": "lapse", "ip_dispute": "transfer_without_consent"}
_PRIOR = TrueHazardModel.default().categorical["legal_event"]
_LEGAL_SEVERITY = {e: _PRIOR.get(e, 0.0) for e in LEGAL_EVENTS}
_CHUNK = 900  # ids per IN list: below every driver's parameter limit
_YEAR = 365.25


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


@dataclass(frozen=True, slots=True)
class BookCut:
    """Live loans at ``data_cut``: ids and facts (one entry per loan), and their encoded features."""

    data_cut: date
    loan_ids: list[int]
    bank_ids: list[int]
    regions: list[str]
    provinces: list[str]
    industries: list[str]
    ip_types: list[str]
    balance_fen: list[int]
    collateral_value_fen: list[int]
    loan_class: list[str]
    default_date: list[date | None]
    features: Features | None

    @property
    def n(self) -> int:
        return len(self.loan_ids)

    def outcome(self) -> np.ndarray:
        """1 where the loan defaulted within the 12 months after the cut."""
        end = self.data_cut + timedelta(days=365)
        return np.array([1 if d is not None and self.data_cut < d <= end else 0 for d in self.default_date], np.int8)


def _live(data_cut: date, current: bool) -> ColumnElement[bool]:
    not_defaulted = or_(col(Loan.default_date).is_(None), col(Loan.default_date) > data_cut)
    if current:
        return and_(col(Loan.status).in_([str(s) for s in LIVE]), col(Loan.origination_date) <= data_cut,
                    not_defaulted)
    return and_(col(Loan.status).in_([str(s) for s in DISBURSED]), col(Loan.origination_date) <= data_cut,
                col(Loan.maturity_date) > data_cut, not_defaulted)


def read_cut(conn: Connection, scope: ColumnElement[bool], data_cut: date, *, current: bool,
             with_features: bool = True) -> BookCut:
    """The live loans in ``scope`` at ``data_cut`` (``current``: today's live statuses; else a past cut)."""
    loan = Loan.__table__.c  # type: ignore[attr-defined]
    rows = conn.execute(
        select(loan.id, loan.bank_org_id, loan.region_code, loan.province_code, loan.industry, loan.primary_ip_type,
               loan.amount_fen, loan.outstanding_fen, loan.origination_date, loan.days_past_due, loan.default_date,
               col(Borrower.size_class))
        .join(Borrower, col(Borrower.id) == loan.borrower_id)
        .where(scope, _live(data_cut, current)).order_by(loan.id)
    ).all()
    ids = [int(r[0]) for r in rows]
    assets = _assets(conn, ids)
    values, first_values, cvs, val_dates = _valuations(conn, assets, data_cut)
    hist = _history(conn, ids, data_cut)
    events = _events(conn, ids, data_cut)
    paid = {} if current else _principal_paid(conn, ids, data_cut)
    balance, value_now, classes, recs = [], [], [], []
    for r in rows:
        lid = int(r[0])
        bal = int(r[7]) if current else max(int(r[6]) - paid.get(lid, 0), 0)
        a = assets.get(lid, [])
        v = sum(values.get(x[0], 0) for x in a)
        v0 = sum(first_values.get(x[0], 0) for x in a)
        dpd_now, max_dpd, klass = hist.get(lid, (int(r[9]) if current else 0, 0, "normal"))
        balance.append(bal)
        value_now.append(v)
        classes.append(klass)
        if not with_features:
            continue
        ltv = bal / v if v > 0 else FALLBACKS["ltv_now"]
        ltv0 = int(r[6]) / v0 if v0 > 0 else ltv
        dates = [val_dates[x[0]] for x in a if x[0] in val_dates]
        loan_age = (data_cut - r[8]).days / _YEAR
        spread = [cvs[x[0]] for x in a if x[0] in cvs]
        fee_n, legal = events.get(lid, (0, "none"))
        legal = _worst(legal, *(LEGAL_CODES.get(f"ip_{x[1]}", "none") for x in a))
        recs.append({
            "ltv_now": ltv, "ltv_change": ltv - ltv0, "max_dpd_12m": max(max_dpd, dpd_now), "dpd_now": dpd_now,
            "n_fee_events_12m": fee_n,
            "valuation_cv": float(np.mean(spread)) if spread else FALLBACKS["valuation_cv"],
            "valuation_age_years": (data_cut - min(dates)).days / _YEAR if dates else loan_age + 0.1,
            "loan_age_years": loan_age, "legal_event": legal, "industry": r[4], "province": r[3],
            "borrower_size": str(r[11]), "ip_type": str(r[5]),
        })
    features = build_features(recs) if with_features and recs else None
    return BookCut(data_cut, ids, [int(r[1]) for r in rows], [str(r[2]) for r in rows], [str(r[3]) for r in rows],
                   [str(r[4]) for r in rows], [str(r[5]) for r in rows], balance, value_now, classes,
                   [r[10] for r in rows], features)


def _worst(*events: str) -> str:
    """The legal event with the largest prior effect (``none`` when there is none)."""
    return max(events, key=lambda e: (_LEGAL_SEVERITY.get(e, 0.0), e != "none"))


def _assets(conn: Connection, ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Loan → [(asset id, legal status)] of its collateral."""
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(ids):
        for lid, aid, status in conn.execute(
            select(col(LoanCollateral.loan_id), col(LoanCollateral.ip_asset_id), col(IPAsset.legal_status))
            .join(IPAsset, col(IPAsset.id) == col(LoanCollateral.ip_asset_id))
            .where(col(LoanCollateral.loan_id).in_(chunk))
        ):
            out[int(lid)].append((int(aid), str(status)))
    return out


def _valuations(conn: Connection, assets: dict[int, list[tuple[int, str]]], data_cut: date
                ) -> tuple[dict[int, int], dict[int, int], dict[int, float], dict[int, date]]:
    """Per asset, on or before the cut: latest value, first value, MC spread (sd ÷ mean) and latest date.

    The spread is (mean − 5th percentile) ÷ (1.645 × mean), the normal-approximation σ/μ, from the
    stored valuation's Monte Carlo result when linked, else from the collateral valuation's own p5.
    """
    aids = sorted({a for lst in assets.values() for a, _ in lst})
    latest: dict[int, tuple[Any, ...]] = {}
    first: dict[int, int] = {}
    for chunk in _chunks(aids):
        for aid, value, p5, vdate, vid in conn.execute(
            select(col(CollateralValuation.ip_asset_id), col(CollateralValuation.value_fen),
                   col(CollateralValuation.p5_fen),
                   col(CollateralValuation.valuation_date), col(CollateralValuation.valuation_id))
            .where(col(CollateralValuation.ip_asset_id).in_(chunk), col(CollateralValuation.valuation_date) <= data_cut)
            .order_by(col(CollateralValuation.valuation_date), col(CollateralValuation.id))
        ):
            first.setdefault(int(aid), int(value))
            latest[int(aid)] = (int(value), p5, vdate, vid)
    mc: dict[int, tuple[int | None, int | None]] = {}
    vids = sorted({int(v[3]) for v in latest.values() if v[3] is not None})
    for chunk in _chunks(vids):
        for vid, mean, p5 in conn.execute(
            select(col(Valuation.id), col(Valuation.mc_mean_fen), col(Valuation.mc_p5_fen))
            .where(col(Valuation.id).in_(chunk))
        ):
            mc[int(vid or 0)] = (mean, p5)
    cvs: dict[int, float] = {}
    for aid, (value, p5, _d, vid) in latest.items():
        mean, low = mc.get(int(vid), (None, None)) if vid is not None else (None, None)
        if mean is None or low is None:
            mean, low = value, p5
        if mean and low is not None and mean > 0:
            cvs[aid] = max(float(mean - low), 0.0) / (1.6448536269514722 * float(mean))
    return ({a: v[0] for a, v in latest.items()}, first, cvs, {a: v[2] for a, v in latest.items()})


def _history(conn: Connection, ids: list[int], data_cut: date) -> dict[int, tuple[int, int, str]]:
    """Loan → (days past due at the last record, max over the 12 months to the cut, five-class at the last record)."""
    start = data_cut - timedelta(days=365)
    out: dict[int, tuple[int, int, str]] = {}
    for chunk in _chunks(ids):
        for lid, days, klass in conn.execute(
            select(col(BucketHistory.loan_id), col(BucketHistory.days_overdue), col(BucketHistory.loan_class))
            .where(col(BucketHistory.loan_id).in_(chunk), col(BucketHistory.as_of) > start,
                   col(BucketHistory.as_of) <= data_cut)
            .order_by(col(BucketHistory.as_of), col(BucketHistory.id))
        ):
            prev = out.get(int(lid), (0, 0, "normal"))
            out[int(lid)] = (int(days), max(prev[1], int(days)), str(klass))
    return out


def _events(conn: Connection, ids: list[int], data_cut: date) -> dict[int, tuple[int, str]]:
    """Loan → (annual-fee alerts in the 12 months to the cut, worst legal event alerted in them)."""
    start = data_cut - timedelta(days=365)
    out: dict[int, tuple[int, str]] = {}
    codes = [*FEE_CODES, *LEGAL_CODES]
    for chunk in _chunks(ids):
        for lid, code in conn.execute(
            select(col(PledgeAlert.loan_id), col(PledgeAlert.code))
            .where(col(PledgeAlert.loan_id).in_(chunk), col(PledgeAlert.code).in_(codes),
                   col(PledgeAlert.as_of) > start, col(PledgeAlert.as_of) <= data_cut)
        ):
            n, legal = out.get(int(lid), (0, "none"))
            if code in FEE_CODES:
                n += 1
            else:
                legal = _worst(legal, LEGAL_CODES[code])
            out[int(lid)] = (n, legal)
    return out


def _principal_paid(conn: Connection, ids: list[int], data_cut: date) -> dict[int, int]:
    """Loan → principal repaid on or before the cut (for the balance at a past cut)."""
    out: dict[int, int] = defaultdict(int)
    for chunk in _chunks(ids):
        for lid, p, pp in conn.execute(
            select(col(PledgePayment.loan_id), col(PledgePayment.principal_fen),
                   col(PledgePayment.prepaid_principal_fen))
            .where(col(PledgePayment.loan_id).in_(chunk), col(PledgePayment.paid_on) <= data_cut)
        ):
            out[int(lid)] += int(p) + int(pp)
    return out
