"""Demo data for the pledge tables: the annual re-valuation of live loans' collateral, and for every
live loan the bucket / five-class record and alerts the monitoring job would store on ``as_of``.

The core generator (``api.demo``) already stored each pledged asset's appraisal at pledging.
Re-valuation (assumption, common bank practice): collateral of a live loan whose appraisal is
more than 300 days old is re-valued within the last 300 days with probability 95% (the rest show
"re-valuation due"); the value moves by a lognormal walk, −2%/year drift and 12%·√years spread.

Buckets, classes and alerts come from the pure ``pledge.monitoring.monitor_loan`` with the shipped
default policy (LTV trigger, re-valuation interval), so the demo shows exactly what a monitoring
run on ``as_of`` would store. Loans with nothing to flag (current, fresh valuation, LTV within
the trigger, collateral in force and paid up) are recorded in bulk with the result
``monitor_loan`` gives them; the rest go through ``monitor_loan`` one by one. Each core block is
processed right after it is loaded, from its columns in memory (:func:`on_block`; nothing read
back), with a generator of its own ``(seed, 3, block)``: memory stays flat and the data do not
depend on the insert size.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from api.demo import bulk_insert
from api.pledge.models import (
    Borrower,
    BucketHistory,
    CollateralValuation,
    IPAsset,
    Loan,
    LoanCollateral,
    PledgeAlert,
    PledgeDisposal,
)
from pledge.eligibility import CollateralFacts, LegalStatus, statutory_expiry
from pledge.monitoring import LoanSnapshot, classify_loan, monitor_loan, overdue_bucket
from pledge.policy import default_policy
from valuation.assets import DAYS_PER_YEAR

LIVE = ("active", "overdue", "default", "in_claim", "in_disposal")
REVALUE_AFTER_DAYS = 300
REVALUED_SHARE = 0.95
_PATENTS = ("invention_patent", "utility_model", "design")
"""IP types with an annual fee: ``ip_lapse_alerts`` flags one unpaid."""


def _d(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _revalue(rng: np.random.Generator, as_of: date, assets: list[Any]) -> dict[int, tuple[int, date]]:
    """Re-valuations of a block's collateral: asset id → (value, date)."""
    n = len(assets)
    u, z, back = rng.random(n), rng.standard_normal(n), rng.integers(0, REVALUE_AFTER_DAYS, n)
    if n == 0:
        return {}
    age = (np.datetime64(as_of) - np.array([_d(a.valuation_date) for a in assets], dtype="datetime64[D]")
           ).astype(np.int64)
    pick = np.flatnonzero((age > REVALUE_AFTER_DAYS) & (u < REVALUED_SHARE))
    years = age[pick] / 365.25
    factor = np.exp(-0.02 * years + 0.12 * np.sqrt(years) * z[pick])
    value = np.rint(np.array([int(assets[i].value_fen) for i in pick.tolist()], dtype=np.float64) * factor)
    on = as_of.toordinal() - back[pick]
    return {int(assets[i].id): (int(v), date.fromordinal(int(d)))
            for i, v, d in zip(pick.tolist(), value.tolist(), on.tolist(), strict=True)}


def _facts(a: Any, valued_on: date) -> CollateralFacts:
    return CollateralFacts(
        asset_id=str(a.id), ip_type=str(a.ip_type), registered_owners=("demo",),
        legal_status=LegalStatus(str(a.legal_status)),
        expiry_date=statutory_expiry(str(a.ip_type), _d(a.filing_date) if a.filing_date else None),
        annual_fee_paid_until=_d(a.annual_fee_paid_until) if a.annual_fee_paid_until else None,
        valuation_date=valued_on,
    )


def _rows_of_block(block: dict[str, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """A block's live loans (id, maturity, days past due, outstanding, status) in id order, and their
    registered collateral with the appraisal at pledging in (loan, asset) order, from the block's own
    columns: the rows a query of the block just loaded would return (ints, ``date``, None for no date)."""
    loan, links, ia, cv = (block[k] for k in ("loan", "loan_collateral", "ip_asset", "pledge_collateral_valuation"))
    status = np.asarray(loan["status"]).astype(str)
    live = np.isin(status, LIVE)
    lid = np.asarray(loan["id"], dtype=np.int64)
    loans = list(zip(*(np.asarray(loan[c])[live].tolist() for c in ("id", "maturity_date", "days_past_due",
                                                                       "outstanding_fen")),
                     status[live].tolist(), strict=True))
    loans = [(i, _date(m), d, o, s) for i, m, d, o, s in loans]
    pos = np.searchsorted(lid, np.asarray(links["loan_id"], dtype=np.int64))
    sel = (np.asarray(links["pledge_status"]).astype(str) == "registered") & live[pos]
    asset = np.asarray(links["ip_asset_id"], dtype=np.int64)[sel]
    order = np.lexsort((asset, np.asarray(links["loan_id"])[sel]))
    asset, pos = asset[order], pos[sel][order]
    a = np.searchsorted(np.asarray(ia["id"]), asset)
    v = np.searchsorted(np.asarray(cv["ip_asset_id"]), asset)
    cols = [lid[pos].tolist(), asset.tolist(), *(np.asarray(ia[c])[a].tolist() for c in ("ip_type", "legal_status")),
            *([_date(d) for d in np.asarray(ia[c])[a].tolist()] for c in ("filing_date", "annual_fee_paid_until")),
            *(np.asarray(cv[c])[v].tolist() for c in ("value_fen", "p5_fen")),
            [_date(d) for d in np.asarray(cv["valuation_date"])[v].tolist()], status[pos].tolist()]
    return loans, [_Asset(*r) for r in zip(*cols, strict=True)]


_Asset = namedtuple("_Asset", "loan_id id ip_type legal_status filing_date annual_fee_paid_until value_fen p5_fen "
                              "valuation_date status")
"""A registered asset of a live loan with its appraisal at pledging and the loan's status."""


def _date(v: Any) -> date | None:
    """A numpy day (``datetime64[D]`` made a Python object: ``date``, or None for NaT) as SQLAlchemy returns it."""
    return v if v is None or type(v) is date else _d(v)


def on_block(conn: Connection, ctx: Any, k: int, block: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Re-valuations, bucket records and alerts of core block ``k``'s live loans, right after the block is
    loaded and from its columns in memory (``(seed, 3, k)`` draws; re-valuation ids from
    ``ctx.next_valuation_id`` on, in block order): what reading the block back would give."""
    counts = {"collateral_revaluations": 0, "bucket_records": 0, "pledge_alerts": 0}
    policy = default_policy()
    trigger, interval = policy.ltv_breach_trigger, policy.revaluation_interval_days
    created = datetime.combine(ctx.as_of, time(8, 0), tzinfo=UTC)
    next_val = ctx.state.setdefault("pledge_next_valuation_id", ctx.next_valuation_id)
    rng = np.random.default_rng([ctx.seed, 3, k])
    loans, assets = _rows_of_block(block)
    reval = _revalue(rng, ctx.as_of, assets)
    if reval:
        ids = sorted(reval)
        by_id = {int(a.id): a for a in assets}
        bulk_insert(conn, CollateralValuation, {
            "id": np.arange(next_val, next_val + len(ids)), "ip_asset_id": ids,
            "value_fen": [reval[i][0] for i in ids],
            "p5_fen": [reval[i][0] * int(by_id[i].p5_fen or 0) // max(int(by_id[i].value_fen), 1) for i in ids],
            "score": rng.integers(55, 96, len(ids)), "valuation_date": [reval[i][1] for i in ids],
            "source": ["appraiser"] * len(ids),
            "report_reference": [f"演示评报字[{reval[i][1].year}]第{i:06d}-R号" for i in ids],
        }, ctx.batch, created)
        ctx.state["pledge_next_valuation_id"] = next_val + len(ids)
        counts["collateral_revaluations"] += len(ids)
    if loans:
        history, alerts = _monitor(ctx.as_of, loans, assets, reval, trigger, interval)
        bulk_insert(conn, BucketHistory, history, ctx.batch)
        bulk_insert(conn, PledgeAlert, {**alerts, "created_at": [created] * len(alerts["loan_id"])}, ctx.batch)
        counts["bucket_records"] += len(history["loan_id"])
        counts["pledge_alerts"] += len(alerts["loan_id"])
    return counts


def extend(conn: Connection, ctx: Any) -> dict[str, int]:
    """Disposals of the book's loans in disposal or recovered (monitoring ran block by block: :func:`on_block`)."""
    created = datetime.combine(ctx.as_of, time(8, 0), tzinfo=UTC)
    return _disposals(conn, ctx, created)


DISPOSAL_METHODS = {"auction": 0.45, "sale": 0.15, "agreed_transfer": 0.10, "pledge_to_equity": 0.15,
                    "reverse_licence": 0.10, "licence": 0.05}
"""Shares of the disposal methods (assumption; seed 002 names auction, pledge-to-equity and reverse licensing)."""


def _disposals(conn: Connection, ctx: Any, created: datetime) -> dict[str, int]:
    """A disposal per loan in disposal (started) or recovered (completed, gross proceeds 30–80% of the
    balance at default, costs 5% of them: the risk-sharing demo's recovery assumptions), and for
    each completed one its row in the IP transaction register, as ``record_disposal`` writes it."""
    t, b, lc, ia = (Loan.__table__, Borrower.__table__, LoanCollateral.__table__,  # type: ignore[attr-defined]
                    IPAsset.__table__)  # type: ignore[attr-defined]
    first_asset = select(func.min(lc.c.ip_asset_id)).where(lc.c.loan_id == t.c.id).scalar_subquery()
    rows = conn.execute(
        select(t.c.id, t.c.status, t.c.default_date, t.c.outstanding_fen, t.c.bank_org_id, b.c.region_code,
               b.c.industry, ia.c.id.label("asset_id"), ia.c.ip_type, ia.c.filing_date)
        .join(b, b.c.id == t.c.borrower_id).join(ia, ia.c.id == first_asset)
        .where(t.c.status.in_(("in_disposal", "recovered")), t.c.default_date.is_not(None)).order_by(t.c.id)
    ).all()
    rng = np.random.default_rng([ctx.seed, 4])
    n = len(rows)
    methods = np.array(list(DISPOSAL_METHODS))[rng.choice(len(DISPOSAL_METHODS), n, p=list(DISPOSAL_METHODS.values()))]
    start_after, run, share = rng.integers(120, 240, n), rng.integers(60, 200, n), rng.uniform(0.3, 0.8, n)
    disposals: dict[str, list[Any]] = defaultdict(list)
    completed = []
    next_id = int(conn.execute(select(func.coalesce(func.max(PledgeDisposal.__table__.c.id), 0)))  # type: ignore[attr-defined]
                  .scalar_one()) + 1
    for i, r in enumerate(rows):
        started = min(_d(r.default_date) + timedelta(days=int(start_after[i])), ctx.as_of)
        done = str(r.status) == "recovered"
        on = min(started + timedelta(days=int(run[i])), ctx.as_of) if done else None
        gross = int(int(r.outstanding_fen) * float(share[i])) if done else 0
        did = next_id + i
        cash = [{"on": on.isoformat(), "amount_fen": gross, "description": "demo"}] if on else []
        costs = [{"on": on.isoformat(), "amount_fen": gross // 20, "description": "demo"}] if on else []
        for key, v in (("id", did), ("loan_id", int(r.id)), ("method", str(methods[i])),
                       ("ip_asset_ids", [r.asset_id]), ("started_on", started), ("completed_on", on),
                       ("counterparty", None), ("proceeds", cash), ("costs", costs)):
            disposals[key].append(v)
        if done and gross > 0:
            completed.append((did, r, on, gross, str(methods[i])))
    bulk_insert(conn, PledgeDisposal, dict(disposals), ctx.batch, created)
    return {"pledge_disposals": n, "ip_transactions": _transactions(conn, ctx, completed, created)}


def _transactions(conn: Connection, ctx: Any, completed: list[Any], created: datetime) -> int:
    """Register rows of completed demo disposals (same fields as ``api.transactions.service.record_disposal``)."""
    try:
        from api.transactions.models import IPTransactionRow
        from api.transactions.service import DISPOSAL_PRICING
    except ImportError:  # no transaction register in this build
        return 0
    if not completed:
        return 0
    cv, lc, t = (CollateralValuation.__table__, LoanCollateral.__table__,  # type: ignore[attr-defined]
                 Loan.__table__)  # type: ignore[attr-defined]
    score: dict[Any, Any] = dict(conn.execute(  # the latest valuation's score of each asset of a recovered loan
        select(cv.c.ip_asset_id, cv.c.score).join(lc, lc.c.ip_asset_id == cv.c.ip_asset_id)
        .join(t, t.c.id == lc.c.loan_id).where(t.c.status == "recovered").order_by(cv.c.valuation_date, cv.c.id)
    ).all())
    cols: dict[str, list[Any]] = defaultdict(list)
    for did, r, on, gross, method in completed:
        end = statutory_expiry(str(r.ip_type), _d(r.filing_date) if r.filing_date else None)
        life = None if end is None else min(100.0, (end - on).days / DAYS_PER_YEAR)
        pricing, mode = DISPOSAL_PRICING[method]
        s = score.get(r.asset_id)
        for key, v in (("ref", f"disposal-{did}"), ("kind", "pledge_disposal"), ("price_fen", gross),
                       ("transaction_date", on), ("ip_type", str(r.ip_type)), ("ipc_or_nice_class", ""),
                       ("industry", r.industry), ("region_code", r.region_code), ("pricing_method", pricing.value),
                       ("trading_mode", mode.value), ("remaining_life_years", life if life and life > 0 else None),
                       ("quality_score", float(s) if s is not None and 0 < s <= 100 else None), ("asset_count", 1),
                       ("source", "pledge_disposal"), ("loan_id", int(r.id)), ("disposal_id", did),
                       ("owner_org_id", int(r.bank_org_id))):
            cols[key].append(v)
    return bulk_insert(conn, IPTransactionRow, dict(cols), ctx.batch, created)


def _monitor(as_of: date, loans: list[Any], assets: list[Any], reval: dict[int, tuple[int, date]],
             trigger: Decimal, interval: int) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Bucket records and alerts of one block's live loans, as ``monitor_loan`` gives them.

    A vectorised screen finds the loans ``monitor_loan`` could say anything about (a superset:
    overdue, no or stale valuation, LTV near the trigger, a right not granted, unpaid or
    expiring before maturity); those go through ``monitor_loan``, the rest are current with no alert.
    """
    n = len(loans)
    lid = np.array([r[0] for r in loans], dtype=np.int64)
    maturity = _days_of([_d(r[1]) for r in loans])
    dpd = np.array([int(r[2] or 0) for r in loans], dtype=np.int64)
    out = np.array([int(r[3] or 0) for r in loans], dtype=np.int64)
    pos = np.searchsorted(lid, np.array([int(a.loan_id) for a in assets], dtype=np.int64))
    latest = [reval.get(int(a.id), (int(a.value_fen), _d(a.valuation_date))) for a in assets]
    value = np.bincount(pos, weights=[v for v, _ in latest], minlength=n)
    v_date = _days_of([d for _, d in latest])
    last_val = np.full(n, np.datetime64("2999-12-31"), dtype="datetime64[D]")
    np.minimum.at(last_val, pos, v_date)
    today = np.datetime64(as_of)
    # per asset, vectorised: a right not granted, a patent's fee unpaid (what ``ip_lapse_alerts`` could flag)
    patent = np.array([str(a.ip_type) in _PATENTS for a in assets], dtype=bool)
    paid = _days_of([a.annual_fee_paid_until for a in assets])
    asset_flag = (np.array([str(a.legal_status) != "granted" for a in assets], dtype=bool)
                  | (patent & (np.isnat(paid) | (paid < today))))
    expiry = _days_of([_expiry(a) for a in assets])
    asset_flag |= ~np.isnat(expiry) & (expiry <= maturity[pos] + np.timedelta64(1, "D"))
    flagged = ((dpd > 0) | (np.bincount(pos, minlength=n) == 0) | ((today - last_val).astype(np.int64) >= interval)
               | ((out > 0) & (out >= float(trigger) * value * 0.999)) | (np.bincount(pos, asset_flag, n) > 0))
    clean, klass0 = overdue_bucket(0), classify_loan(0)
    bucket_index = np.full(n, clean.index, dtype=np.int64)
    bucket_label = np.full(n, clean.label, dtype=object)
    loan_class = np.full(n, klass0.value, dtype=object)
    alerts: dict[str, list[Any]] = {k: [] for k in ("loan_id", "ip_asset_id", "code", "severity", "message",
                                                    "as_of", "data")}
    by_loan: dict[int, list[int]] = defaultdict(list)
    for j, p in enumerate(pos.tolist()):
        by_loan[p].append(j)
    for i in np.flatnonzero(flagged).tolist():
        js = by_loan.get(i, [])
        snap = LoanSnapshot(
            loan_id=str(lid[i]), as_of=as_of, maturity=_d(loans[i][1]), days_overdue=int(dpd[i]),
            outstanding_fen=int(out[i]), collateral_value_fen=sum(latest[j][0] for j in js),
            last_valuation_date=min((latest[j][1] for j in js), default=None),
            collateral=tuple(_facts(assets[j], latest[j][1]) for j in js),
        )
        res = monitor_loan(snap, ltv_trigger=trigger, revaluation_interval_days=interval)
        bucket_index[i], bucket_label[i], loan_class[i] = res.bucket.index, res.bucket.label, res.loan_class.value
        for al in res.alerts:
            for key, v in (("loan_id", int(lid[i])), ("ip_asset_id", int(al.asset_id) if al.asset_id else None),
                           ("code", al.code.value), ("severity", al.severity.value), ("message", al.message[:500]),
                           ("as_of", as_of), ("data", dict(al.data))):
                alerts[key].append(v)
    history = {"loan_id": lid, "as_of": np.full(n, today), "days_overdue": dpd, "bucket_index": bucket_index,
               "bucket_label": bucket_label, "loan_class": loan_class}
    return history, alerts


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min


def _days_of(values: list[date | None]) -> np.ndarray:
    """Python dates (None → NaT) as numpy days, by their ordinals (numpy converts ``date`` objects slowly)."""
    return np.array([_NAT if v is None else v.toordinal() - _EPOCH_ORDINAL for v in values],
                    dtype=np.int64).view("datetime64[D]")


def _expiry(a: Any) -> date | None:
    return _expiry_on(str(a.ip_type), a.filing_date)


@cache
def _expiry_on(ip_type: str, filing: Any) -> date | None:
    """``statutory_expiry`` once per (IP type, filing date): a block's assets share a few thousand."""
    return statutory_expiry(ip_type, _d(filing) if filing else None)

