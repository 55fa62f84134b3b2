"""The NPL ratio as a stock at period end (不良率, 存量口径): the book the period end saw.

A period end of today or later uses the loans' current status and outstanding; a past end
reconstructs the loans running then from their dates (definition: ``npl_ratio`` in
:data:`api.stats.definitions.DEFINITIONS`). The schedule arithmetic of a past end runs per
(origination day, term) group, exact to the fen: in Python over the loans' GROUP BY, and in SQL
(integer arithmetic, the same half-up rounding per group) over the rollup's — so only sums per
region come back — with Python's big integers as the fallback for a group past 64 bits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, literal_column, not_, or_, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from api.identity.models import Organisation
from api.pledge.models import Loan
from api.stats import rollup
from api.stats.filters import LIVE_STATUSES, NPL_DAYS_PAST_DUE, NPL_STATUSES, LoanFilter, _int, _where, unindexed
from api.stats.models import LoanRollup
from ipfin import regions

DAYS_PER_MONTH = Fraction(304375, 10000)


"""Average days in a month (365.25 ÷ 12) for the scheduled balance of a past period end."""


@dataclass(frozen=True)
class NplStock:
    """Outstanding and non-performing outstanding at ``as_of`` (the period end), fen."""

    as_of: date
    current: bool
    loan_count: int
    outstanding_fen: int
    npl_count: int
    npl_outstanding_fen: int

    @property
    def npl_ratio(self) -> float | None:
        return self.npl_outstanding_fen / self.outstanding_fen if self.outstanding_fen else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "as_of": self.as_of.isoformat(), "npl_ratio": self.npl_ratio}


def scheduled_balance_fen(amount_fen: int, origination: date, term_months: int, at: date) -> int:
    """Straight-line scheduled principal outstanding at ``at`` (half-up to the fen).

    Integer arithmetic equal to ``amount × clamp(1 − (days ÷ 30.4375) ÷ term, 0, 1)`` rounded half-up
    (30.4375 = :data:`DAYS_PER_MONTH`), without building fractions: it runs once per group and end.
    """
    if term_months <= 0:
        return 0
    den = DAYS_PER_MONTH.numerator * term_months  # remaining = (den − days·q) ÷ den, q = 1/DAYS_PER_MONTH
    num = den - (at - origination).days * DAYS_PER_MONTH.denominator
    num = min(den, max(0, num))
    return (2 * amount_fen * num + den) // (2 * den)


def npl_stock(conn: Connection, org: Organisation, flt: LoanFilter, today: date) -> NplStock:
    """不良率 as a stock at the period end (``flt.date_to``, or ``today`` without one).

    A period end of today or later uses the loans' current status and outstanding; a past end
    reconstructs the book running then (see the ``npl_ratio`` definition).
    """
    return npl_stocks(conn, org, [flt], today)[0]


def _end(flt: LoanFilter, today: date) -> date:
    return flt.date_to if flt.date_to is not None and flt.date_to < today else today


def npl_stocks(conn: Connection, org: Organisation, flts: list[LoanFilter], today: date) -> list[NplStock]:
    """:func:`npl_stock` of several filters that differ only in their dates (this period, the previous,
    a year ago), each distinct end computed once: one query for the current book and ONE scan for
    all past ends together (per-end conditional sums grouped by origination day and term)."""
    if not flts:
        return []
    dims = {replace(f, date_from=None, date_to=None) for f in flts}
    if len(dims) > 1:
        raise ValueError("flts: must differ only in their dates")
    base = dims.pop()
    ends = sorted({_end(f, today) for f in flts})
    past = [e for e in ends if e < today]
    found = _past_stocks(conn, org, base, past) if past else {}
    if ends[-1] >= today:
        found[ends[-1]] = _current_stock(conn, org, base, ends[-1])
    return [found[_end(f, today)] for f in flts]


REGION_LEVELS: tuple[str, ...] = ("province", "city", "county")


def _region_column(level: str) -> Any:
    """The loan column a map level groups by (a city is rolled up from ``region_code`` in Python)."""
    if level not in REGION_LEVELS:
        raise ValueError(f"level: must be one of {', '.join(REGION_LEVELS)}")
    return col(Loan.province_code) if level == "province" else col(Loan.region_code)


def region_key(level: str, value: str) -> str:
    """The map region a grouped value belongs to: the province code itself, the county of a region
    code (a retired code counts in its successor), or the city (地级) of a region code — the same keys as
    the breakdowns and the filters (an unknown code, or a split one without a successor, stays itself)."""
    if level == "province":
        return value
    try:
        return (regions.city_of(value) or value) if level == "city" else regions.normalise(value)
    except ValueError:
        return value


def npl_stock_by_region(
    conn: Connection, org: Organisation, flt: LoanFilter, level: str, today: date
) -> dict[str, NplStock]:
    """:func:`npl_stock` of every region of ``level`` (province, city or county) within ``flt`` in ONE
    query: the stock conditions grouped by the region column as well (the past-end arithmetic then
    runs per region, origination day and term, exactly as for one region). Regions without a loan
    running at the end are absent."""
    column = _region_column(level)
    end = _end(flt, today)
    base = replace(flt, date_from=None, date_to=None)
    if end >= today:
        raw = _current_stock(conn, org, base, end, column)
    else:
        raw = {k: v[end] for k, v in _past_stocks(conn, org, base, [end], column).items()}
    out: dict[str, NplStock] = {}
    for value, st in raw.items():
        key = region_key(level, str(value))
        prev = out.get(key)
        out[key] = st if prev is None else replace(
            prev, loan_count=prev.loan_count + st.loan_count,
            outstanding_fen=prev.outstanding_fen + st.outstanding_fen, npl_count=prev.npl_count + st.npl_count,
            npl_outstanding_fen=prev.npl_outstanding_fen + st.npl_outstanding_fen)
    return out


def _current_stock(
    conn: Connection, org: Organisation, base: LoanFilter, end: date, group: Any = None
) -> Any:
    """The book at today's status: live loans and the non-performing among them (only live loans
    count, so the scan is restricted to live statuses on the covering index ``ix_loan_live``).
    With ``group`` (a loan column): ``{value: NplStock}`` per value of that column."""
    grain = _stock_grain(org, base, group)
    if grain is not None:
        rolled = rollup.current_stock_sums(conn, grain, end, by_key=group is not None)
        found_r = {k: NplStock(end, True, *v) for k, v in rolled.items()}
        return found_r if group is not None else found_r[None]
    where = and_(_where(conn, org, replace(base, date_to=end)), col(Loan.status).in_(LIVE_STATUSES))
    npl = or_(col(Loan.status).in_(NPL_STATUSES), col(Loan.days_past_due) > NPL_DAYS_PAST_DUE)
    sums = [func.count(), func.sum(col(Loan.outstanding_fen)),
            func.sum(case((npl, 1), else_=0)), func.sum(case((npl, col(Loan.outstanding_fen)), else_=0))]
    if group is None:
        n, out, n_npl, out_npl = (_int(v) for v in conn.execute(select(*sums).where(where)).one())
        return NplStock(end, True, n, out, n_npl, out_npl)
    found: dict[Any, NplStock] = {}
    for key, *row in conn.execute(select(group, *sums).where(where).group_by(group)):
        n, out, n_npl, out_npl = (_int(v) for v in row)
        found[key] = NplStock(end, True, n, out, n_npl, out_npl)
    return found


def _past_stocks(
    conn: Connection, org: Organisation, base: LoanFilter, ends: list[date], group: Any = None
) -> Any:
    """The book running at each past end: non-performing (defaulted by then) at the current balance,
    performing at the scheduled balance — one scan over loans maturing after the earliest end.
    ``{end: NplStock}``; with ``group`` (a loan column) ``{value: {end: NplStock}}``, the scheduled
    balances computed per value, origination day and term (so each value's figures equal an
    ungrouped call restricted to that value)."""
    grain = _stock_grain(org, base, group)
    if grain is not None:
        return _past_stocks_rolled(conn, org, base, ends, grain, group)
    where = and_(
        _where(conn, org, base),
        unindexed(col(Loan.origination_date), type_=Loan.__table__.c.origination_date.type) <= max(ends),  # type: ignore[attr-defined]
        col(Loan.maturity_date) > min(ends),
    )
    cols: list[Any] = []
    for end in ends:
        running = and_(col(Loan.origination_date) <= end, col(Loan.maturity_date) > end)
        # non-performing at the end: defaulted by then; a non-performing loan without a recorded
        # default date counts as non-performing throughout (its current status is all that is known)
        no_date_npl = and_(col(Loan.default_date).is_(None), or_(
            col(Loan.status).in_(NPL_STATUSES), col(Loan.days_past_due) > NPL_DAYS_PAST_DUE))
        defaulted = or_(and_(col(Loan.default_date).is_not(None), col(Loan.default_date) <= end), no_date_npl)
        bad, good = and_(running, defaulted), and_(running, not_(defaulted))
        cols += [func.sum(case((bad, 1), else_=0)), func.sum(case((bad, col(Loan.outstanding_fen)), else_=0)),
                 func.sum(case((good, 1), else_=0)), func.sum(case((good, col(Loan.amount_fen)), else_=0))]
    # grouped by ``+origination_date`` on SQLite: grouping by the bare column lets the planner walk the
    # whole (origination_date, province) index for its order and read every row from the table (26 s
    # at 1,000,000 loans) instead of range-scanning the covering index ``ix_loan_stock``
    orig = unindexed(col(Loan.origination_date), type_=Loan.__table__.c.origination_date.type)  # type: ignore[attr-defined]
    keys = [orig, col(Loan.term_months), *([group] if group is not None else [])]
    stmt = select(*keys, *cols).where(where).group_by(*keys)
    accs: dict[Any, dict[date, list[int]]] = {}  # per group: npl count, npl outstanding, loans, outstanding
    first = len(keys)
    for row in conn.execute(stmt):
        d = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
        term = int(row[1])
        acc = accs.setdefault(row[2] if group is not None else None, {end: [0, 0, 0, 0] for end in ends})
        for k, end in enumerate(ends):
            n_bad, out_bad, n_good, amt_good = (_int(v) for v in row[first + 4 * k: first + 4 + 4 * k])
            _add_group(acc[end], n_bad, out_bad, n_good, amt_good, d, term, end)
    return _stocks(accs, ends, group is not None)


def _add_group(
    a: list[int], n_bad: int, out_bad: int, n_good: int, amt_good: int, d: date, term: int, end: date
) -> None:
    """Add one (origination day, term) group running at ``end`` to the accumulator [npl count, npl
    outstanding, loans, outstanding]: non-performing at their balance, performing at the scheduled one."""
    a[0] += n_bad
    a[1] += out_bad
    a[2] += n_bad + n_good
    a[3] += out_bad + (scheduled_balance_fen(amt_good, d, term, end) if n_good else 0)


def _stocks(accs: dict[Any, dict[date, list[int]]], ends: list[date], grouped: bool) -> Any:
    found = {g: {end: NplStock(end, False, a[2], a[3], a[0], a[1]) for end, a in acc.items()}
             for g, acc in accs.items()}
    if grouped:
        return found
    return found.get(None) or {end: NplStock(end, False, 0, 0, 0, 0) for end in ends}


def _stock_grain(org: Organisation, base: LoanFilter, group: Any) -> tuple[str, str | None] | None:
    """The rollup rows of a stock: the scope's grain, or per province (every key of the province
    grain, narrowed to a province scope) when grouped by province; None → from the loans."""
    grain = rollup.grain_of(org, base)
    if grain is None or group is None:
        return grain
    if group is col(Loan.province_code) and grain[0] in ("all", "province"):
        return ("province", grain[1] if grain[0] == "province" else None)
    return None


def _past_stocks_rolled(
    conn: Connection, org: Organisation, base: LoanFilter, ends: list[date], grain: tuple[str, str | None],
    group: Any,
) -> Any:
    """:func:`_past_stocks` from the rollup, summed in SQL: the running book per (origination day, term)
    from ``loan_rollup`` less the loans defaulted by each end (read from the loans through the index of
    default dates), each group's scheduled balance computed — and rounded half-up per group — in the
    database with the integer arithmetic of :func:`scheduled_balance_fen`, so only the sums per key come
    back. Falls back to :func:`_past_stocks_rolled_py` (same figures, big integers in Python) when a
    group's principal is too large for 64-bit arithmetic, or on a dialect without a day-number SQL."""
    accs = _rolled_sums_sql(conn, org, base, ends, grain, group)
    if accs is None:
        return _past_stocks_rolled_py(conn, org, base, ends, grain, group)
    return _stocks(accs, ends, group is not None)


def _defaulted_by_end(conn: Connection, org: Organisation, base: LoanFilter, ends: list[date], group: Any) -> Any:
    """SELECT of the loans defaulted by each end (and running then) per (origination day, term[, group]):
    per end their count, outstanding and principal (fen), labelled ``nd{k}``, ``od{k}``, ``ad{k}``."""
    orig = unindexed(col(Loan.origination_date), type_=Loan.__table__.c.origination_date.type)  # type: ignore[attr-defined]
    keys = [orig.label("orig"), col(Loan.term_months).label("term"),
            *([group.label("gkey")] if group is not None else [])]
    cols: list[Any] = []
    for k, end in enumerate(ends):
        hit = and_(col(Loan.origination_date) <= end, col(Loan.maturity_date) > end, col(Loan.default_date) <= end)
        cols += [cast(func.sum(case((hit, v), else_=0)), BigInteger).label(f"{a}{k}")
                 for a, v in (("nd", 1), ("od", col(Loan.outstanding_fen)), ("ad", col(Loan.amount_fen)))]
    return (select(*keys, *cols)
            .where(_where(conn, org, base), col(Loan.default_date).is_not(None),
                   col(Loan.default_date) <= max(ends), orig <= max(ends),
                   unindexed(col(Loan.maturity_date), type_=Loan.__table__.c.maturity_date.type) > min(ends))  # type: ignore[attr-defined]
            .group_by(*[c.element for c in keys]))


_EPOCH = date(1970, 1, 1)
_DAY_NUMBER_SQL: dict[str, str] = {
    "postgresql": "(loan_rollup.origination_date - DATE '1970-01-01')",
    "sqlite": "CAST(julianday(loan_rollup.origination_date) - 2440587.5 AS INTEGER)",
}
"""Dialect → SQL of ``loan_rollup.origination_date`` as days since 1970-01-01 (exact integers)."""

BIGINT_MAX = 2**63 - 1


def _group_constants(day_sql: str) -> list[Any]:
    """Columns of a rollup group (origination day, term) computed once per group: ``day`` (days since
    1970-01-01), ``den`` = 487 × term (30.4375 = 487/16 days a month, :data:`DAYS_PER_MONTH`) and ``lim``,
    the largest performing principal (fen) whose 2 × amt × den + den fits in a signed 64-bit integer."""
    term = "loan_rollup.term_months"
    den = f"({DAYS_PER_MONTH.numerator} * {term})"
    lim = f"CASE WHEN {term} > 0 THEN ({BIGINT_MAX} - {den}) / (2 * {den}) ELSE 0 END"
    return [literal_column(day_sql).label("day"), literal_column(den).label("den"), literal_column(lim).label("lim")]


def _scheduled_sql(g: str, k: int, end: date) -> tuple[str, str]:
    """SQL of :func:`scheduled_balance_fen` of group row ``g`` at ``end`` (the ``k``-th end: performing
    principal ``ag{k}``, loans ``n{k}``, non-performing ``nb{k}``), and SQL of 1 when the group cannot be
    computed exactly in 64-bit integers (its balance SQL then gives 0 and the caller must not use it).

    Integer arithmetic, as in Python: num = den − 16 × days clamped to [0, den], balance =
    (2 × amt × num + den) div (2 × den) — half-up per group. Only a principal in [0, lim] is computed, so
    nothing overflows and nothing negative is divided (SQL's integer ``/`` truncates, Python's ``//`` floors)."""
    raw = f"({g}.den - ({(end - _EPOCH).days} - {g}.day) * {DAYS_PER_MONTH.denominator})"
    num = f"(CASE WHEN {raw} < 0 THEN 0 WHEN {raw} > {g}.den THEN {g}.den ELSE {raw} END)"
    amt, used = f"{g}.ag{k}", f"({g}.n{k} <> {g}.nb{k} AND {g}.den > 0)"  # Python: `if n_good`, term > 0
    outside = f"({amt} < 0 OR {amt} > {g}.lim)"
    balance = f"CASE WHEN NOT {used} OR {outside} THEN 0 ELSE (2 * {amt} * {num} + {g}.den) / (2 * {g}.den) END"
    return balance, f"CASE WHEN {used} AND {outside} THEN 1 ELSE 0 END"


def _rolled_sums_sql(
    conn: Connection, org: Organisation, base: LoanFilter, ends: list[date], grain: tuple[str, str | None],
    group: Any,
) -> dict[Any, dict[date, list[int]]] | None:
    """Per key (None without ``group``) and end: [npl count, npl outstanding, loans, outstanding] (fen) in
    ONE statement — rollup groups LEFT JOINed to the defaulted loans' groups, summed per key. None when a
    group's principal is outside [0, 2^63 / (2 × den)) or the dialect has no day-number SQL."""
    day = _DAY_NUMBER_SQL.get(conn.dialect.name)
    if day is None:
        return None
    R = LoanRollup.__table__  # type: ignore[attr-defined]
    by_key = group is not None
    name, key = grain
    rcols: list[Any] = []
    for k, end in enumerate(ends):
        running = and_(R.c.origination_date <= end, R.c.maturity_date > end)
        rcols += [cast(func.sum(case((running, R.c[c]), else_=0)), BigInteger).label(f"{a}{k}")
                  for a, c in (("n", "loan_count"), ("amt", "amount_fen"), ("nu", "undated_npl_count"),
                               ("ou", "undated_npl_outstanding_fen"), ("au", "undated_npl_amount_fen"))]
    rkeys = [*([R.c.grain_key] if by_key else []), R.c.origination_date, R.c.term_months]  # the primary key's order
    r = (select(R.c.origination_date.label("orig"), R.c.term_months.label("term"),
                *([R.c.grain_key.label("gkey")] if by_key else []), *_group_constants(day), *rcols)
         .where(R.c.grain == name, *([R.c.grain_key == key] if key is not None else []),
                R.c.origination_date <= max(ends), R.c.maturity_date > min(ends), R.c.loan_count > 0)
         .group_by(*rkeys).subquery("r0"))
    d = _defaulted_by_end(conn, org, base, ends, group).subquery("d")
    # ``+r0.orig`` on SQLite: both sides then compare without affinity, so the automatic index on d covers
    # the origination day too (with NUMERIC affinity on one side only it covers term and key alone: 10× slower)
    orig = unindexed(r.c.orig, type_=R.c.origination_date.type)
    on = and_(orig == d.c.orig, r.c.term == d.c.term, *([r.c.gkey == d.c.gkey] if by_key else []))
    per_group = [*([r.c.gkey] if by_key else []), r.c.day, r.c.den, r.c.lim]
    for k in range(len(ends)):
        per_group += [r.c[f"n{k}"],
                      (r.c[f"nu{k}"] + func.coalesce(d.c[f"nd{k}"], 0)).label(f"nb{k}"),
                      (r.c[f"ou{k}"] + func.coalesce(d.c[f"od{k}"], 0)).label(f"ob{k}"),
                      (r.c[f"amt{k}"] - r.c[f"au{k}"] - func.coalesce(d.c[f"ad{k}"], 0)).label(f"ag{k}")]
    g = select(*per_group).select_from(r.outerjoin(d, on)).subquery("g")
    sums: list[Any] = []
    for k, end in enumerate(ends):
        balance_sql, unsafe_sql = _scheduled_sql("g", k, end)
        sums += [func.sum(g.c[f"n{k}"]), func.sum(g.c[f"nb{k}"]), func.sum(g.c[f"ob{k}"]),
                 func.sum(literal_column(balance_sql)), func.sum(literal_column(unsafe_sql))]
    stmt = select(*([g.c.gkey] if by_key else []), *sums).select_from(g)
    if by_key:
        stmt = stmt.group_by(g.c.gkey)
    accs: dict[Any, dict[date, list[int]]] = {}
    first = 1 if by_key else 0
    for row in conn.execute(stmt):
        if not by_key and row[0] is None:
            continue  # no group at all: the empty book
        acc = accs.setdefault(row[0] if by_key else None, {})
        for k, end in enumerate(ends):
            n, n_bad, out_bad, balance, unsafe = (_int(v) for v in row[first + 5 * k: first + 5 * k + 5])
            if unsafe:
                return None
            acc[end] = [n_bad, out_bad, n, out_bad + balance]
    return accs


def _past_stocks_rolled_py(
    conn: Connection, org: Organisation, base: LoanFilter, ends: list[date], grain: tuple[str, str | None],
    group: Any,
) -> Any:
    """:func:`_past_stocks_rolled` with the per-group arithmetic in Python (big integers): the running
    book per (origination day, term) from ``loan_rollup`` less the loans defaulted by each end, every
    group's scheduled balance rounded per group — exactly the loans' query's figures."""
    rows = rollup.running_sums(conn, grain, ends, by_key=group is not None)
    bad: dict[tuple[Any, ...], list[int]] = {}
    n_keys = 3 if group is not None else 2
    for row in conn.execute(_defaulted_by_end(conn, org, base, ends, group)):
        d = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
        bad[(d, int(row[1]), *row[2:n_keys])] = [_int(v) for v in row[n_keys:]]
    accs: dict[Any, dict[date, list[int]]] = {}
    for key, v in rows.items():
        d = key[0] if isinstance(key[0], date) else date.fromisoformat(str(key[0]))
        term = int(key[1])
        b = bad.get((d, term, *key[2:]), [0] * (3 * len(ends)))
        acc = accs.setdefault(key[2] if group is not None else None, {end: [0, 0, 0, 0] for end in ends})
        for k, end in enumerate(ends):
            n_all, amt_all, n_und, out_und, amt_und = v[5 * k: 5 * k + 5]
            n_def, out_def, amt_def = b[3 * k: 3 * k + 3]
            if not n_all:
                continue
            n_bad = n_und + n_def
            _add_group(acc[end], n_bad, out_und + out_def, n_all - n_bad, amt_all - amt_und - amt_def, d, term, end)
    return _stocks(accs, ends, group is not None)
