"""The bank collateral page's figures: LTV bands, valuation age, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from api.core.tenancy import loan_visibility
from api.identity.models import Organisation
from api.pledge.models import CollateralValuation, IPAsset, Loan, LoanCollateral
from api.stats.filters import LIVE_STATUSES, _add_months, _int


@dataclass(frozen=True)
class Bucket:
    """A distribution bucket: label, loans and money (fen)."""

    label: str
    loan_count: int
    amount_fen: int


VALUE_BANDS_CNY: tuple[int, ...] = (1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000)


LTV_BANDS_PCT: tuple[int, ...] = (30, 40, 50, 60, 70)


DPD_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-180", 91, 180),
    ("181-365", 181, 365), (">365", 366, None),
)


LAPSED_LEGAL_STATUSES: tuple[str, ...] = ("lapsed", "invalidated", "expired")


def _band_label(lo: int | None, hi: int | None, unit: str) -> str:
    if lo is None:
        return f"≤{hi}{unit}"
    if hi is None:
        return f">{lo}{unit}"
    return f"{lo}-{hi}{unit}"


@dataclass(frozen=True)
class CollateralReport:
    """A lender's live pledge book: collateral value and LTV (质押率) distributions, alerts."""

    as_of: date
    ltv_limit_pct: int
    loan_count: int
    outstanding_fen: int
    appraised_fen: int
    value_distribution: list[Bucket]
    ltv_distribution: list[Bucket]
    dpd_buckets: list[Bucket]
    ltv_breach_count: int
    lapse_count: int
    revaluation_due_count: int
    revaluation_months: int
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def weighted_ltv(self) -> float | None:
        return self.outstanding_fen / self.appraised_fen if self.appraised_fen else None


def collateral_report(
    conn: Connection,
    org: Organisation,
    *,
    as_of: date,
    ltv_limit_pct: int = 60,
    revaluation_months: int = 12,
    bank_org_id: int | None = None,
    alert_limit: int = 200,
) -> CollateralReport:
    """Collateral figures of the live loans an organisation sees (a bank: its own book).

    Per loan, the appraised value is the sum over its registered collateral of the latest
    re-valuation (pledge module) or else the appraised value at pledging; LTV = outstanding ÷
    appraised. Alerts at ``as_of``: LTV above ``ltv_limit_pct``; pledged IP lapsed/invalidated/
    expired or with its annual fee unpaid; the stalest asset's appraisal (latest re-valuation
    date, else pledge registration date) older than ``revaluation_months``.
    """
    if not 1 <= ltv_limit_pct <= 200:
        raise ValueError("ltv_limit_pct: must be between 1 and 200")
    if revaluation_months < 1:
        raise ValueError("revaluation_months: must be at least 1")
    scope = and_(loan_visibility(org), col(Loan.status).in_(LIVE_STATUSES))
    if bank_org_id:
        scope = and_(scope, col(Loan.bank_org_id) == bank_org_id)
    reval_cutoff = _add_months(as_of, -revaluation_months)
    lapsed = or_(
        col(IPAsset.legal_status).in_(LAPSED_LEGAL_STATUSES),
        and_(col(IPAsset.annual_fee_paid_until).is_not(None), col(IPAsset.annual_fee_paid_until) < as_of),
    )
    asset_value: Any = col(LoanCollateral.appraised_value_fen)
    asset_date: Any = col(LoanCollateral.pledge_registered_on)
    visible_assets = (
        select(col(LoanCollateral.ip_asset_id)).join(Loan, col(Loan.id) == col(LoanCollateral.loan_id)).where(scope)
    )
    latest = _latest_collateral_valuations(visible_assets)
    base = select().select_from(LoanCollateral)
    # the pledge module's re-valuations: the latest per asset counts
    base = base.outerjoin(latest, and_(latest.c.ip_asset_id == col(LoanCollateral.ip_asset_id), latest.c.rn == 1))
    asset_value = func.coalesce(latest.c.value_fen, col(LoanCollateral.appraised_value_fen))
    asset_date = func.coalesce(latest.c.valuation_date, col(LoanCollateral.pledge_registered_on))
    coll = (
        base.add_columns(
            col(LoanCollateral.loan_id).label("loan_id"),
            func.sum(asset_value).label("value"),
            func.max(case((lapsed, 1), else_=0)).label("lapsed"),
            func.min(asset_date).label("appraised_on"),
        )
        .join(IPAsset, col(IPAsset.id) == col(LoanCollateral.ip_asset_id))
        .join(Loan, col(Loan.id) == col(LoanCollateral.loan_id))
        .where(scope, col(LoanCollateral.pledge_status) != "released")
        .group_by(col(LoanCollateral.loan_id))
        .subquery()
    )
    value = func.coalesce(coll.c.value, 0)
    joined = select(
        col(Loan.id).label("id"), col(Loan.reference).label("reference"), col(Loan.outstanding_fen).label("out"),
        col(Loan.days_past_due).label("dpd"), value.label("value"), func.coalesce(coll.c.lapsed, 0).label("lapsed"),
        coll.c.appraised_on.label("appraised_on"),
    ).select_from(Loan).outerjoin(coll, coll.c.loan_id == col(Loan.id)).where(scope).subquery()
    j = joined.c
    breach = and_(j.value > 0, j.out * 100 > j.value * ltv_limit_pct)
    reval = and_(j.appraised_on.is_not(None), j.appraised_on < reval_cutoff)
    totals = conn.execute(
        select(
            func.count(), func.sum(j.out), func.sum(j.value), func.sum(case((breach, 1), else_=0)),
            func.sum(case((j.lapsed > 0, 1), else_=0)), func.sum(case((reval, 1), else_=0)),
        )
    ).one()

    def bucketed(expr_cases: list[tuple[ColumnElement[bool], str]], default: str, order: list[str]) -> list[Bucket]:
        label = case(*expr_cases, else_=default)
        rows = {r[0]: (r[1], r[2]) for r in conn.execute(select(label, func.count(), func.sum(j.out)).group_by(label))}
        return [Bucket(lbl, _int(rows.get(lbl, (0, 0))[0]), _int(rows.get(lbl, (0, 0))[1])) for lbl in order]

    v_cases: list[tuple[ColumnElement[bool], str]] = [(j.value <= 0, "no valuation")]
    v_labels = ["no valuation"]
    lo: int | None = None
    for hi in VALUE_BANDS_CNY:
        lbl = _band_label(lo and lo // 1_000_000, hi // 1_000_000, "M")
        v_cases.append((j.value <= hi * 100, lbl))
        v_labels.append(lbl)
        lo = hi
    v_top = _band_label(VALUE_BANDS_CNY[-1] // 1_000_000, None, "M")
    value_dist = bucketed(v_cases, v_top, [*v_labels, v_top])

    l_cases: list[tuple[ColumnElement[bool], str]] = [(j.value <= 0, "no valuation")]
    l_labels = ["no valuation"]
    lo_p: int | None = None
    for hi_p in LTV_BANDS_PCT:
        lbl = _band_label(lo_p, hi_p, "%")
        l_cases.append((j.out * 100 <= j.value * hi_p, lbl))
        l_labels.append(lbl)
        lo_p = hi_p
    l_top = _band_label(LTV_BANDS_PCT[-1], None, "%")
    ltv_dist = bucketed(l_cases, l_top, [*l_labels, l_top])

    d_cases: list[tuple[ColumnElement[bool], str]] = [(j.dpd <= hi, lbl) for lbl, _, hi in DPD_BANDS[:-1]]
    dpd = bucketed(d_cases, DPD_BANDS[-1][0], [b[0] for b in DPD_BANDS])

    alert_rows = conn.execute(
        select(j.id, j.reference, j.out, j.value, j.dpd, breach, j.lapsed > 0, reval)
        .where(or_(breach, j.lapsed > 0, reval))
        .order_by(j.out.desc(), j.id)
        .limit(alert_limit)
    ).all()
    alerts = [
        {
            "loan_id": int(r[0]), "reference": r[1], "outstanding_fen": _int(r[2]), "appraised_fen": _int(r[3]),
            "ltv": (_int(r[2]) / _int(r[3])) if r[3] else None, "days_past_due": _int(r[4]),
            "ltv_breach": bool(r[5]), "lapse": bool(r[6]), "revaluation_due": bool(r[7]),
        }
        for r in alert_rows
    ]
    n, out, val, nb, nl, nr = (_int(x) for x in totals)
    return CollateralReport(
        as_of=as_of, ltv_limit_pct=ltv_limit_pct, loan_count=n, outstanding_fen=out, appraised_fen=val,
        value_distribution=value_dist, ltv_distribution=ltv_dist, dpd_buckets=dpd, ltv_breach_count=nb,
        lapse_count=nl, revaluation_due_count=nr, revaluation_months=revaluation_months, alerts=alerts,
    )


def _latest_collateral_valuations(asset_ids: Any) -> Any:
    """Latest re-valuation (``rn = 1``) of the given IP assets only: the window never runs over
    other lenders' valuations (the composite index (ip_asset_id, valuation_date) serves it)."""
    t = CollateralValuation
    rn = func.row_number().over(
        partition_by=col(t.ip_asset_id), order_by=(col(t.valuation_date).desc(), col(t.id).desc())
    )
    return (
        select(col(t.ip_asset_id), col(t.value_fen), col(t.valuation_date), rn.label("rn"))
        .where(col(t.ip_asset_id).in_(asset_ids))
        .subquery()
    )
