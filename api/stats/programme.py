"""Read model of the dashboard's programme page (funds, bureaus, guarantors): what a rule costs each payer
on the book the viewer may see in aggregate, and the break-even fee beside the rule's cap.

A thin wrapper over :mod:`api.risk_sharing.cost` (the service of ``POST /rule-costs`` and
``/guarantee-fees``): the dashboard reads through ``api.stats`` and never runs SQL of its own.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select  # more than four columns (sqlmodel's overloads stop at four)
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from api.core.db import get_engine
from api.core.errors import FieldError
from api.identity.models import Organisation
from api.pledge.models import Loan
from api.pledge.service import today
from api.risk_sharing import cost
from api.risk_sharing.models import RiskClaim, RiskLedgerEntry, RiskRule, RiskRuleFamily, RiskSubsidyBudget
from api.stats.filters import LoanFilter, _int, aggregate_scope
from ipfin.money import cny_to_fen
from risk_sharing.presets import list_presets, load_preset


def rule_ids() -> list[tuple[str, str]]:
    """(rule id, name) of the shipped presets and the stored rule families (their latest version), by id."""
    out = {rid: load_preset(rid).name for rid in list_presets()}
    with Session(get_engine()) as s:
        for rid, name in s.exec(select(col(RiskRule.rule_id), col(RiskRule.name)).order_by(col(RiskRule.version))):
            out[str(rid)] = str(name)
    return sorted(out.items())


def programme_view(org: Organisation, rule_id: str, province_code: str | None, seed: int, n_paths: int,
                   years: int) -> dict[str, Any]:
    """``{"cost": <POST /rule-costs answer>, "fee": <POST /guarantee-fees answer or None if no loan is eligible>}``;
    a problem with the
    input (no loans, unknown rule, no eligible loan) comes back as ``{"error": field, "message": …}``."""
    common = {"rule_id": rule_id, "book": cost.BookFilter(province_code=province_code or None), "seed": seed,
              "n_paths": n_paths, "years": years}
    with Session(get_engine()) as s:
        try:
            body = cost.RuleCostRequest(**common)
            rule, data = cost.prepare(s, org, body, today())
            out = cost.run(rule, data, body)
            out_fee = cost.run(rule, data, cost.FeeRequest(**common, top=10)) if out["n_eligible"] else None
        except FieldError as exc:
            return {"error": exc.field, "message": str(exc)}
    return {"cost": out, "fee": out_fee}


# ------------------------------------------------------------------ overview KPI: programme budgets used

BUDGET_KINDS: tuple[str, ...] = ("bureau", "fund", "admin")


"""Organisation kinds that see programme budgets on the overview (a bank or guarantor does not)."""


def programme_budgets(conn: Connection, org: Organisation, flt: LoanFilter, today: date) -> dict[str, Any] | None:
    """Programme budgets used (预算使用) in the calendar year of the period end (today without one), fen.

    Two kinds of annual budget: a compensating party's annual cap of a risk-compensation scheme
    (``caps.party_year_cny`` of the family's latest version in force that year), used by that
    party's payouts booked in the year; and a subsidy's annual budget (``risk_subsidy_budget``),
    used by its approved draws. Budgets are scheme-wide, so their use is too (never narrowed by
    the page filter). A national bureau or the platform sees every scheme; a regional bureau or a
    fund the schemes it administers or that have a claim on a loan in its scope. Banks and
    guarantors: None. Definition: ``programme_budgets`` in :data:`api.stats.definitions.DEFINITIONS`.
    """
    if str(org.kind) not in BUDGET_KINDS:
        return None
    end = flt.date_to if flt.date_to is not None and flt.date_to < today else today
    year = end.year
    families = _visible_families(conn, org)
    rows: list[dict[str, Any]] = []
    rules = conn.execute(
        sa_select(col(RiskRule.rule_id), col(RiskRule.name), col(RiskRule.definition), col(RiskRule.effective_from),
               col(RiskRule.effective_to)).order_by(col(RiskRule.rule_id), col(RiskRule.version)))
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for rid, name, definition, start, stop in rules:
        in_force = _as_date(start) <= date(year, 12, 31) and (stop is None or _as_date(stop) >= date(year, 1, 1))
        if in_force and (families is None or rid in families):
            latest[str(rid)] = (str(name), dict(definition or {}))
    caps = {(rid, str(p)): cny_to_fen(str(v)) for rid, (_n, d) in latest.items()
            for p, v in ((d.get("caps") or {}).get("party_year_cny") or {}).items()}
    if caps:
        paid = _payouts_in_year(conn, sorted({r for r, _ in caps}), year)
        rows += [{"rule_id": r, "name": latest[r][0], "kind": "party_year", "key": p, "budget_fen": b,
                  "used_fen": paid.get((r, p), 0)} for (r, p), b in sorted(caps.items())]
    sub = select(col(RiskSubsidyBudget.rule_id), col(RiskSubsidyBudget.subsidy_key), col(RiskSubsidyBudget.budget_fen),
                 col(RiskSubsidyBudget.approved_fen)).where(col(RiskSubsidyBudget.year) == year,
                                                              col(RiskSubsidyBudget.budget_fen).is_not(None))
    for rid, key, budget, used in conn.execute(sub.order_by(col(RiskSubsidyBudget.rule_id), col(RiskSubsidyBudget.id))):
        if families is None or rid in families or rid in latest:
            rows.append({"rule_id": str(rid), "name": latest.get(str(rid), (str(rid), {}))[0], "kind": "subsidy",
                         "key": str(key), "budget_fen": _int(budget), "used_fen": _int(used)})
    budget_fen, used_fen = sum(r["budget_fen"] for r in rows), sum(r["used_fen"] for r in rows)
    return {"year": year, "budget_fen": budget_fen, "used_fen": used_fen,
            "used_share": used_fen / budget_fen if budget_fen else None, "budgets": rows}


def _payouts_in_year(conn: Connection, rule_ids: list[str], year: int) -> dict[tuple[str, str], int]:
    """Payouts booked in the calendar year per (rule family, party), fen."""
    led = RiskLedgerEntry
    stmt = (select(col(led.rule_id), col(led.party_key), func.sum(col(led.amount_fen)))
            .where(col(led.rule_id).in_(rule_ids), col(led.kind) == "payout",
                   col(led.booked_on) >= date(year, 1, 1), col(led.booked_on) <= date(year, 12, 31))
            .group_by(col(led.rule_id), col(led.party_key)))
    return {(str(r), str(p)): _int(v) for r, p, v in conn.execute(stmt)}


def _visible_families(conn: Connection, org: Organisation) -> set[str] | None:
    """Rule families whose budgets the organisation sees: None = all (national bureau, platform)."""
    if str(org.kind) == "admin" or (str(org.kind) == "bureau" and not org.region_code):
        return None
    owned = select(col(RiskRuleFamily.rule_id)).where(col(RiskRuleFamily.owner_org_id) == org.id)
    claimed = (select(col(RiskClaim.rule_id)).join(Loan, col(Loan.id) == col(RiskClaim.loan_id))
               .where(aggregate_scope(org)).distinct())
    return {str(r) for r in conn.execute(owned).scalars()} | {str(r) for r in conn.execute(claimed).scalars()}


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])
