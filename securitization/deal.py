"""A deal = pool + structure + scenarios; JSON (de)serialisation and the :func:`run_deal` entry point.

Reference deals ship as JSON in ``securitization/deals/``. A deal file states its public facts
and, separately, the assumptions made for what is not public; pools whose loan tapes are not
public are described by a ``synthetic_loans`` / ``synthetic_royalties`` block which is
expanded deterministically (balances split by the largest-remainder rule).

:func:`run_deal` is what the API and the CLI call: ``mode="deterministic"`` projects each
scenario, pays it through the waterfall in fen and computes tranche analytics;
``mode="monte_carlo"`` simulates correlated defaults and reports pool and tranche loss
statistics (with standard errors) for the base case and named stresses. The result is plain
JSON-serialisable data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ipfin.executor import Executor
from ipfin.money import MoneyError, cny_to_fen, fen_to_cny, split_largest_remainder

from .analytics import tranche_analytics
from .cashflows import project_bma, scheduled_balance_factors
from .credit import (
    STRESS_SCENARIOS,
    portfolio_from_pool,
    simulate_pool_losses,
    stress_portfolio,
    tranche_loss_stats,
)
from .pool import MAX_POOL_ASSETS, MAX_TERM_MONTHS, PledgeLoan, Pool, RoyaltyReceivable, stratify
from .projection import BASE, BATCH_CELLS, PoolProjection, Scenario, _loan_rates, project_pool
from .waterfall import (
    CleanUpCall,
    DealStructure,
    Fee,
    Guarantor,
    ReserveAccount,
    Tranche,
    Trigger,
    WaterfallResult,
    collections_from_months,
    run_waterfall,
)

DEALS_DIR = Path(__file__).with_name("deals")
MAX_SCENARIOS = 20
"""Most deterministic scenarios in one deal (each is a full projection and waterfall)."""
BMA_RULE = "zero_defaults_before_maturity"
"""Scenario key of BMA rule C.3.j (SF-18): no new defaults in a loan's last ``recovery_lag_months`` months of
its remaining term (they could not be liquidated before maturity). Off unless a scenario sets it true."""


@dataclass(frozen=True)
class CreditSettings:
    """Copula settings for Monte Carlo runs: asset correlation and (optional) inter-industry correlation."""

    rho: float = 0.2
    inter_industry: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.rho < 1:
            raise ValueError("credit.rho: must be in [0, 1)")
        if self.inter_industry is not None and not 0 <= self.inter_industry < 1:
            raise ValueError("credit.inter_industry: must be in [0, 1)")


@dataclass(frozen=True)
class Deal:
    """A structured deal ready to run."""

    structure: DealStructure
    pool: Pool
    scenarios: tuple[Scenario, ...] = (BASE,)
    credit: CreditSettings = field(default_factory=CreditSettings)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    zero_defaults_before_maturity: tuple[bool, ...] = ()  # per scenario: BMA_RULE applies; empty = nowhere

    def __post_init__(self) -> None:
        self.structure.validate(self.pool.balance_fen)
        if not self.scenarios:
            raise ValueError("scenarios: at least one scenario is needed")
        if self.zero_defaults_before_maturity and len(self.zero_defaults_before_maturity) != len(self.scenarios):
            raise ValueError(f"{BMA_RULE}: needs one flag per scenario")

    def bma_rule(self, k: int) -> bool:  # whether scenario k applies BMA rule C.3.j
        return bool(self.zero_defaults_before_maturity) and self.zero_defaults_before_maturity[k]

    @property
    def name(self) -> str:
        return self.structure.name


# ------------------------------------------------------------------ JSON


def _money(path: str, v: Any) -> int:
    try:
        return cny_to_fen(str(v))
    except MoneyError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _req(d: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in d:
        raise ValueError(f"{path}.{key}: required")
    return d[key]


def _count(path: str, v: Any, upper: int) -> int:
    """A whole number in [1, upper] (checked before anything is built from it)."""
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= upper:
        raise ValueError(f"{path}: must be a whole number in [1, {upper}]")
    return v


def _synthetic_loans(spec: Mapping[str, Any]) -> list[PledgeLoan]:
    if not isinstance(spec, Mapping):
        raise ValueError("pool.synthetic_loans: must be an object")
    n = _count("pool.synthetic_loans.n", _req(spec, "n", "pool.synthetic_loans"), MAX_POOL_ASSETS)
    total = _money("pool.synthetic_loans.total_cny", _req(spec, "total_cny", "pool.synthetic_loans"))
    weights = [str(w) for w in spec.get("weights", [1] * n)]
    if len(weights) != n:
        raise ValueError("pool.synthetic_loans.weights: needs one weight per loan")
    parts = split_largest_remainder(total, weights)
    inds = spec.get("industries", ["C"])
    regs = spec.get("regions", ["440300"])
    ips = spec.get("ip_types", ["invention_patent"])
    pds = spec.get("annual_pds", [spec.get("annual_pd", 0.02)])
    prefix = spec.get("id_prefix", "L")
    return [
        PledgeLoan(
            loan_id=f"{prefix}{k + 1:03d}", borrower=f"{prefix}-borrower-{k + 1:03d}", balance_fen=parts[k],
            annual_rate=float(spec.get("annual_rate", 0.05)), term_months=int(spec.get("term_months", 12)),
            annual_pd=float(pds[k % len(pds)]), recovery_rate=float(spec.get("recovery_rate", 0.3)),
            recovery_lag_months=int(spec.get("recovery_lag_months", 6)), industry=inds[k % len(inds)],
            region=regs[k % len(regs)], ip_type=ips[k % len(ips)], schedule=spec.get("schedule", "bullet"),
            age_months=int(spec.get("age_months", 0)), rating=spec.get("rating", "NR"),
        )
        for k in range(n)
    ]


def _synthetic_royalties(spec: Mapping[str, Any]) -> list[RoyaltyReceivable]:
    path = "pool.synthetic_royalties"
    if not isinstance(spec, Mapping):
        raise ValueError(f"{path}: must be an object")
    n = _count(f"{path}.n", _req(spec, "n", path), MAX_POOL_ASSETS)
    total = _money(f"{path}.total_cny", _req(spec, "total_cny", path))
    months = _count(f"{path}.months", _req(spec, "months", path), MAX_TERM_MONTHS)
    every = _count(f"{path}.payment_every_months", spec.get("payment_every_months", 3), months)
    weights = [str(w) for w in spec.get("weights", [1] * n)]
    per_obligor = split_largest_remainder(total, weights)
    pay_months = list(range(every, months + 1, every))
    inds = spec.get("industries", ["C"])
    regs = spec.get("regions", ["440100"])
    pds = spec.get("annual_pds", [spec.get("annual_pd", 0.02)])
    out = []
    for k in range(n):
        amounts = split_largest_remainder(per_obligor[k], [1] * len(pay_months))
        sched = [0] * months
        for m, a in zip(pay_months, amounts, strict=True):
            sched[m - 1] = a
        out.append(RoyaltyReceivable(
            receivable_id=f"R{k + 1:03d}", obligor=f"licensee-{k + 1:03d}", schedule_fen=tuple(sched),
            annual_pd=float(pds[k % len(pds)]), recovery_rate=float(spec.get("recovery_rate", 0.2)),
            recovery_lag_months=int(spec.get("recovery_lag_months", 6)), industry=inds[k % len(inds)],
            region=regs[k % len(regs)], ip_type=spec.get("ip_type", "invention_patent"),
        ))
    return out


def pool_from_dict(d: Mapping[str, Any]) -> Pool:
    """Pool from JSON: explicit ``loans``/``royalties`` and/or ``synthetic_*`` blocks."""
    if not isinstance(d, Mapping):
        raise ValueError("pool: must be an object")
    for key in ("loans", "royalties"):
        items = d.get(key, [])
        if not isinstance(items, list) or not all(isinstance(x, Mapping) for x in items):
            raise ValueError(f"pool.{key}: must be a list of objects")
        if len(items) > MAX_POOL_ASSETS:
            raise ValueError(f"pool.{key}: at most {MAX_POOL_ASSETS} assets")
    loans: list[PledgeLoan] = []
    for i, x in enumerate(d.get("loans", [])):
        x = dict(x)
        x["balance_fen"] = _money(f"pool.loans[{i}].balance_cny", _req(x, "balance_cny", f"pool.loans[{i}]"))
        x.pop("balance_cny")
        try:
            loans.append(PledgeLoan(**x))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"pool.loans[{i}].{exc}") from exc
    royalties: list[RoyaltyReceivable] = []
    for i, x in enumerate(d.get("royalties", [])):
        x = dict(x)
        sched = _req(x, "schedule_cny", f"pool.royalties[{i}]")
        if not isinstance(sched, list) or len(sched) > MAX_TERM_MONTHS:
            raise ValueError(f"pool.royalties[{i}].schedule_cny: must be a list of at most {MAX_TERM_MONTHS} amounts")
        x.pop("schedule_cny")
        x["schedule_fen"] = tuple(_money(f"pool.royalties[{i}].schedule_cny[{k}]", a) for k, a in enumerate(sched))
        try:
            royalties.append(RoyaltyReceivable(**x))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"pool.royalties[{i}].{exc}") from exc
    if "synthetic_loans" in d:
        loans += _synthetic_loans(d["synthetic_loans"])
    if "synthetic_royalties" in d:
        royalties += _synthetic_royalties(d["synthetic_royalties"])
    return Pool(name=str(d.get("name", "pool")), loans=tuple(loans), royalties=tuple(royalties))


def pool_to_dict(pool: Pool) -> dict[str, Any]:
    """Explicit JSON form of a pool (every asset listed; money as CNY strings), the inverse of
    :func:`pool_from_dict`."""
    loans = []
    for a in pool.loans:
        loans.append({
            "loan_id": a.loan_id, "borrower": a.borrower, "balance_cny": str(fen_to_cny(a.balance_fen)),
            "annual_rate": a.annual_rate, "term_months": a.term_months, "annual_pd": a.annual_pd,
            "recovery_rate": a.recovery_rate, "recovery_lag_months": a.recovery_lag_months,
            "industry": a.industry, "region": a.region, "ip_type": a.ip_type, "schedule": a.schedule,
            "age_months": a.age_months, "rating": a.rating,
        })
    royalties = []
    for r in pool.royalties:
        royalties.append({
            "receivable_id": r.receivable_id, "obligor": r.obligor,
            "schedule_cny": [str(fen_to_cny(x)) for x in r.schedule_fen], "annual_pd": r.annual_pd,
            "recovery_rate": r.recovery_rate, "recovery_lag_months": r.recovery_lag_months,
            "industry": r.industry, "region": r.region, "ip_type": r.ip_type, "rating": r.rating,
        })
    return {"name": pool.name, "loans": loans, "royalties": royalties}


def structure_from_dict(d: Mapping[str, Any]) -> DealStructure:
    """The waterfall structure from JSON (money as CNY strings, rates as fractions)."""
    tranches = []
    for i, t in enumerate(_req(d, "tranches", "deal")):
        tranches.append(Tranche(
            name=str(_req(t, "name", f"tranches[{i}]")),
            balance_fen=_money(f"tranches[{i}].balance_cny", _req(t, "balance_cny", f"tranches[{i}]")),
            coupon=t.get("coupon", 0.0), seniority=t.get("seniority", i + 1),
            residual=bool(t.get("residual", False)), rating=t.get("rating"),
        ))
    fees = tuple(
        Fee(name=str(_req(f, "name", f"fees[{i}]")), kind=f.get("kind", "fixed"),
            amount_fen=_money(f"fees[{i}].amount_cny", f.get("amount_cny", "0")),
            annual_rate=f.get("annual_rate", 0.0))
        for i, f in enumerate(d.get("fees", []))
    )
    r = d.get("reserve", {})
    reserve = ReserveAccount(
        initial_fen=_money("reserve.initial_cny", r.get("initial_cny", "0")),
        target_share=r.get("target_share", 0.0),
        floor_fen=_money("reserve.floor_cny", r.get("floor_cny", "0")),
    )
    triggers = tuple(
        Trigger(name=str(t.get("name", f"trigger{i}")), kind=t.get("kind"), threshold=t.get("threshold"),
                tranche=t.get("tranche"), curable=bool(t.get("curable", False)))
        for i, t in enumerate(d.get("triggers", []))
    )
    g = d.get("guarantor")
    guarantor = None
    if g:
        cap = g.get("cap_cny")
        if not isinstance(g.get("tranches", []), list):
            raise ValueError("guarantor.tranches: must be a list of tranche names")
        guarantor = Guarantor(name=str(g.get("name", "guarantor")), tranches=tuple(g.get("tranches", ())),
                              cap_fen=None if cap is None else _money("guarantor.cap_cny", cap))
    c = d.get("clean_up_call")
    try:
        closing = date.fromisoformat(str(_req(d, "closing_date", "deal")))
    except ValueError as exc:
        raise ValueError(f"closing_date: {exc}") from exc
    pm = d.get("payment_months", 3)
    if isinstance(pm, bool) or not isinstance(pm, int):
        raise ValueError("payment_months: must be 1, 2, 3, 6 or 12")
    s = DealStructure(
        name=str(_req(d, "name", "deal")), tranches=tuple(tranches), closing_date=closing,
        payment_months=pm, fees=fees, reserve=reserve, triggers=triggers,
        guarantor=guarantor, principal_mode=d.get("principal_mode", "sequential"),
        clean_up_call=CleanUpCall(c.get("threshold", 0.1)) if c else None,
    )
    s.validate()
    return s


def deal_from_dict(d: Mapping[str, Any]) -> Deal:
    """Build and validate a :class:`Deal` from its JSON form; errors name the field.

    Every malformed input raises ``ValueError`` (a wrongly shaped block that trips a ``TypeError``,
    ``KeyError`` or ``AttributeError`` deep inside is reported as such, never as a crash).
    """
    if not isinstance(d, Mapping):
        raise ValueError("deal: must be a JSON object")
    try:
        return _deal_from_dict(d)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"deal: malformed input ({type(exc).__name__}: {exc})") from exc


def _deal_from_dict(d: Mapping[str, Any]) -> Deal:
    structure = structure_from_dict(d)
    pool = pool_from_dict(_req(d, "pool", "deal"))
    scens = []
    raw_scens = d.get("scenarios", [{"name": "base"}])
    if not isinstance(raw_scens, list) or not all(isinstance(s, Mapping) for s in raw_scens):
        raise ValueError("scenarios: must be a list of objects")
    if len(raw_scens) > MAX_SCENARIOS:
        raise ValueError(f"scenarios: at most {MAX_SCENARIOS} scenarios")
    rules = []
    for i, s in enumerate(raw_scens):
        s = dict(s)
        rule = s.pop(BMA_RULE, False)
        if not isinstance(rule, bool):
            raise ValueError(f"scenarios[{i}].{BMA_RULE}: must be true or false")
        rules.append(rule)
        try:
            scens.append(Scenario(**s))
        except TypeError as exc:
            raise ValueError(f"scenarios[{i}]: {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"scenarios[{i}].{exc}") from exc
    cr = d.get("credit", {})
    if not isinstance(cr, Mapping) or set(cr) - {"rho", "inter_industry"}:
        raise ValueError("credit: must be an object with rho and optionally inter_industry")
    for key, v in cr.items():
        if key == "inter_industry" and v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"credit.{key}: must be a number")
    meta = {k: d[k] for k in ("name_zh", "public_facts", "assumptions", "sources") if k in d}
    return Deal(structure, pool, tuple(scens), CreditSettings(**cr), meta, tuple(rules) if any(rules) else ())


def load_deal(path: str | Path) -> Deal:
    """Read a deal JSON file (UTF-8)."""
    with open(path, encoding="utf-8") as fh:
        return deal_from_dict(json.load(fh))


def reference_deals() -> dict[str, Path]:
    """The shipped reference deal files by stem."""
    return {p.stem: p for p in sorted(DEALS_DIR.glob("*.json"))}


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class DealRunResult:
    """What :func:`run_deal` returns; :meth:`to_dict` is JSON-serialisable."""

    deal_name: str
    mode: str
    pool_summary: dict[str, Any]
    strata: dict[str, list[dict[str, Any]]]
    scenarios: list[dict[str, Any]]
    monte_carlo: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deal": self.deal_name,
            "mode": self.mode,
            "pool": self.pool_summary,
            "strata": self.strata,
            "scenarios": self.scenarios,
            "monte_carlo": self.monte_carlo,
        }


def _residual_holder(wf: WaterfallResult, name: str, face_fen: int, closing: date) -> dict[str, Any]:
    """What the residual (次级) holder receives: its principal plus the excess spread (剩余收益), and the
    yield (IRR, annual compounding) of those flows if the class is bought at par on the closing date.

    The residual class has no coupon, so its return is the excess spread; the principal-only figures in
    ``analytics_at_coupon_yield`` (at a 0 yield) only give its WAL. The yield is None when nothing or too
    little comes back for a yield to exist.
    """
    flows = [(r.payment_date, r.residual_paid, r.principal_paid.get(name, 0)) for r in wf.rows]
    received = sum(i + p for _, i, p in flows)
    out: dict[str, Any] = {"residual_paid_fen": sum(i for _, i, _ in flows), "holder_received_fen": received,
                           "holder_analytics_at_par": None}
    if received > 0 and any(p > 0 for _, _, p in flows):
        try:
            a = tranche_analytics(flows, face_fen, closing, price=100.0)
        except (RuntimeError, ValueError):  # QuantLib finds no yield (e.g. almost nothing comes back)
            return out
        out["holder_analytics_at_par"] = a.to_dict()
    return out


PRICING_KEYS = ("yield_rate", "price", "spread", "benchmark_yield")


def check_pricing(deal: Deal, pricing: Mapping[str, Mapping[str, float]]) -> None:
    """Validate a pricing request: per tranche name exactly one of ``yield_rate`` (annual fraction),
    ``price`` (per 100 of face, dirty) or ``spread`` with ``benchmark_yield``; finite numbers."""
    names = {t.name for t in deal.structure.tranches}
    for name, spec in pricing.items():
        path = f"pricing.{name}"
        if name not in names:
            raise ValueError(f"{path}: unknown tranche {name!r}")
        if not isinstance(spec, Mapping) or not spec or set(spec) - set(PRICING_KEYS):
            raise ValueError(f"{path}: give yield_rate, price, or spread with benchmark_yield")
        for k, v in spec.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"{path}.{k}: must be a finite number")
        given = [k for k in ("yield_rate", "price", "spread") if k in spec]
        if len(given) != 1 or (given == ["spread"]) != ("benchmark_yield" in spec):
            raise ValueError(f"{path}: give exactly one of yield_rate, price, or spread with benchmark_yield")
        if "price" in spec and not 0 < spec["price"] <= 1000:
            raise ValueError(f"{path}.price: must be in (0, 1000] per 100 of face")
        y = spec.get("yield_rate", spec.get("benchmark_yield", 0.0) + spec.get("spread", 0.0))
        if not -0.5 < y < 10:
            raise ValueError(f"{path}: yield must be in (-50%, 1000%)")


def _priced(flows: list[tuple[date, int, int]], face_fen: int, settlement: date,
            spec: Mapping[str, float]) -> dict[str, Any]:
    try:
        return tranche_analytics(flows, face_fen, settlement, **spec).to_dict()  # type: ignore[arg-type]
    except (RuntimeError, ValueError) as exc:  # nothing paid, or QuantLib finds no yield for that price
        return {"error": str(exc)}


_FLOWS = ("principal", "prepayments", "defaults", "recoveries", "losses", "interest", "balance", "performing_balance")


def _loan_flows(pool: Pool, scens: Sequence[Scenario], horizon: int, rule: bool) -> dict[str, np.ndarray]:
    """The loans' pool totals per scenario and month, shape ``(S, horizon)``, as :func:`project_pool` projects
    them, with BMA rule C.3.j on or off: loans are grouped by (recovery lag, remaining term) so each group is
    one :func:`project_bma` call told its remaining term (the rule's "last lag months" are per loan)."""
    n_s = len(scens)
    tot = {k: np.zeros((n_s, horizon)) for k in _FLOWS}
    groups: dict[tuple[int, int], list[PledgeLoan]] = {}
    for a in pool.loans:
        groups.setdefault((a.recovery_lag_months, a.remaining_term), []).append(a)
    per_batch = max(1, BATCH_CELLS // (n_s * horizon))
    for (lag, term), members in groups.items():
        for b in range(0, len(members), per_batch):
            loans = members[b: b + per_batch]
            n_l = len(loans)
            bal, rate, pd, rr, age = (np.array([getattr(a, f) for a in loans]) for f in (
                "balance_fen", "annual_rate", "annual_pd", "recovery_rate", "age_months"))
            bal = bal / 100.0
            bf = np.stack([scheduled_balance_factors(a.schedule, a.annual_rate, a.term_months, horizon, a.age_months)
                           for a in loans])
            for adv in (False, True):
                s_idx = [k for k, sc in enumerate(scens) if sc.advancing == adv]
                if not s_idx:
                    continue
                rates = [_loan_rates(scens[k], pd, age, horizon) for k in s_idx]
                sev = np.concatenate([1.0 - np.minimum(rr * scens[k].recovery_multiplier, 1.0) for k in s_idx])
                n_k = len(s_idx)
                cf = project_bma(np.tile(bal, n_k), np.tile(bf, (n_k, 1)), np.tile(rate, n_k),
                                 np.concatenate([r[0] for r in rates]), np.concatenate([r[1] for r in rates]), sev,
                                 lag, advancing=adv, remaining_term=term, zero_defaults_before_maturity=rule)
                per = zip(_FLOWS, (cf.expected_amortization if adv else cf.actual_amortization,
                                   cf.voluntary_prepayments, cf.new_defaults, cf.principal_recovery,
                                   cf.principal_loss, cf.interest_collected, cf.pool_balance, cf.performing_balance),
                          strict=True)
                for key, arr in per:
                    tot[key][s_idx] += arr.reshape(n_k, n_l, horizon).sum(axis=1)
    return tot


def project_deal_pool(deal: Deal) -> PoolProjection:
    """The pool projection of every scenario of ``deal``: :func:`project_pool`, and for the scenarios that ask
    for BMA rule C.3.j (:data:`BMA_RULE`) the loans' part projected again with it (royalty receivables
    have no such rule and are unchanged)."""
    proj = project_pool(deal.pool, deal.scenarios)
    ruled = [k for k in range(len(deal.scenarios)) if deal.bma_rule(k)]
    if not ruled or not deal.pool.loans:
        return proj
    scens = [deal.scenarios[k] for k in ruled]
    without = _loan_flows(deal.pool, scens, proj.months, rule=False)
    with_rule = _loan_flows(deal.pool, scens, proj.months, rule=True)
    arrays = {key: getattr(proj, key).copy() for key in _FLOWS}
    for key, arr in arrays.items():  # swap the loans' flows without the rule for those with it
        arr[ruled] += with_rule[key] - without[key]
    return PoolProjection(scenarios=proj.scenarios, initial_balance=proj.initial_balance, **arrays)


def _deterministic(
    deal: Deal, include_periods: bool = True, pricing: Mapping[str, Mapping[str, float]] | None = None
) -> list[dict[str, Any]]:
    proj = project_deal_pool(deal)
    s = deal.structure
    out = []
    for k, scen in enumerate(deal.scenarios):
        coll = collections_from_months(
            proj.interest[k], proj.principal_collections[k], proj.losses[k], proj.defaults[k],
            proj.balance[k], proj.initial_balance, s.payment_months,
        )
        wf = run_waterfall(s, coll)
        tranches = {}
        for t in s.tranches:
            flows = wf.tranche_flows(t.name)
            entry: dict[str, Any] = {"balance_cny": str(fen_to_cny(t.balance_fen)), "coupon": t.coupon}
            entry.update(wf.totals()["tranches"][t.name])
            if any(p > 0 for _, _, p in flows):
                y = t.coupon if not t.residual else 0.0
                a = tranche_analytics(flows, t.balance_fen, s.closing_date, yield_rate=y)
                entry["analytics_at_coupon_yield"] = a.to_dict()
            if t.residual:
                entry.update(_residual_holder(wf, t.name, t.balance_fen, s.closing_date))
            if pricing and t.name in pricing:
                if t.residual:  # the holder's flows: principal and excess spread
                    flows = [(r.payment_date, r.residual_paid, r.principal_paid.get(t.name, 0)) for r in wf.rows]
                entry["analytics_at_pricing"] = {"request": dict(pricing[t.name]),
                                                 **_priced(flows, t.balance_fen, s.closing_date, pricing[t.name])}
            tranches[t.name] = entry
        res: dict[str, Any] = {
            "scenario": {**scen.to_dict(), BMA_RULE: deal.bma_rule(k)},
            "pool": {
                "cumulative_default_rate": float(proj.cumulative_default_rate()[k]),
                "cumulative_loss_rate": float(proj.cumulative_loss_rate()[k]),
                "months": proj.months,
                "monthly": {
                    name: [round(float(v), 2) for v in getattr(proj, name)[k]]
                    for name in ("principal", "prepayments", "defaults", "recoveries", "losses", "interest",
                                 "balance")
                } if include_periods else None,
            },
            "waterfall": wf.totals(),
            "tranches": tranches,
        }
        if include_periods:
            res["periods"] = [r.to_dict() for r in wf.rows]
        out.append(res)
    return out


def run_deal(
    deal: Deal,
    mode: Literal["deterministic", "monte_carlo"] = "deterministic",
    *,
    n_paths: int = 10_000,
    seed: int = 20240601,
    stresses: Sequence[str] = ("base",),
    executor: Executor | None = None,
    chunk_size: int | None = None,
    include_periods: bool = True,
    progress: Callable[[float], None] | None = None,
    pricing: Mapping[str, Mapping[str, float]] | None = None,
) -> DealRunResult:
    """Run a deal deterministically (every scenario through the waterfall) or by Monte Carlo.

    ``progress`` (optional) is called with the fraction done (0..1) after each stage and each
    batch of Monte Carlo chunks, so a background job can report it. ``pricing`` maps tranche
    names to ``{"yield_rate": y}``, ``{"price": p}`` or ``{"spread": s, "benchmark_yield": b}``:
    each scenario then also reports that tranche's price, yield, WAL and durations at that
    level (``analytics_at_pricing``; see :func:`check_pricing`).
    """
    report = progress or (lambda _p: None)
    if mode not in ("deterministic", "monte_carlo"):
        raise ValueError("mode: must be 'deterministic' or 'monte_carlo'")
    for name in stresses:
        if name not in STRESS_SCENARIOS:
            raise ValueError(f"stresses: unknown stress {name!r} (known: {sorted(STRESS_SCENARIOS)})")
    if pricing:
        check_pricing(deal, pricing)
    strata = {by: [r.to_dict() for r in stratify(deal.pool, by)] for by in ("industry", "region", "ip_type",
                                                                           "size", "rating")}
    det = _deterministic(deal, include_periods=include_periods and mode == "deterministic", pricing=pricing)
    report(1.0 if mode == "deterministic" else 0.1)
    mc: dict[str, Any] | None = None
    if mode == "monte_carlo":
        pf = portfolio_from_pool(deal.pool, deal.credit.rho, deal.credit.inter_industry)
        s = deal.structure
        wal = {
            name: (v.get("analytics_at_coupon_yield") or {}).get("wal_years", 1.0)
            for name, v in det[0]["tranches"].items()
        }
        tr = [(t.name, t.balance_fen / 100.0, t.seniority) for t in s.tranches]
        guaranteed = s.guarantor.tranches if s.guarantor else ()
        cap = s.guarantor.cap_fen / 100.0 if s.guarantor and s.guarantor.cap_fen is not None else None
        by_stress: dict[str, Any] = {}
        mc = {"n_paths": n_paths, "seed": seed, "rho": deal.credit.rho,
              "inter_industry": deal.credit.inter_industry, "stresses": by_stress}
        for k, name in enumerate(stresses):
            def step(p: float, k: int = k) -> None:
                report(0.1 + 0.9 * (k + p) / len(stresses))

            dist = simulate_pool_losses(stress_portfolio(pf, name), n_paths, seed, chunk_size=chunk_size,
                                        executor=executor, progress=step if progress else None)
            by_stress[name] = {
                "pool": dist.summary(),
                "tranches": [x.to_dict() for x in tranche_loss_stats(dist, tr, wal, guaranteed, cap)],
            }
            report(0.1 + 0.9 * (k + 1) / len(stresses))
    return DealRunResult(deal.name, mode, deal.pool.summary(), strata, det, mc)
