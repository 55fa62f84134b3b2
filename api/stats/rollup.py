"""The statistics rollup (汇总表): loan sums per day kept in step with every write by triggers.

The bureau overview at national scale cannot scan a million loans per callback, so the figures that
add up — financing, inclusive loans, vintage defaults, the current book, the running book at a past
period end — are read from :class:`api.stats.models.LoanRollup`: per grain (``all``, one of the
dimensions ``province``, ``industry``, ``ip_type``, ``bank``, or a pair of them — a scope and a filter,
or two filters: :data:`PAIRS`), origination day, term and maturity; pledge registrations from
:class:`api.stats.models.RegistrationRollup`, per grain and day.
Database triggers on ``loan`` and ``loan_collateral`` (SQLite and PostgreSQL, installed by migration
``0016_loan_rollup``, with the pairs by ``0018_rollup_pairs``) take a row's old contribution out and put
its new one in, in the same transaction as the write, so every path that changes a loan — API, jobs,
bulk loads, a SQL console — keeps them exact (``ipfin db check-rollups`` verifies, ``rebuild-rollups`` repairs).

Each metric is defined once, in :data:`METRICS`, as SQL over one loan row; the triggers and
:func:`rebuild` are generated from it, and ``tests/api/test_rollup.py`` checks after every kind of
write that the table equals :func:`rebuild`'s GROUP BY over the loans and that every figure read
through it equals the same figure computed from the loans (:func:`raw_queries`).

Figures that do not add up stay on the loans: distinct enterprises, region (city/county) filters,
three or more dimensions at once, other inclusive thresholds, and the loans defaulted by a past date.
Grouped readings under a pair (the NPL map per province of a bank's industry) stay on the loans too:
``api.stats.stock`` groups only the ``province`` grain's keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select, text, true
from sqlalchemy.engine import Connection

from api.identity.models import Organisation, OrgKind
from api.stats.filters import FUNDED_STATUSES, LIVE_STATUSES, NPL_DAYS_PAST_DUE, NPL_STATUSES, LoanFilter
from api.stats.models import LoanRollup, RegistrationRollup
from ipfin import regions

TABLE = "loan_rollup"

DIMENSIONS: dict[str, str] = {
    "province": "{r}.province_code",
    "industry": "{r}.industry",
    "ip_type": "{r}.primary_ip_type",
    "bank": "CAST({r}.bank_org_id AS TEXT)",
}
"""Dimension → SQL of its value over a loan row ``{r}``, in canonical order (a pair's first, then second)."""

SEPARATOR = "|"
"""Between a pair grain's two values in ``grain_key`` (``"C|12"``): in no province code, GB/T 4754 section,
IP type or organisation id."""

PAIRS: dict[str, tuple[str, str]] = {
    "prov+ind": ("province", "industry"), "prov+ip": ("province", "ip_type"), "prov+bank": ("province", "bank"),
    "ind+ip": ("industry", "ip_type"), "ind+bank": ("industry", "bank"), "ip+bank": ("ip_type", "bank"),
}
"""Two-dimension grain (a name of at most 10 characters: the ``grain`` column) → its dimensions in canonical
order; its key is their values joined by :data:`SEPARATOR`."""

ONE_DIMENSION_GRAINS: dict[str, str] = {"all": "''", **DIMENSIONS}
"""The grains before the pairs (migration ``0016_loan_rollup``; ``0018_rollup_pairs``' downgrade)."""

PAIR_GRAINS: dict[str, str] = {
    g: f"{DIMENSIONS[a]} || '{SEPARATOR}' || {DIMENSIONS[b]}" for g, (a, b) in PAIRS.items()
}

GRAINS: dict[str, str] = {**ONE_DIMENSION_GRAINS, **PAIR_GRAINS}
"""Grain → SQL of its key over a loan row ``{r}``."""

INCLUSIVE_COLUMNS: dict[int, tuple[str, str]] = {
    10_000_000: ("inclusive_10m_count", "inclusive_10m_amount_fen"),
    20_000_000: ("inclusive_20m_count", "inclusive_20m_amount_fen"),
}
"""Inclusive-loan thresholds (CNY) the rollup holds → (count, amount) columns."""

KEY_COLUMNS: tuple[str, ...] = ("grain", "grain_key", "origination_date", "term_months", "maturity_date")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


_LIVE = "{r}.status IN " + _in(LIVE_STATUSES)
_NPL = f"({{r}}.status IN {_in(NPL_STATUSES)} OR {{r}}.days_past_due > {NPL_DAYS_PAST_DUE})"
_UNDATED_NPL = f"{{r}}.default_date IS NULL AND {_NPL}"


def _if(cond: str, value: str = "1") -> str:
    return f"CASE WHEN {cond} THEN {value} ELSE 0 END"


METRICS: dict[str, str] = {
    "loan_count": "1",
    "amount_fen": "{r}.amount_fen",
    "outstanding_fen": "{r}.outstanding_fen",
    **{c: _if(f"{{r}}.amount_fen <= {cny * 100}") for cny, (c, _) in INCLUSIVE_COLUMNS.items()},
    **{a: _if(f"{{r}}.amount_fen <= {cny * 100}", "{r}.amount_fen") for cny, (_, a) in INCLUSIVE_COLUMNS.items()},
    "defaulted_count": _if("{r}.default_date IS NOT NULL"),
    "defaulted_amount_fen": _if("{r}.default_date IS NOT NULL", "{r}.amount_fen"),
    "live_count": _if(_LIVE),
    "live_outstanding_fen": _if(_LIVE, "{r}.outstanding_fen"),
    "npl_count": _if(f"{_LIVE} AND {_NPL}"),
    "npl_outstanding_fen": _if(f"{_LIVE} AND {_NPL}", "{r}.outstanding_fen"),
    "undated_npl_count": _if(_UNDATED_NPL),
    "undated_npl_outstanding_fen": _if(_UNDATED_NPL, "{r}.outstanding_fen"),
    "undated_npl_amount_fen": _if(_UNDATED_NPL, "{r}.amount_fen"),
}
"""Metric column → SQL of one funded loan's contribution (``{r}`` is the loan row)."""

COUNTED = "{r}.status IN " + _in(FUNDED_STATUSES)
"""Which loans the rollup counts: funded ones (the figures' ``FUNDED_STATUSES``)."""

LOAN_COLUMNS: tuple[str, ...] = (
    "status", "amount_fen", "outstanding_fen", "days_past_due", "default_date", "origination_date",
    "term_months", "maturity_date", "province_code", "industry", "primary_ip_type", "bank_org_id",
)
"""The loan columns the rollup reads: an UPDATE of any other column fires no trigger."""


def _contribution_changed(distinct: str) -> str:
    """SQL true when an UPDATE changes a loan's contribution: a column the rollup reads, or whether it
    has a default date or is over 90 days past due (``distinct`` is the dialect's null-safe ≠) — so
    the daily days-past-due updates of monitoring cost nothing until a loan crosses the threshold."""
    plain = [c for c in LOAN_COLUMNS if c not in ("default_date", "days_past_due")]
    return " OR ".join([
        *(f"OLD.{c} {distinct} NEW.{c}" for c in plain),
        f"(OLD.default_date IS NULL) {distinct} (NEW.default_date IS NULL)",
        f"(OLD.days_past_due > {NPL_DAYS_PAST_DUE}) {distinct} (NEW.days_past_due > {NPL_DAYS_PAST_DUE})",
    ])


def _contribution_of(r: str, sign: str, grains_of: Mapping[str, str] = GRAINS) -> str:
    """INSERT … ON CONFLICT adding ``sign`` × the contribution of loan row ``r`` to every grain."""
    grains = " UNION ALL ".join(f"SELECT '{g}' AS grain, {k.format(r=r)} AS grain_key" for g, k in grains_of.items())
    metrics = ", ".join(f"{sign}({m.format(r=r)})" for m in METRICS.values())
    updates = ", ".join(f"{c} = {TABLE}.{c} + excluded.{c}" for c in METRICS)
    return (
        f"INSERT INTO {TABLE} ({', '.join(KEY_COLUMNS)}, {', '.join(METRICS)}) "
        f"SELECT g.grain, g.grain_key, {r}.origination_date, {r}.term_months, {r}.maturity_date, {metrics} "
        f"FROM ({grains}) AS g WHERE {COUNTED.format(r=r)} "
        f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET {updates}"
    )


def trigger_ddl(dialect: str, grains: Mapping[str, str] = GRAINS) -> list[str]:
    """The statements creating the triggers that keep ``loan_rollup`` in step with ``loan`` (``grains``)."""

    def _contribution(r: str, sign: str) -> str:
        return _contribution_of(r, sign, grains)

    if dialect == "sqlite":
        cols = ", ".join(LOAN_COLUMNS)
        return [
            f"CREATE TRIGGER trg_loan_rollup_insert AFTER INSERT ON loan BEGIN {_contribution('NEW', '+')}; END",
            f"CREATE TRIGGER trg_loan_rollup_update AFTER UPDATE OF {cols} ON loan "
            f"WHEN {_contribution_changed('IS NOT')} BEGIN "
            f"{_contribution('OLD', '-')}; {_contribution('NEW', '+')}; END",
            f"CREATE TRIGGER trg_loan_rollup_delete AFTER DELETE ON loan BEGIN {_contribution('OLD', '-')}; END",
        ]
    if dialect == "postgresql":
        changed = _contribution_changed("IS DISTINCT FROM")
        return [
            "CREATE OR REPLACE FUNCTION loan_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_contribution('OLD', '-')}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_contribution('NEW', '+')}; END IF; "
            "RETURN NULL; END $$",
            "CREATE TRIGGER trg_loan_rollup_insert_delete AFTER INSERT OR DELETE ON loan "
            "FOR EACH ROW EXECUTE FUNCTION loan_rollup_apply()",
            f"CREATE TRIGGER trg_loan_rollup_update AFTER UPDATE OF {', '.join(LOAN_COLUMNS)} ON loan "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION loan_rollup_apply()",
        ]
    raise ValueError(f"dialect: no rollup triggers for {dialect!r}")


def drop_trigger_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS trg_loan_rollup_{op}" for op in ("insert", "update", "delete")]
    return ["DROP TRIGGER IF EXISTS trg_loan_rollup_insert_delete ON loan",
            "DROP TRIGGER IF EXISTS trg_loan_rollup_update ON loan", "DROP FUNCTION IF EXISTS loan_rollup_apply()"]


REG_TABLE = "registration_rollup"
REG_METRICS: tuple[str, ...] = ("registration_count", "pledged_value_fen", "loan_count", "amount_fen")
REG_KEY_COLUMNS: tuple[str, ...] = ("grain", "grain_key", "registered_on")
REG_LOAN_COLUMNS: tuple[str, ...] = ("status", "amount_fen", "province_code", "industry", "primary_ip_type",
                                     "bank_org_id")
REG_COLLATERAL_COLUMNS: tuple[str, ...] = ("loan_id", "pledge_registered_on", "appraised_value_fen")


def _registration_select(
    loan: str, loan_id: str | None, sign: str = "", aggregate: bool = False, only_if: str = "",
    source: str = "loan_collateral", grains_of: Mapping[str, str] = GRAINS,
) -> str:
    """SELECT of loans' registration contributions per grain and day: of loan row ``loan`` (NEW/OLD in a
    trigger on ``loan``), else of the loan with id ``loan_id`` joined as L (a trigger on the collateral),
    else of every loan summed (``aggregate``, the rebuild)."""
    key = "CASE g.grain " + " ".join(f"WHEN '{g}' THEN {k.format(r=loan)}" for g, k in grains_of.items()) + " END"
    grains = " UNION ALL ".join(f"SELECT '{g}' AS grain" for g in grains_of)
    which = f" AND lc.loan_id {loan_id}" if loan_id else ""
    firsts = (f"SELECT lc.loan_id, MIN(lc.pledge_registered_on) AS first_day FROM {source} lc "
              f"WHERE lc.pledge_registered_on IS NOT NULL{which} GROUP BY lc.loan_id")
    per_loan = (  # per loan and registration day, with the loan's first registration day (joined: one pass)
        "SELECT lc.loan_id, lc.pledge_registered_on AS day, COUNT(*) AS n, "
        "COALESCE(SUM(lc.appraised_value_fen), 0) AS v, f.first_day "
        f"FROM {source} lc JOIN ({firsts}) AS f ON f.loan_id = lc.loan_id "
        f"WHERE lc.pledge_registered_on IS NOT NULL{which} "
        "GROUP BY lc.loan_id, lc.pledge_registered_on, f.first_day"
    )
    first = "c.day = c.first_day"
    values = [f"{sign}(c.n)", f"{sign}(c.v)", f"{sign}({_if(first)})", f"{sign}({_if(first, f'{loan}.amount_fen')})"]
    if aggregate:
        values = [f"SUM({v})" for v in values]
    join = f"JOIN loan AS {loan} ON {loan}.id = c.loan_id " if loan == "L" else ""
    return (f"SELECT g.grain, {key}, c.day, {', '.join(values)} FROM ({per_loan}) AS c {join}"
            f"CROSS JOIN ({grains}) AS g WHERE {COUNTED.format(r=loan)}{f' AND {only_if}' if only_if else ''}"
            + (f" GROUP BY g.grain, {key}, c.day" if aggregate else ""))


def _registration_upsert(select_sql: str) -> str:
    updates = ", ".join(f"{c} = {REG_TABLE}.{c} + excluded.{c}" for c in REG_METRICS)
    return (f"INSERT INTO {REG_TABLE} ({', '.join(REG_KEY_COLUMNS)}, {', '.join(REG_METRICS)}) {select_sql} "
            f"ON CONFLICT ({', '.join(REG_KEY_COLUMNS)}) DO UPDATE SET {updates}")


def registration_trigger_ddl(dialect: str, grains: Mapping[str, str] = GRAINS) -> list[str]:
    """Triggers keeping ``registration_rollup`` exact: before a change to a loan or its collateral the
    loan's whole contribution is taken out, after it put back as it now is (a loan has a few assets).
    On PostgreSQL the collateral's are statement-level, the loans' before/after sets rebuilt from the
    transition tables (its AFTER ROW triggers run at the statement's end, not after each row)."""

    def _registration_of(loan: str, loan_id: str | None, sign: str, only_if: str = "") -> str:
        return _registration_upsert(_registration_select(loan, loan_id, sign, only_if=only_if, grains_of=grains))

    loan_cols, coll_cols = ", ".join(REG_LOAN_COLUMNS), ", ".join(REG_COLLATERAL_COLUMNS)
    out_old, in_new = _registration_of("L", "= OLD.loan_id", "-"), _registration_of("L", "= OLD.loan_id", "+")
    moved = "NEW.loan_id <> OLD.loan_id"
    if dialect == "sqlite":
        def trig(name: str, when: str, body: list[str]) -> str:
            return f"CREATE TRIGGER trg_reg_{name} {when} BEGIN {'; '.join(body)}; END"

        before, after = f"BEFORE UPDATE OF {loan_cols} ON loan", f"AFTER UPDATE OF {loan_cols} ON loan"
        return [
            trig("loan_insert", "AFTER INSERT ON loan", [_registration_of("NEW", "= NEW.id", "+")]),
            trig("loan_update_before", before, [_registration_of("OLD", "= OLD.id", "-")]),
            trig("loan_update_after", after, [_registration_of("NEW", "= NEW.id", "+")]),
            trig("loan_delete", "BEFORE DELETE ON loan", [_registration_of("OLD", "= OLD.id", "-")]),
            trig("coll_insert_before", "BEFORE INSERT ON loan_collateral",
                 [_registration_of("L", "= NEW.loan_id", "-")]),
            trig("coll_insert_after", "AFTER INSERT ON loan_collateral", [_registration_of("L", "= NEW.loan_id", "+")]),
            trig("coll_update_before", f"BEFORE UPDATE OF {coll_cols} ON loan_collateral",
                 [out_old, _registration_of("L", "= NEW.loan_id", "-", only_if=moved)]),
            trig("coll_update_after", f"AFTER UPDATE OF {coll_cols} ON loan_collateral",
                 [in_new, _registration_of("L", "= NEW.loan_id", "+", only_if=moved)]),
            trig("coll_delete_before", "BEFORE DELETE ON loan_collateral", [out_old]),
            trig("coll_delete_after", "AFTER DELETE ON loan_collateral", [in_new]),
        ]
    if dialect == "postgresql":
        loan_fn = (
            "CREATE OR REPLACE FUNCTION registration_rollup_loan() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_WHEN = 'BEFORE' AND TG_OP <> 'INSERT' THEN {_registration_of('OLD', '= OLD.id', '-')}; END IF; "
            f"IF TG_WHEN = 'AFTER' AND TG_OP <> 'DELETE' THEN {_registration_of('NEW', '= NEW.id', '+')}; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$"
        )
        # collateral: statement-level with transition tables (PostgreSQL defers AFTER ROW triggers to the
        # statement's end, so a statement touching several assets of a loan needs the before/after sets)
        before_sets = {"INSERT": "(SELECT * FROM loan_collateral WHERE id NOT IN (SELECT id FROM new_rows))",
                       "DELETE": "(SELECT * FROM loan_collateral UNION ALL SELECT * FROM old_rows)",
                       "UPDATE": "(SELECT * FROM loan_collateral WHERE id NOT IN (SELECT id FROM new_rows) "
                                 "UNION ALL SELECT * FROM old_rows)"}
        touched = {"INSERT": "SELECT loan_id FROM new_rows", "DELETE": "SELECT loan_id FROM old_rows",
                   "UPDATE": "SELECT loan_id FROM new_rows UNION SELECT loan_id FROM old_rows"}
        coll_fns = []
        for op_, src in before_sets.items():
            loans = f"IN ({touched[op_]})"
            out_ = _registration_upsert(_registration_select("L", loans, "-", aggregate=True, source=src,
                                                             grains_of=grains))
            in_ = _registration_upsert(_registration_select("L", loans, "+", aggregate=True, grains_of=grains))
            coll_fns.append(
                f"CREATE OR REPLACE FUNCTION registration_rollup_collateral_{op_.lower()}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN {out_}; {in_}; RETURN NULL; END $$")
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in REG_LOAN_COLUMNS)
        out = [loan_fn, *coll_fns]
        for when in ("BEFORE", "AFTER"):
            w = when.lower()
            out += [
                f"CREATE TRIGGER trg_reg_loan_{w} {when} INSERT OR DELETE ON loan FOR EACH ROW "
                "EXECUTE FUNCTION registration_rollup_loan()",
                f"CREATE TRIGGER trg_reg_loan_update_{w} {when} UPDATE OF {loan_cols} ON loan FOR EACH ROW "
                f"WHEN ({changed}) EXECUTE FUNCTION registration_rollup_loan()",
            ]
        refs = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
                "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
        for op_, ref in refs.items():
            out.append(f"CREATE TRIGGER trg_reg_coll_{op_.lower()} AFTER {op_} ON loan_collateral REFERENCING {ref} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION registration_rollup_collateral_{op_.lower()}()")
        return out
    raise ValueError(f"dialect: no rollup triggers for {dialect!r}")


def drop_registration_trigger_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        names = ("loan_insert", "loan_update_before", "loan_update_after", "loan_delete", "coll_insert_before",
                 "coll_insert_after", "coll_update_before", "coll_update_after", "coll_delete_before",
                 "coll_delete_after")
        return [f"DROP TRIGGER IF EXISTS trg_reg_{n}" for n in names]
    out = []
    for w in ("before", "after"):
        out += [f"DROP TRIGGER IF EXISTS trg_reg_loan_{w} ON loan",
                f"DROP TRIGGER IF EXISTS trg_reg_loan_update_{w} ON loan"]
    for op_ in ("insert", "update", "delete"):
        out += [f"DROP TRIGGER IF EXISTS trg_reg_coll_{op_} ON loan_collateral",
                f"DROP FUNCTION IF EXISTS registration_rollup_collateral_{op_}()"]
    return [*out, "DROP FUNCTION IF EXISTS registration_rollup_loan()"]


def rebuild_sql(grain: str) -> str:
    """INSERT … SELECT of one grain's rows from the loans (the definition the triggers maintain)."""
    key = GRAINS[grain].format(r="loan")
    sums = ", ".join(f"SUM({m.format(r='loan')})" for m in METRICS.values())
    return (
        f"INSERT INTO {TABLE} ({', '.join(KEY_COLUMNS)}, {', '.join(METRICS)}) "
        f"SELECT '{grain}', {key}, loan.origination_date, loan.term_months, loan.maturity_date, {sums} "
        f"FROM loan WHERE {COUNTED.format(r='loan')} "
        f"GROUP BY {key + ', ' if grain != 'all' else ''}loan.origination_date, loan.term_months, loan.maturity_date"
    )


def rebuild_statements(grains: Mapping[str, str] = GRAINS) -> list[str]:
    """The SQL :func:`rebuild` runs, in order: the rollups' definition as the loans' GROUP BYs — of every
    grain, or of ``grains`` only (their rows replaced, the other grains' kept)."""
    only = "" if set(grains) == set(GRAINS) else f" WHERE grain IN {_in(tuple(grains))}"
    return [f"DELETE FROM {TABLE}{only}", *(rebuild_sql(grain) for grain in grains), f"DELETE FROM {REG_TABLE}{only}",
            _registration_upsert(_registration_select("L", None, aggregate=True, grains_of=grains))]


def rebuild(conn: Connection, grains: Mapping[str, str] = GRAINS) -> None:
    """Recompute both rollups from the loans (migration backfill; after a bulk load without triggers);
    ``grains``: only those grains' rows."""
    for stmt in rebuild_statements(grains):
        conn.execute(text(stmt))


def snapshot(conn: Connection) -> list[tuple[Any, ...]]:
    """Both rollups' non-empty rows in key order (an emptied group, all sums 0, is left out)."""
    cols = ", ".join((*KEY_COLUMNS, *METRICS))
    reg = ", ".join((*REG_KEY_COLUMNS, *REG_METRICS))
    loans = conn.execute(text(f"SELECT {cols} FROM {TABLE} WHERE loan_count <> 0 ORDER BY {', '.join(KEY_COLUMNS)}"))
    regs = conn.execute(text(f"SELECT {reg} FROM {REG_TABLE} WHERE registration_count <> 0 "
                             f"ORDER BY {', '.join(REG_KEY_COLUMNS)}"))
    return [tuple(r) for r in loans] + [tuple(r) for r in regs]


def differences(conn: Connection) -> list[tuple[Any, ...]]:
    """Rows where the maintained rollups differ from a rebuild from the loans (empty: exact). The
    rebuild runs in a savepoint rolled back afterwards, so nothing changes (``ipfin db check-rollups``)."""
    kept = snapshot(conn)
    savepoint = conn.begin_nested()
    try:
        rebuild(conn)
        rebuilt = snapshot(conn)
    finally:
        savepoint.rollback()
    return sorted(set(kept) ^ set(rebuilt), key=repr)


@contextmanager
def without_triggers(conn: Connection, refill: Callable[[Connection], Any] | None = rebuild) -> Iterator[None]:
    """Bulk loads: drop the triggers, load, then fill the rollups once (``refill``: :func:`rebuild`, or None
    when the loader wrote its own exact sums inside the block) and re-create the triggers — in the
    caller's transaction, so a failed load leaves triggers and rollups as they were."""
    dialect = conn.dialect.name
    for stmt in [*drop_trigger_ddl(dialect), *drop_registration_trigger_ddl(dialect)]:
        conn.exec_driver_sql(stmt)
    yield
    if refill is not None:
        refill(conn)
    install_triggers(conn)


def install_triggers(conn: Connection, grains: Mapping[str, str] = GRAINS) -> None:
    """Create every rollup trigger, maintaining ``grains`` (migrations ``0016_loan_rollup``,
    ``0018_rollup_pairs``; after a bulk load)."""
    for stmt in [*trigger_ddl(conn.dialect.name, grains), *registration_trigger_ddl(conn.dialect.name, grains)]:
        conn.exec_driver_sql(stmt)


_RAW: ContextVar[bool] = ContextVar("ipfin_stats_raw", default=False)


@contextmanager
def raw_queries() -> Iterator[None]:
    """Compute every figure from the loans themselves (the rollup's reference in tests and bench)."""
    token = _RAW.set(True)
    try:
        yield
    finally:
        _RAW.reset(token)


def grain_of(org: Organisation, flt: LoanFilter) -> tuple[str, str] | None:
    """The rollup grain and key holding the figures of ``org``'s aggregate scope narrowed by ``flt``'s
    dimensions — ``all``, one dimension, or a pair (key: the two values in :data:`DIMENSIONS` order joined by
    :data:`SEPARATOR`) — or None when they must come from the loans: a city or county scope or filter, a
    guarantor's or party's scope, or three dimensions at once."""
    if _RAW.get():
        return None
    dims: dict[str, str] = {}
    if org.kind == OrgKind.bank:
        dims["bank"] = str(org.id)
    elif org.kind == OrgKind.bureau:
        if org.region_code:
            code = regions.normalise(org.region_code)
            if regions.region(code).level != "province":
                return None
            dims["province"] = code
    elif org.kind != OrgKind.admin:
        return None
    if flt.region_code:
        return None
    for grain, value in (("province", flt.province_code), ("industry", flt.industry),
                         ("ip_type", flt.ip_type), ("bank", flt.bank_org_id)):
        if value is None:
            continue
        if dims.get(grain, str(value)) != str(value):
            return None  # disjoint scope and filter: no loans, answered by the loans' query
        dims[grain] = str(value)
    if len(dims) == 2:
        (a, key_a), (b, key_b) = sorted(dims.items(), key=lambda d: list(DIMENSIONS).index(d[0]))
        pair = next((g for g, dims_g in PAIRS.items() if dims_g == (a, b)), None)
        return (pair, f"{key_a}{SEPARATOR}{key_b}") if pair else None
    if len(dims) > 2:
        return None
    return next(iter(dims.items())) if dims else ("all", "")


# ---- reading: the figures' sums from the rollup (each equal to the loans' query it replaces) ----

R = LoanRollup.__table__  # type: ignore[attr-defined]


def _grain_rows(grain: tuple[str, str | None]) -> list[Any]:
    """Rows of one grain and key; ``(grain, None)`` selects every key of the grain (of a pair: keys
    ``"330000|C"``, two values a caller grouping by key must split at :data:`SEPARATOR`)."""
    name, key = grain
    return [R.c.grain == name, *([R.c.grain_key == key] if key is not None else [])]


def _in_dates(f: LoanFilter) -> Any:
    return and_(*([R.c.origination_date >= f.date_from] if f.date_from else []),
                *([R.c.origination_date <= f.date_to] if f.date_to else []), true())


def flow_sums(
    conn: Connection, grain: tuple[str, str], periods: list[LoanFilter], threshold_cny: int
) -> list[list[int]] | None:
    """Per period, in ONE read: loans, principal, inclusive loans and principal (at ``threshold_cny``),
    live and non-performing outstanding and count now, defaulted loans and principal (vintage) — of
    the loans originated in it; None when the threshold is not one the rollup holds."""
    if threshold_cny not in INCLUSIVE_COLUMNS:
        return None
    n_incl, a_incl = INCLUSIVE_COLUMNS[threshold_cny]
    names = ("loan_count", "amount_fen", n_incl, a_incl, "live_outstanding_fen", "npl_outstanding_fen",
             "npl_count", "defaulted_count", "defaulted_amount_fen")
    lo = None if any(f.date_from is None for f in periods) else min(f.date_from for f in periods if f.date_from)
    hi = None if any(f.date_to is None for f in periods) else max(f.date_to for f in periods if f.date_to)
    cols = [func.sum(case((_in_dates(f), R.c[n]), else_=0)) for f in periods for n in names]
    row = conn.execute(select(*cols).where(*_grain_rows(grain), _in_dates(LoanFilter(lo, hi)))).one()
    values = [int(v or 0) for v in row]
    return [values[len(names) * k: len(names) * (k + 1)] for k in range(len(periods))]


def current_stock_sums(
    conn: Connection, grain: tuple[str, str | None], end: date, by_key: bool = False
) -> dict[str | None, tuple[int, int, int, int]]:
    """The book now (live loans, outstanding, non-performing count and outstanding) of the loans
    originated by ``end``; per grain key with ``by_key``, else under None."""
    sums = [func.sum(R.c[n]) for n in ("live_count", "live_outstanding_fen", "npl_count", "npl_outstanding_fen")]
    keys = [R.c.grain_key] if by_key else []
    stmt = select(*keys, *sums).where(*_grain_rows(grain), R.c.origination_date <= end)
    out: dict[str | None, tuple[int, int, int, int]] = {}
    for row in conn.execute(stmt.group_by(*keys) if keys else stmt):
        key, vals = (row[0], row[1:]) if by_key else (None, row)
        n, o, nn, no = (int(v or 0) for v in vals)
        if n or not by_key:
            out[key] = (n, o, nn, no)
    return out


def running_sums(
    conn: Connection, grain: tuple[str, str | None], ends: list[date], by_key: bool = False
) -> dict[tuple[Any, ...], list[int]]:
    """The book running at each end (originated ≤ end < maturity), per (origination day, term[, key]):
    per end five sums — loans, principal, and the loans non-performing now without a default date
    (count, outstanding, principal). Five per end, in ``ends`` order."""
    keys = [R.c.origination_date, R.c.term_months, *([R.c.grain_key] if by_key else [])]
    cols = []
    for end in ends:
        running = and_(R.c.origination_date <= end, R.c.maturity_date > end)
        cols += [func.sum(case((running, R.c[n]), else_=0)) for n in
                 ("loan_count", "amount_fen", "undated_npl_count", "undated_npl_outstanding_fen",
                  "undated_npl_amount_fen")]
    stmt = (select(*keys, *cols)
            .where(*_grain_rows(grain), R.c.origination_date <= max(ends), R.c.maturity_date > min(ends),
                   R.c.loan_count > 0)
            .group_by(*keys))
    return {tuple(row[: len(keys)]): [int(v or 0) for v in row[len(keys):]] for row in conn.execute(stmt)}


def breakdown_sums(
    conn: Connection, by: str, flt: LoanFilter
) -> list[tuple[str, int, int, int]]:
    """(key, loans, principal, outstanding) per value of dimension ``by`` over every loan originated in
    ``flt``'s dates (the unrestricted scope: grain ``all``); ``by`` is one of :data:`DIMENSIONS` (a pair
    grain's keys are two values joined, not the values of one dimension)."""
    if by not in DIMENSIONS:
        raise ValueError(f"by: must be one of {', '.join(DIMENSIONS)}")
    stmt = (select(R.c.grain_key, func.sum(R.c.loan_count), func.sum(R.c.amount_fen), func.sum(R.c.outstanding_fen))
            .where(R.c.grain == by, _in_dates(flt)).group_by(R.c.grain_key))
    return [(str(k), int(n or 0), int(a or 0), int(o or 0)) for k, n, a, o in conn.execute(stmt) if n]


def origination_span(grain: tuple[str, str]) -> Any:
    """SELECT of the first and last origination day of the grain's funded loans (NULLs without any)."""
    return (select(func.min(R.c.origination_date), func.max(R.c.origination_date))
            .where(*_grain_rows(grain), R.c.loan_count > 0))


def daily_sums(conn: Connection, grain: tuple[str, str], flt: LoanFilter) -> list[tuple[date, int, int]]:
    """(origination day, loans, principal) over ``flt``'s dates, by day."""
    stmt = (select(R.c.origination_date, func.sum(R.c.loan_count), func.sum(R.c.amount_fen))
            .where(*_grain_rows(grain), _in_dates(flt)).group_by(R.c.origination_date))
    return [(d, int(n or 0), int(a or 0)) for d, n, a in conn.execute(stmt) if n]


G = RegistrationRollup.__table__  # type: ignore[attr-defined]


def registration_sums(
    conn: Connection, grain: tuple[str, str], periods: list[LoanFilter]
) -> list[tuple[int, int, int, int]]:
    """Per period, in ONE read: registrations, pledged value, loans first registered and their principal."""
    cols = []
    for f in periods:
        hit = and_(*([G.c.registered_on >= f.date_from] if f.date_from else []),
                   *([G.c.registered_on <= f.date_to] if f.date_to else []), true())
        cols += [func.sum(case((hit, G.c[n]), else_=0)) for n in REG_METRICS]
    lo = None if any(f.date_from is None for f in periods) else min(f.date_from for f in periods if f.date_from)
    hi = None if any(f.date_to is None for f in periods) else max(f.date_to for f in periods if f.date_to)
    span = [*([G.c.registered_on >= lo] if lo else []), *([G.c.registered_on <= hi] if hi else [])]
    row = [int(v or 0) for v in conn.execute(
        select(*cols).where(G.c.grain == grain[0], G.c.grain_key == grain[1], *span)).one()]
    return [(row[4 * k], row[4 * k + 1], row[4 * k + 2], row[4 * k + 3]) for k in range(len(periods))]
