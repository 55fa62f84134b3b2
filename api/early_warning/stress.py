"""Collateral stress runs on the stored book: named or custom scenarios (exact fen, synchronous) and the
correlated Monte Carlo (a background job with progress).

The book is the live loans the organisation may aggregate (a bank: its own; a bureau: its region)
with their latest collateral valuations. Per loan: balance = outstanding principal; the maximum
pledge rate is the highest band rate of the bank's policy rule for the loan's main IP type (the
policy's highest rate when the type has no rule); the breach trigger is the policy's
``ltv_breach_trigger``; the PD is the loan's latest early-warning score, else the documented prior's
PD on the same features; the five-class is the latest monitoring record (正常 when none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from api.audit import service as audit
from api.core.db import utcnow
from api.core.errors import FieldError, NotFound
from api.early_warning.book import read_cut
from api.early_warning.models import EWScore, StressKind, StressRun, StressStatus
from api.identity.models import Organisation, OrgKind, User
from api.pledge.service import today
from api.pledge.workflow import bank_policy
from api.stats.filters import aggregate_scope
from pledge.early_warning import TrueHazardModel
from pledge.monitoring import LoanClass
from pledge.stress import (
    Assumption,
    CollateralBook,
    ShockFactorModel,
    StressParameters,
    StressScenario,
    aggregate,
    aggregate_mc,
    apply_scenario,
    load_scenarios,
    run_stress_mc,
)

T = TypeVar("T")
R = TypeVar("R")


def scenarios() -> tuple[dict[str, StressScenario], StressParameters]:
    return load_scenarios()


def scenario_json(s: StressScenario) -> dict[str, Any]:
    def a(x: Assumption) -> dict[str, Any]:
        return {"value": str(x.value), "rationale": x.rationale, "assumption": x.assumption}

    return {"name": s.name, "label_zh": s.label_zh, "description": s.description,
            "ip_type_shocks": {k: a(v) for k, v in s.ip_type_shocks.items()},
            "industry_shocks": {k: a(v) for k, v in s.industry_shocks.items()},
            "other_industries_shock": a(s.other_industries_shock),
            "invalidation_probability": {k: a(v) for k, v in s.invalidation_probability.items()},
            "pd_multiplier": a(s.pd_multiplier)}


def custom_scenario(shocks: dict[str, Any]) -> StressScenario:
    """A scenario from request shocks (decimal strings); every value is marked as the caller's assumption."""
    def a(v: Any) -> Assumption:
        return Assumption(Decimal(str(v)), "custom shock given in the request")

    try:
        return StressScenario(
            name="custom", label_zh="自定义", description="custom shocks given in the request",
            ip_type_shocks={k: a(v) for k, v in shocks.get("ip_type_shocks", {}).items()},
            industry_shocks={k: a(v) for k, v in shocks.get("industry_shocks", {}).items()},
            other_industries_shock=a(shocks.get("other_industries_shock", "0")),
            invalidation_probability={k: a(v) for k, v in shocks.get("invalidation_probability", {}).items()},
            pd_multiplier=a(shocks.get("pd_multiplier", "1")))
    except ValueError as exc:
        raise FieldError("custom", str(exc)) from exc


def _max_ltv(session: Session, bank_id: int, ip_type: str, cache: dict[tuple[int, str], tuple[Decimal, Decimal]]
             ) -> tuple[Decimal, Decimal]:
    key = (bank_id, ip_type)
    if key not in cache:
        policy = bank_policy(session, bank_id)
        rates = {t: max(b.max_pledge_rate for b in r.bands) for t, r in policy.rules.items()}
        rate = rates.get(ip_type) or max(rates.values())
        cache[key] = (rate, policy.ltv_breach_trigger)
    return cache[key]


def _latest_pd(session: Session, loan_ids: Sequence[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    conn = session.connection()
    for i in range(0, len(loan_ids), 900):
        chunk = list(loan_ids[i:i + 900])
        latest = (select(col(EWScore.loan_id), func.max(col(EWScore.run_id)).label("run_id"))
                  .where(col(EWScore.loan_id).in_(chunk)).group_by(col(EWScore.loan_id)).subquery())
        for lid, pd in conn.execute(select(col(EWScore.loan_id), col(EWScore.pd)).join(
                latest, (latest.c.loan_id == col(EWScore.loan_id)) & (latest.c.run_id == col(EWScore.run_id)))):
            out[int(lid)] = float(pd)
    return out


def collateral_book(session: Session, org: Organisation, data_cut: date) -> CollateralBook:
    """The organisation's aggregate scope as a :class:`pledge.stress.CollateralBook` (see the module docstring)."""
    cut = read_cut(session.connection(), aggregate_scope(org), data_cut, current=True)
    if cut.features is None:
        raise FieldError("data_cut", f"no live loans in scope on {data_cut.isoformat()}")
    scored = _latest_pd(session, cut.loan_ids)
    prior = TrueHazardModel.default().pd_12m(cut.features)
    cache: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    rates = [_max_ltv(session, b, t, cache) for b, t in zip(cut.bank_ids, cut.ip_types, strict=True)]
    known = {c.value for c in LoanClass}
    return CollateralBook(
        np.array(cut.balance_fen, np.int64), np.array(cut.collateral_value_fen, np.int64), np.array(cut.ip_types),
        np.array(cut.industries), np.array(cut.regions), np.array([str(b) for b in cut.bank_ids]),
        max_ltv=[str(r[0]) for r in rates],
        margin_call_trigger=[str(r[1]) for r in rates],
        pd_12m=[scored.get(lid, float(prior[i])) for i, lid in enumerate(cut.loan_ids)],
        loan_class=[c if c in known else LoanClass.NORMAL.value for c in cut.loan_class],
        loan_id=[str(i) for i in cut.loan_ids])


def _totals_json(g: Any) -> dict[str, Any]:
    return {**asdict(g), "provision_change_fen": g.provision_change_fen,
            "expected_loss_change_fen": g.expected_loss_change_fen}


def deterministic_result(book: CollateralBook, scenario: StressScenario, params: StressParameters,
                         invalidation: str, seed: int) -> dict[str, Any]:
    """Totals of a scenario for the book, per bank and per province and city (exact fen)."""
    r = apply_scenario(book, scenario, params, invalidation=invalidation, seed=seed)  # type: ignore[arg-type]
    return {"scenario": scenario_json(scenario), "invalidation": invalidation, "total": _totals_json(r.total()),
            "by_bank": [_totals_json(g) for g in aggregate(r, "bank")],
            "by_province": [_totals_json(g) for g in aggregate(r, "province")],
            "by_city": [_totals_json(g) for g in aggregate(r, "city")]}


class ProgressExecutor:
    """Runs the Monte Carlo chunks in process, reporting the share done after each (results unchanged)."""

    def __init__(self, progress: Callable[[float], None]) -> None:
        self.progress = progress

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        out = []
        for i, t in enumerate(tasks):
            out.append(fn(t))
            self.progress(0.95 * (i + 1) / len(tasks))
        return out


def mc_result(book: CollateralBook, model: ShockFactorModel, paths: int, seed: int, recovery_rate: Decimal,
              progress: Callable[[float], None]) -> dict[str, Any]:
    """Distribution of total margin calls and expected loss, and per-bank / per-region means (fen)."""
    r = run_stress_mc(book, model, paths, seed, recovery_rate=recovery_rate, executor=ProgressExecutor(progress))
    return {"paths": paths, "seed": seed, "model": asdict(model),
            "margin_call": asdict(r.margin_call_distribution()),
            "expected_loss": asdict(r.expected_loss_distribution()),
            "mean_breaches": float(r.n_breaches.mean()),
            "by_bank": [asdict(g) for g in aggregate_mc(book, r, "bank")],
            "by_province": [asdict(g) for g in aggregate_mc(book, r, "province")]}


def stress_visibility(org: Organisation) -> Any:
    if org.kind == OrgKind.admin:
        return col(StressRun.id).is_not(None)
    return col(StressRun.org_id) == org.id


def get_stress_run(session: Session, org: Organisation, run_id: int) -> StressRun:
    row = session.exec(sm_select(StressRun).where(col(StressRun.id) == run_id, stress_visibility(org))).first()
    if row is None:
        raise NotFound(f"stress run {run_id} not found")
    return row


def create_deterministic(session: Session, user: User | None, org: Organisation, body: Any) -> StressRun:
    """A synchronous deterministic run, stored with its result and an audit event."""
    named, params = scenarios()
    if body.custom is not None:
        scenario = custom_scenario(body.custom.model_dump(mode="json"))
    elif body.scenario in named:
        scenario = named[body.scenario]
    else:
        raise FieldError("scenario", f"unknown scenario {body.scenario!r}; known: {sorted(named)}")
    cut = body.data_cut or today()
    book = collateral_book(session, org, cut)
    result = deterministic_result(book, scenario, params, body.invalidation, body.seed)
    row = StressRun(org_id=org.id, kind=StressKind.deterministic.value, scenario=scenario.name,  # type: ignore[arg-type]
                    status=StressStatus.succeeded.value, data_cut=cut, request=body.model_dump(mode="json"),
                    result=result, created_by_user_id=user.id if user else None, finished_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, user, "stress_run", row.id, "create", after={"scenario": row.scenario, "kind": row.kind,
                                                                        "total": result["total"]})
    return row

