"""The bank collateral page's figures: LTV bands, valuation age, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, String, and_, case, cast, func, literal, null, or_, select, true, union_all
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
    # the per-loan rows are built ONCE (a CTE referenced twice is materialised by SQLite and PostgreSQL) and
    # read by both parts of one statement: the GROUP BY of the three band labels (at most 7×7×7 groups; every
    # total and distribution is an exact integer roll-up of them) and the top ``alert_limit`` flagged loans
    j = _per_loan(scope, as_of, conn.dialect.name).cte("per_loan")
    breach = and_(j.c.value > 0, j.c.out * 100 > j.c.value * ltv_limit_pct)
    reval = and_(j.c.appraised_on.is_not(None), j.c.appraised_on < _add_months(as_of, -revaluation_months))
    flag = {"breach": case((breach, 1), else_=0), "lapse": case((j.c.lapsed > 0, 1), else_=0),
            "reval": case((reval, 1), else_=0)}
    v_label, v_order = _value_band(j.c.value)
    l_label, l_order = _ltv_band(j.c.value, j.c.out)
    d_label = case(*[(j.c.dpd <= hi, lbl) for lbl, _, hi in DPD_BANDS[:-1]], else_=DPD_BANDS[-1][0])
    big, txt = BigInteger(), String()
    grouped = select(
        literal(0, big), v_label, l_label, d_label, func.count(), func.sum(j.c.out), func.sum(j.c.value),
        *[func.sum(f) for f in flag.values()], cast(null(), big), cast(null(), big),
    ).group_by(v_label, l_label, d_label)
    top = (
        select(j.c.id, j.c.out, j.c.value, j.c.dpd, *[f.label(k) for k, f in flag.items()])
        .where(or_(breach, j.c.lapsed > 0, reval)).order_by(j.c.out.desc(), j.c.id).limit(alert_limit).subquery()
    )
    alerted = select(
        literal(1, big), cast(null(), txt), cast(null(), txt), cast(null(), txt), literal(1, big), top.c.out,
        top.c.value, top.c.breach, top.c.lapse, top.c.reval, top.c.id, top.c.dpd,
    )
    sums: dict[tuple[int, str], list[int]] = {}
    n = out = val = nb = nl = nr = 0
    flagged: list[tuple[int, int, int, int, bool, bool, bool]] = []
    for kind, v_key, l_key, d_key, cnt, o, v, b, lp, r, loan_id, dpd in conn.execute(union_all(grouped, alerted)):
        if kind:
            flagged.append((int(loan_id), _int(o), _int(v), _int(dpd), bool(b), bool(lp), bool(r)))
            continue
        for dim, key in ((0, v_key), (1, l_key), (2, d_key)):
            acc = sums.setdefault((dim, str(key)), [0, 0])
            acc[0] += _int(cnt)
            acc[1] += _int(o)
        n, out, val = n + _int(cnt), out + _int(o), val + _int(v)
        nb, nl, nr = nb + _int(b), nl + _int(lp), nr + _int(r)

    def buckets(dim: int, order: list[str]) -> list[Bucket]:
        return [Bucket(lbl, *sums.get((dim, lbl), [0, 0])) for lbl in order]

    return CollateralReport(
        as_of=as_of, ltv_limit_pct=ltv_limit_pct, loan_count=n, outstanding_fen=out, appraised_fen=val,
        value_distribution=buckets(0, v_order), ltv_distribution=buckets(1, l_order),
        dpd_buckets=buckets(2, [b[0] for b in DPD_BANDS]), ltv_breach_count=nb, lapse_count=nl,
        revaluation_due_count=nr, revaluation_months=revaluation_months, alerts=_alerts(conn, flagged),
    )


def _alerts(conn: Connection, flagged: list[tuple[int, int, int, int, bool, bool, bool]]) -> list[dict[str, Any]]:
    """The flagged loans, largest outstanding first (then lowest id), with their references (by primary key)."""
    refs: dict[int, str] = {}
    ids = [r[0] for r in flagged]
    for i in range(0, len(ids), 500):
        refs.update((int(k or 0), str(x)) for k, x in conn.execute(
            select(col(Loan.id), col(Loan.reference)).where(col(Loan.id).in_(ids[i:i + 500]))))
    return [
        {
            "loan_id": lid, "reference": refs[lid], "outstanding_fen": o, "appraised_fen": v,
            "ltv": (o / v) if v else None, "days_past_due": dpd,
            "ltv_breach": breach, "lapse": lapsed, "revaluation_due": reval,
        }
        for lid, o, v, dpd, breach, lapsed, reval in sorted(flagged, key=lambda r: (-r[1], r[0]))
    ]


def _value_band(value: Any) -> tuple[Any, list[str]]:
    """SQL label of a loan's collateral value band, and the labels in display order."""
    cases: list[tuple[ColumnElement[bool], str]] = [(value <= 0, "no valuation")]
    lo: int | None = None
    for hi in VALUE_BANDS_CNY:
        cases.append((value <= hi * 100, _band_label(lo and lo // 1_000_000, hi // 1_000_000, "M")))
        lo = hi
    top = _band_label(VALUE_BANDS_CNY[-1] // 1_000_000, None, "M")
    return case(*cases, else_=top), [lbl for _, lbl in cases] + [top]


def _ltv_band(value: Any, out: Any) -> tuple[Any, list[str]]:
    """SQL label of a loan's LTV band (integer comparisons, no division), and the labels in order."""
    cases: list[tuple[ColumnElement[bool], str]] = [(value <= 0, "no valuation")]
    lo: int | None = None
    for hi in LTV_BANDS_PCT:
        cases.append((out * 100 <= value * hi, _band_label(lo, hi, "%")))
        lo = hi
    top = _band_label(LTV_BANDS_PCT[-1], None, "%")
    return case(*cases, else_=top), [lbl for _, lbl in cases] + [top]


def _per_loan(scope: ColumnElement[bool], as_of: date, dialect: str) -> Any:
    """One row per live loan in ``scope`` (a SELECT): id, outstanding, days past due, appraised value (sum over its
    unreleased collateral of the latest re-valuation, else the pledging appraisal), lapse flag and
    the stalest appraisal date — loan → collateral → asset, with each asset's latest re-valuation found by an
    index seek (never a window over all valuations), every step read from a covering index.

    The collateral is grouped by its loan id, then joined to the loans (grouping by loan.id instead would make
    SQLite walk the whole loan table in rowid order rather than seek the visible loans). PostgreSQL reads each
    asset's latest value and date with ONE LATERAL index seek (SQLite has no LATERAL: two correlated seeks);
    measured at 1M loans (the demo bank's 48k live loans) against a LATERAL per loan (a nested loop of 48k
    aggregates) and against two correlated seeks, this was the fastest of the three.
    """
    lc, asset = LoanCollateral, IPAsset
    latest_value = _latest_valuation(col(lc.ip_asset_id), col(CollateralValuation.value_fen))
    latest_date = _latest_valuation(col(lc.ip_asset_id), col(CollateralValuation.valuation_date))
    lapsed = or_(
        col(asset.legal_status).in_(LAPSED_LEGAL_STATUSES),
        and_(col(asset.annual_fee_paid_until).is_not(None), col(asset.annual_fee_paid_until) < as_of),
    )
    sums = (
        func.sum(func.coalesce(latest_value, col(lc.appraised_value_fen))).label("value"),
        func.max(case((lapsed, 1), else_=0)).label("lapsed"),
        func.min(func.coalesce(latest_date, col(lc.pledge_registered_on))).label("appraised_on"),
    )
    if dialect == "postgresql":
        t = CollateralValuation
        latest = (  # one index seek gives both the latest value and its date
            select(col(t.value_fen), col(t.valuation_date)).where(col(t.ip_asset_id) == col(lc.ip_asset_id))
            .order_by(col(t.valuation_date).desc(), col(t.id).desc()).limit(1).lateral("latest")
        )
        coll = (
            select(
                func.sum(func.coalesce(latest.c.value_fen, col(lc.appraised_value_fen))).label("value"),
                sums[1],
                func.min(func.coalesce(latest.c.valuation_date, col(lc.pledge_registered_on))).label("appraised_on"),
            )
            .add_columns(col(lc.loan_id).label("loan_id"))
            .select_from(Loan).join(lc, col(lc.loan_id) == col(Loan.id))
            .join(asset, col(asset.id) == col(lc.ip_asset_id)).outerjoin(latest, true())
            .where(scope, col(lc.pledge_status) != "released")
            .group_by(col(lc.loan_id))
            .subquery()
        )
        on: ColumnElement[bool] = coll.c.loan_id == col(Loan.id)
    else:
        coll = (
            select(col(lc.loan_id).label("loan_id"), *sums)
            .select_from(Loan)
            .join(lc, col(lc.loan_id) == col(Loan.id))
            .join(asset, col(asset.id) == col(lc.ip_asset_id))
            .where(scope, col(lc.pledge_status) != "released")
            .group_by(col(lc.loan_id))
            .subquery()
        )
        on = coll.c.loan_id == col(Loan.id)
    return (
        select(
            col(Loan.id).label("id"), col(Loan.outstanding_fen).label("out"), col(Loan.days_past_due).label("dpd"),
            func.coalesce(coll.c.value, 0).label("value"), func.coalesce(coll.c.lapsed, 0).label("lapsed"),
            coll.c.appraised_on.label("appraised_on"),
        )
        .select_from(Loan)
        .outerjoin(coll, on)
        .where(scope)
    )


def _latest_valuation(asset_id: Any, column: Any) -> Any:
    """``column`` of an asset's latest re-valuation (latest date, then highest id): a correlated seek on the
    covering index (ip_asset_id, valuation_date, id, value_fen), read from the index alone. Not a join on
    the valuation's id: PostgreSQL hashes all 1.7M valuations for that join condition."""
    t = CollateralValuation
    return (
        select(column)
        .where(col(t.ip_asset_id) == asset_id)
        .order_by(col(t.valuation_date).desc(), col(t.id).desc())
        .limit(1)
        .correlate_except(t)
        .scalar_subquery()
    )
