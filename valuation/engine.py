"""The single entry point: ``value_asset(ValuationRequest) -> ValuationResult``.

``ValuationRequest`` (:mod:`valuation.request`) is a validated pydantic model (bad input raises
``ValidationError`` naming the field); ``ValuationResult`` (:mod:`valuation.result`) is
JSON-serialisable with money in integer fen (``*_fen``) and statistics as floats. The function is
pure: no I/O; Monte Carlo work goes through the executor passed in (in-process by default).

What ``value_asset`` does, in order (one private function per step; ``_value_asset`` reads as this list):

1. remaining legal term from the asset's type and dates; remaining economic life =
   min(economic life, legal term) (a stated life beyond the legal term is a validation error);
2. indicator score (GB/T 42748-2023, optional): K, IP-specific risk premia, quality ratio;
3. discount rate by build-up (score premia replace the technical/market/legal items when
   ``discount.premia_from_score``);
4. income approach (relief from royalty at the royalty's mode, profit share, excess earnings, or
   with-and-without on the stated profits with and without the IP, extended by revenue growth
   beyond the years given) on the mean forecast, with the cash-flow table; optional TAB;
5. Monte Carlo of the income approach (royalty/share three-point: the stated one for relief from
   royalty; for a score-driven profit share, triangular over the scheme's K range with the
   score's K as mode; otherwise fixed; with-and-without simulates the incremental profit path
   itself, lognormal around CF_with − CF_without), P(value < loan amount);
6. market, cost and real-option approaches when given (the real option enters the reconciliation
   at its American/CRR value; S is the income value before TAB, T the remaining economic life);
7. reconciliation with the approach weights (income enters at its Monte Carlo mean when the
   simulation ran, with P5–P95 as its range; see ``valuation.reconcile``), tornado sensitivity of
   the deterministic income value, and warnings a credit officer should read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from ipfin.executor import Executor
from ipfin.money import Fen, cny_to_fen

from . import cost as cost_mod
from . import income as inc
from . import market as mkt
from .assets import NEW_COLLATERAL_TYPES, NO_STATUTORY_EXPIRY, IPAsset, IPType, LegalStatus, collateral_types
from .montecarlo import MCSpec, ThreePoint, mean_revenue_path, run_monte_carlo
from .real_option import RealOptionInputs, value_real_option
from .reconcile import FenRangeError, Reconciliation, TornadoBar, float_to_fen, reconcile, tornado
from .request import ValuationRequest
from .result import (
    ComparableOut,
    ComparableSelectionOut,
    CostOut,
    DiscountLine,
    FlowOut,
    IncomeOut,
    MarketOut,
    MonteCarloOut,
    RealOptionOut,
    ReconLine,
    ScoreLine,
    ScoreOut,
    TornadoOut,
    ValuationResult,
)
from .scoring import IndicatorScore, ScoringScheme, load_scheme, score

TORNADO_LIFE_YEARS = 2.0


# --------------------------------------------------------------------------- engine


def _cny(v: Any) -> float:
    return float(v)


def _profit_share(req: ValuationRequest, sc: IndicatorScore | None) -> tuple[float | None, str | None]:
    i = req.income
    if i.profit_share is not None:
        return i.profit_share, "given"
    if i.equivalent_investment is not None:
        e = i.equivalent_investment
        k = inc.equivalent_investment_share(_cny(e.ip_replacement_cost_cny), e.ip_cost_profit_rate,
                                            _cny(e.other_assets_cost_cny), e.other_assets_profit_rate)
        return k, "equivalent_investment"
    if sc is not None:
        return sc.profit_share, "indicator_score"
    return None, None


def _build_up(req: ValuationRequest, sc: IndicatorScore | None) -> inc.DiscountRateBuildUp:
    d = req.discount
    technical, market, legal = d.technical, d.market, d.legal
    if d.premia_from_score:
        assert sc is not None
        technical = sc.risk_premia.get("technical", technical)
        market = sc.risk_premia.get("market", market)
        legal = sc.risk_premia.get("legal", legal)
    return inc.DiscountRateBuildUp(d.risk_free, technical, market, d.funding, d.management, legal)


def _sales_rate(req: ValuationRequest, k: float | None) -> float:
    """Attributable fraction of revenue (pre-tax) for the chosen income method."""
    i, e = req.income, req.economics
    if i.method == "relief_from_royalty":
        assert i.royalty is not None
        return i.royalty.mode
    if i.method == "profit_share":
        assert k is not None
        return inc.sales_royalty_from_profit_share(k, e.profit_margin)
    if i.method == "with_and_without":
        return 1.0  # the incremental profit path is attributable in full
    return e.profit_margin - math.fsum(i.contributory_charge_rates)


def value_asset(
    request: ValuationRequest,
    *,
    executor: Executor | None = None,
    scheme: ScoringScheme | None = None,
) -> ValuationResult:
    """Value one asset by every approach given, run the Monte Carlo, reconcile, and explain.

    Raises ``ValueError`` naming the field for inputs only detectable while valuing (e.g. a
    forecast compounding past the largest storable amount of integer fen).
    """
    try:
        return _value_asset(request, executor=executor, scheme=scheme)
    except FenRangeError as exc:
        raise ValueError(
            f"economics: the valuation reaches amounts beyond the storable range ({exc}); check "
            "base_revenue_cny, revenue_forecast_cny, revenue_growth and revenue_volatility"
        ) from exc


def _with_without_paths(req: ValuationRequest, years: int) -> tuple[list[float], list[float]]:
    """CF_with and CF_without for years 1..``years``: as given, then extended by revenue growth."""
    g = req.economics.revenue_growth
    w = list(mean_revenue_path(0.0, g, years, [_cny(x) for x in req.income.cash_flow_with_cny]))
    wo = list(mean_revenue_path(0.0, g, years, [_cny(x) for x in req.income.cash_flow_without_cny]))
    return w, wo


def _value_asset(request: ValuationRequest, *, executor: Executor | None,
                 scheme: ScoringScheme | None) -> ValuationResult:
    """``value_asset`` without the range translation: the numbered steps of the module docstring."""
    req = request
    asset, legal, life = _legal_term_and_life(req)  # 1. legal term and economic life
    scheme = scheme or load_scheme()
    sc, k, k_src = _indicator_score(req, scheme, asset)  # 2. indicator score: K, risk premia
    bu = _build_up(req, sc)  # 3. discount rate by build-up
    ctx = _context(req, asset, legal, life, scheme, sc, k, k_src, bu)
    iv, income_out = _income_approach(ctx)  # 4. income approach
    mc_out, income_values, basis = _monte_carlo(ctx, iv, income_out, executor)  # 5. Monte Carlo
    values: dict[str, tuple[Fen, Fen, Fen]] = {"income": income_values}
    market_out = _market_approach(ctx)  # 6. market, cost and real option
    cost_out = _cost_approach(req)
    ro_out = _real_option_approach(ctx, iv)
    values.update(_approach_values(market_out, cost_out, ro_out))
    rec = reconcile(values, {a.value: w for a, w in req.weights.items()})  # 7. reconciliation, tornado, warnings
    t_base, bars = _tornado(ctx)
    warnings = _warnings(asset, legal, mc_out, market_out, sc)
    return _result(ctx, rec, t_base, bars, warnings, income=income_out, monte_carlo=mc_out, market=market_out,
                   cost=cost_out, real_option=ro_out, income_basis=basis)


@dataclass(frozen=True)
class _Context:
    """What the steps share: the request, the figures of steps 1–3 and the forecast they all value."""

    req: ValuationRequest
    asset: IPAsset
    on: date
    legal: float  # remaining legal term, years
    life: float  # remaining economic life, years
    scheme: ScoringScheme
    sc: IndicatorScore | None
    k: float | None  # profit share K
    k_src: str | None
    bu: inc.DiscountRateBuildUp
    r: float  # discount rate
    n_years: int  # forecast horizon
    wnw: bool  # with_and_without
    cf_with: list[float]
    cf_without: list[float]
    forecast: list[float]  # the years given (for with_and_without: the increment), extended by growth
    base_revenue: float
    revenue: list[float]  # mean attributable revenue path, years 1..n_years
    shape: inc.IncomeShape
    common: dict[str, Any]  # keyword arguments every income method takes
    sales_rate: float  # attributable fraction of revenue, pre-tax

    @property
    def base_params(self) -> dict[str, float]:
        """The tornado inputs at their base values."""
        e = self.req.economics
        return {"revenue_scale": 1.0, "revenue_growth": e.revenue_growth, "sales_rate": self.sales_rate,
                "discount_rate": self.r, "life": self.life, "tax_rate": e.tax_rate}


def _legal_term_and_life(req: ValuationRequest) -> tuple[IPAsset, float, float]:
    """Step 1: the asset, its remaining legal term and remaining economic life = min(life, legal term)."""
    asset = req.asset.to_asset()
    legal = asset.remaining_legal_term(req.valuation_date)
    return asset, legal, min(req.income.economic_life_years, legal)


def _indicator_score(req: ValuationRequest, scheme: ScoringScheme,
                     asset: IPAsset) -> tuple[IndicatorScore | None, float | None, str | None]:
    """Step 2: the indicator score (when scores are given) and the profit share K with its source."""
    sc = score(req.scores, scheme, asset=asset, on=req.valuation_date) if req.scores is not None else None
    k, k_src = _profit_share(req, sc)
    return sc, k, k_src


def _context(req: ValuationRequest, asset: IPAsset, legal: float, life: float, scheme: ScoringScheme,
             sc: IndicatorScore | None, k: float | None, k_src: str | None,
             bu: inc.DiscountRateBuildUp) -> _Context:
    """Steps 1–3 together with the forecast horizon, the revenue path and the income terms."""
    r = bu.total
    e = req.economics
    mc_high = req.monte_carlo.life_years.high if req.monte_carlo.life_years else 0.0
    # forecast horizon: the longest life used anywhere (Monte Carlo high, tornado's life + 2 years)
    n_years = max(1, math.ceil(min(legal, max(life, mc_high) + TORNADO_LIFE_YEARS) - 1e-12))
    wnw = req.income.method == "with_and_without"
    cf_with: list[float] = []
    cf_without: list[float] = []
    if wnw:
        # the attributable "revenue" path is the incremental profit CF_with − CF_without (≥ 0)
        cf_with, cf_without = _with_without_paths(req, n_years)
        given = zip(req.income.cash_flow_with_cny, req.income.cash_flow_without_cny, strict=True)
        forecast = [_cny(a) - _cny(b) for a, b in given]  # extended by revenue growth like a forecast
        base_revenue = 0.0
    else:
        forecast = [_cny(x) for x in e.revenue_forecast_cny]
        base_revenue = _cny(e.base_revenue_cny)
    revenue = list(mean_revenue_path(base_revenue, e.revenue_growth, n_years, forecast))
    shape = inc.IncomeShape(req.income.shape.kind, req.income.shape.decay, req.income.shape.midpoint,
                            req.income.shape.steepness)
    common: dict[str, Any] = dict(tax_rate=e.tax_rate, discount_rate=r, life_years=life, mid_year=req.income.mid_year,
                  shape=shape, tab_amortisation_years=req.income.tab_amortisation_years)
    return _Context(
        req=req, asset=asset, on=req.valuation_date, legal=legal, life=life, scheme=scheme, sc=sc, k=k, k_src=k_src,
        bu=bu, r=r, n_years=n_years, wnw=wnw, cf_with=cf_with, cf_without=cf_without, forecast=forecast,
        base_revenue=base_revenue, revenue=revenue, shape=shape, common=common, sales_rate=_sales_rate(req, k),
    )


def _income_approach(ctx: _Context) -> tuple[inc.IncomeValue, IncomeOut]:
    """Step 4: the income approach on the mean forecast, with its cash-flow table."""
    req, e, common = ctx.req, ctx.req.economics, ctx.common
    if req.income.method == "relief_from_royalty":
        iv = inc.relief_from_royalty(ctx.revenue, ctx.sales_rate, **common)
    elif req.income.method == "profit_share":
        assert ctx.k is not None
        iv = inc.profit_share_value(ctx.revenue, e.profit_margin, ctx.k, **common)
    elif ctx.wnw:
        iv = inc.with_and_without(ctx.cf_with, ctx.cf_without, **common)
    else:
        iv = inc.excess_earnings(ctx.revenue, e.profit_margin, req.income.contributory_charge_rates, **common)
    income_out = IncomeOut(
        method=iv.method, value_fen=float_to_fen(iv.value), value_before_tab_fen=float_to_fen(iv.value_before_tab),
        tab_factor=iv.tab_factor, discount_rate=ctx.r, life_years=ctx.life, sales_royalty_rate=ctx.sales_rate,
        profit_share=ctx.k, profit_share_source=ctx.k_src,
        flows=[FlowOut(year=f.year, revenue_fen=float_to_fen(f.revenue),
                       attributable_pre_tax_fen=float_to_fen(f.attributable_pre_tax),
                       attributable_after_tax_fen=float_to_fen(f.attributable_after_tax),
                       discount_factor=f.discount_factor, present_value_fen=float_to_fen(f.present_value))
               for f in iv.flows],
    )
    return iv, income_out


def _monte_carlo(ctx: _Context, iv: inc.IncomeValue, income_out: IncomeOut, executor: Executor | None,
                 ) -> tuple[MonteCarloOut | None, tuple[Fen, Fen, Fen], str]:
    """Step 5: Monte Carlo of the income approach; the income (value, low, high) the reconciliation uses, and
    its basis (the simulation's mean and P5–P95 when it ran, else the deterministic value)."""
    req, e, mc = ctx.req, ctx.req.economics, ctx.req.monte_carlo
    if not mc.enabled:
        return None, (income_out.value_fen, income_out.value_fen, income_out.value_fen), "deterministic"
    if req.income.method == "relief_from_royalty":
        assert req.income.royalty is not None
        royalty = req.income.royalty.to_dist()
    elif req.income.method == "profit_share" and ctx.sc is not None and req.income.profit_share is None and (
        req.income.equivalent_investment is None
    ):
        lo, hi = ctx.scheme.profit_share_range
        royalty = ThreePoint(lo * e.profit_margin, ctx.sales_rate, hi * e.profit_margin)
    else:
        royalty = ThreePoint.fixed(ctx.sales_rate)
    life_dist = mc.life_years.to_dist() if mc.life_years is not None else ThreePoint.fixed(ctx.life)
    spec = MCSpec(
        mean_revenue=tuple(ctx.revenue), volatility=e.revenue_volatility, royalty=royalty, tax_rate=e.tax_rate,
        discount_rate=ctx.r, life=life_dist, legal_term_years=ctx.legal, discount_rate_sd=mc.discount_rate_sd,
        success_probability=mc.success_probability, annual_hazard=mc.annual_hazard,
        mid_year=req.income.mid_year, shape=tuple(ctx.shape.factors(ctx.n_years)),
    )
    res = run_monte_carlo(spec, mc.paths, mc.seed, antithetic=mc.antithetic, chunk_size=mc.chunk_size,
                          executor=executor)
    af = iv.tab_factor  # TAB at the base discount rate scales every path (exact when discount_rate_sd = 0)
    loan_fen = cny_to_fen(mc.loan_amount_cny) if mc.loan_amount_cny is not None else None
    p_below = p_se = None
    if loan_fen is not None:
        p_below, p_se = res.prob_below(loan_fen / 100 / af)
    mc_out = MonteCarloOut(
        n_paths=res.n_paths, seed=res.seed, antithetic=res.antithetic,
        mean_fen=float_to_fen(res.mean * af), median_fen=float_to_fen(res.median * af),
        p5_fen=float_to_fen(res.p5 * af), p25_fen=float_to_fen(res.p25 * af),
        p75_fen=float_to_fen(res.p75 * af), p95_fen=float_to_fen(res.p95 * af),
        std_cny=res.std * af, standard_error_cny=res.standard_error * af,
        relative_standard_error=res.standard_error / res.mean if res.mean else 0.0,
        histogram_counts=list(res.histogram_counts),
        histogram_edges_fen=[float_to_fen(x * af) for x in res.histogram_edges],
        loan_amount_fen=loan_fen, prob_value_below_loan=p_below, prob_value_below_loan_se=p_se,
    )
    return mc_out, (mc_out.mean_fen, mc_out.p5_fen, mc_out.p95_fen), "monte_carlo_mean"


def _market_approach(ctx: _Context) -> MarketOut | None:
    """Step 6a: the market approach (hand-typed comparables and/or the register search), when given."""
    req = ctx.req
    if req.market is None:
        return None
    q_subject = req.market.subject_quality_score or (ctx.sc.total if ctx.sc else None)
    assert q_subject is not None
    hand = [mkt.Comparable(c.ref, _cny(c.price_cny), c.quality_score, c.remaining_life_years, c.time_index_ratio,
                           c.scope_factor, c.transaction_type_factor, c.weight) for c in req.market.comparables]
    selection, selection_out = _register_selection(req, q_subject, ctx.life)
    mv = mkt.market_value(
        [*(selection.comparables if selection else ()), *hand],
        q_subject, ctx.life, discount_rate=ctx.r if req.market.annuity_life_factor else None,
        quality_ratio_bounds=ctx.scheme.quality_ratio_bounds,
    )
    return MarketOut(
        value_fen=float_to_fen(mv.value), mean_fen=float_to_fen(mv.mean), median_fen=float_to_fen(mv.median),
        std_fen=float_to_fen(mv.std), coefficient_of_variation=mv.coefficient_of_variation,
        low_fen=float_to_fen(mv.low), high_fen=float_to_fen(mv.high),
        table=[ComparableOut(ref=t.ref, price_fen=float_to_fen(t.price_cny), quality_ratio=t.quality_ratio,
                             life_factor=t.life_factor, time_factor=t.time_factor, scope_factor=t.scope_factor,
                             transaction_type_factor=t.transaction_type_factor,
                             adjusted_value_fen=float_to_fen(t.adjusted_value), weight=t.weight)
               for t in mv.table],
        **selection_out,
    )


def _cost_approach(req: ValuationRequest) -> CostOut | None:
    """Step 6b: the cost approach, when given."""
    if req.cost is None:
        return None
    obs: float | list[tuple[str, float]] = (
        list(req.cost.obsolescence_items.items()) if req.cost.obsolescence_items else (req.cost.obsolescence or 0.0)
    )
    cv = cost_mod.cost_value([cost_mod.CostItem(i.name, _cny(i.amount_cny)) for i in req.cost.items],
                             req.cost.profit_margin, obs)
    return CostOut(value_fen=float_to_fen(cv.value), replacement_cost_fen=float_to_fen(cv.replacement_cost),
                   profit_margin=cv.profit_margin, obsolescence=cv.obsolescence,
                   items=[(i.name, cny_to_fen(i.amount_cny)) for i in req.cost.items],
                   obsolescence_items=list(cv.obsolescence_items))


def _real_option_approach(ctx: _Context, iv: inc.IncomeValue) -> RealOptionOut | None:
    """Step 6c: the real option (S = income value before TAB, T = remaining economic life), when given."""
    req = ctx.req
    if req.real_option is None:
        return None
    ro = req.real_option
    pv_before_tax_shield = iv.value_before_tab
    inputs = RealOptionInputs(pv_before_tax_shield, _cny(ro.commercialisation_cost_cny), ctx.life,
                              req.discount.risk_free, ro.volatility, ro.cost_of_delay)
    rv = value_real_option(inputs, steps=ro.binomial_steps)
    return RealOptionOut(european_fen=float_to_fen(rv.european), american_fen=float_to_fen(rv.american),
                         intrinsic_fen=float_to_fen(rv.intrinsic),
                         pv_cash_flows_fen=float_to_fen(inputs.pv_cash_flows),
                         commercialisation_cost_fen=cny_to_fen(ro.commercialisation_cost_cny), years=ctx.life,
                         volatility=ro.volatility, cost_of_delay=rv.q, risk_free=req.discount.risk_free)


def _approach_values(market: MarketOut | None, cost: CostOut | None,
                     real_option: RealOptionOut | None) -> dict[str, tuple[Fen, Fen, Fen]]:
    """(value, low, high) of the approaches given: market ± one standard deviation; cost and the real option
    (at its American value) as points."""
    values: dict[str, tuple[Fen, Fen, Fen]] = {}
    if market is not None:
        values["market"] = (market.value_fen, max(0, market.value_fen - market.std_fen),
                            market.value_fen + market.std_fen)
    if cost is not None:
        values["cost"] = (cost.value_fen,) * 3
    if real_option is not None:
        values["real_option"] = (real_option.american_fen,) * 3
    return values


def _income_at(ctx: _Context, p: dict[str, float]) -> inc.IncomeValue:
    """Deterministic income value as a function of the tornado inputs."""
    rev = [x * p["revenue_scale"] for x in mean_revenue_path(ctx.base_revenue, p["revenue_growth"],
                                                             ctx.n_years, ctx.forecast)]
    kw = dict(ctx.common, tax_rate=p["tax_rate"], discount_rate=p["discount_rate"], life_years=p["life"])
    return inc.discounted_income(ctx.req.income.method, [x * p["sales_rate"] for x in rev], rev, **kw)


def _tornado(ctx: _Context) -> tuple[float, list[TornadoBar]]:
    """Step 7b: tornado sensitivity of the deterministic income value."""
    e, r, life, sales_rate = ctx.req.economics, ctx.r, ctx.life, ctx.sales_rate

    def tv(p: Any) -> float:
        return _income_at(ctx, dict(p)).value

    bumps = {
        "revenue_scale": (0.8, 1.2),
        "revenue_growth": (max(e.revenue_growth - 0.02, -0.99), e.revenue_growth + 0.02),
        "sales_rate": (0.8 * sales_rate, 1.2 * sales_rate),
        "discount_rate": (max(0.001, r - 0.02), min(0.99, r + 0.02)),
        "life": (max(min(life, 0.5), life - TORNADO_LIFE_YEARS), min(ctx.legal, life + TORNADO_LIFE_YEARS)),
        "tax_rate": (max(0.0, e.tax_rate - 0.05), min(0.99, e.tax_rate + 0.05)),
    }
    if ctx.wnw:  # the attributable fraction is 1 by definition; revenue_scale scales the increment
        del bumps["sales_rate"]
    return tornado(tv, ctx.base_params, bumps)


def _result(ctx: _Context, rec: Reconciliation, t_base: float, bars: list[TornadoBar], warnings: list[str], *,
            income: IncomeOut, monte_carlo: MonteCarloOut | None, market: MarketOut | None, cost: CostOut | None,
            real_option: RealOptionOut | None, income_basis: str) -> ValuationResult:
    """Step 7c: the result, from every step's output."""
    asset, sc = ctx.asset, ctx.sc
    return ValuationResult(
        identifier=asset.identifier, ip_type=asset.ip_type.value, title=asset.title, valuation_date=ctx.on,
        expiry_date=asset.expiry(), remaining_legal_term_years=ctx.legal, remaining_economic_life_years=ctx.life,
        discount_rate=ctx.r, discount_build_up=[DiscountLine(item=n, rate=v) for n, v in ctx.bu.items()],
        score=None if sc is None else ScoreOut(
            total=sc.total, dimensions=dict(sc.dimensions),
            items=[ScoreLine(dimension=i.dimension, indicator=i.indicator, label_zh=i.label_zh, label_en=i.label_en,
                             score=i.score, weight=i.weight, contribution=i.contribution, source=i.source)
                   for i in sc.items],
            profit_share=sc.profit_share, risk_premia=dict(sc.risk_premia), explanation=sc.explain()),
        income=income, monte_carlo=monte_carlo, market=market, cost=cost, real_option=real_option,
        appraised_value_fen=rec.appraised_value_fen, appraised_low_fen=rec.low_fen, appraised_high_fen=rec.high_fen,
        reconciliation=[ReconLine(approach=ln.approach, value_fen=ln.value_fen, low_fen=ln.low_fen,
                                  high_fen=ln.high_fen, weight=str(ln.weight), contribution_fen=ln.contribution_fen)
                        for ln in rec.lines],
        income_basis=income_basis, tornado_base_fen=float_to_fen(t_base),
        tornado=[TornadoOut(input=b.input, base_input=b.base_input, low_input=b.low_input,
                            high_input=b.high_input, value_at_low_fen=float_to_fen(b.value_at_low),
                            value_at_high_fen=float_to_fen(b.value_at_high))
                 for b in bars],
        warnings=warnings,
    )


MC_RELATIVE_SE_WARNING = 0.01
MARKET_CV_WARNING = 0.5
SHORTFALL_WARNING = 0.10


REGISTER_SELECTION_RULE = (
    "同类型同分类、评估基准日前 N 年内的交易, 按剩余寿命与质量评分的相似度排序取前 k 个; 可人工选用或排除 / "
    "same IP type and class, traded within N years before the valuation date, ranked by similarity of "
    "remaining life and quality score, top k used; transactions can be included or excluded by hand"
)


def _register_selection(req: ValuationRequest, q_subject: float,
                        life: float) -> tuple[mkt.ComparableSelection | None, dict[str, Any]]:
    """Comparables picked from the request's transaction register, and their explanation for MarketOut."""
    assert req.market is not None
    m = req.market
    if not m.transactions:
        return None, {}
    sp = m.search
    factors = {**mkt.DEFAULT_TRANSACTION_TYPE_FACTORS, **sp.transaction_type_factors}
    try:
        search = mkt.RegisterSearch(
            ip_type=req.asset.ip_type, valuation_date=req.valuation_date, subject_quality_score=q_subject,
            subject_remaining_life_years=life, class_code=sp.class_code, max_age_years=sp.max_age_years,
            top_k=sp.top_k, life_scale_years=sp.life_scale_years, score_scale=sp.score_scale,
            missing_quality_similarity=sp.missing_quality_similarity, min_similarity=sp.min_similarity,
            annual_price_change=sp.annual_price_change, industry=sp.industry, region_prefix=sp.region_prefix,
            kinds=frozenset(sp.kinds) if sp.kinds is not None else None, transaction_type_factors=factors,
            include_ids=frozenset(sp.include_ids), exclude_ids=frozenset(sp.exclude_ids))
        register = [t.to_transaction() for t in m.transactions]
        sel = mkt.select_comparables(register, search)
    except ValueError as exc:
        raise ValueError(f"market.search: {exc}") from exc
    if not sel.comparables and not m.comparables:
        raise ValueError("market: the register search found no comparable and none was given by hand; widen the "
                         "search (class_code, max_age_years) or include transactions by id")
    by_id = {t.id: t for t in register}
    shown = [d for d in sel.decisions if d.reason is not mkt.SelectionReason.OTHER_IP_TYPE]
    out = [ComparableSelectionOut(
        transaction_id=d.transaction_id, used=d.used, reason=d.reason.value, reason_zh=d.reason_zh,
        reason_en=d.reason_en, similarity=d.similarity, rank=d.rank, age_years=d.age_years,
        kind=by_id[d.transaction_id].kind.value, price_fen=by_id[d.transaction_id].price_fen,
        transaction_date=by_id[d.transaction_id].date,
        ipc_or_nice_class=by_id[d.transaction_id].ipc_or_nice_class, time_index_ratio=d.time_index_ratio,
        transaction_type_factor=d.transaction_type_factor) for d in shown]
    return sel, {"selection": out, "register_size": sel.register_size,
                 "other_type_count": sel.register_size - len(shown), "selection_rule": REGISTER_SELECTION_RULE}


def _warnings(asset: IPAsset, legal: float, mc: MonteCarloOut | None, market: MarketOut | None,
              sc: IndicatorScore | None) -> list[str]:
    """Plain statements about the result's reliability (bilingual), for the credit officer."""
    out = []
    if asset.legal_status is LegalStatus.PENDING:
        out.append("申请未授权 / the right is pending: its grant, scope and term are not yet certain")
    if legal < 3:
        out.append(f"剩余法定保护期不足3年 / less than 3 years of legal term remain ({legal:.2f} y)")
    if asset.ip_type in NEW_COLLATERAL_TYPES:
        ct = collateral_types()[asset.ip_type]
        if ct.assumption:
            out.append(f"{ct.name_zh}期限规则含假设 / the term rule of {ct.name_en} includes an assumption: "
                       f"{ct.assumption_note}")
        if asset.expiry() == NO_STATUTORY_EXPIRY:
            out.append("无法定保护期限 / no statutory term: the economic life alone limits the income period")
    if asset.ip_type in (IPType.TRADEMARK, IPType.GEOGRAPHICAL_INDICATION) and asset.assumed_renewals:
        out.append(f"假设续展{asset.assumed_renewals}次 / the term assumes {asset.assumed_renewals} renewal(s)")
    if mc is not None:
        if mc.relative_standard_error > MC_RELATIVE_SE_WARNING:
            out.append(f"模拟误差偏大 / Monte Carlo standard error is {mc.relative_standard_error:.1%} of the mean:"
                       " use more paths")
        if mc.prob_value_below_loan is not None and mc.prob_value_below_loan > SHORTFALL_WARNING:
            out.append(f"质物价值低于贷款额的概率 {mc.prob_value_below_loan:.1%} / P(value < loan) is "
                       f"{mc.prob_value_below_loan:.1%}")
    if market is not None and market.coefficient_of_variation > MARKET_CV_WARNING:
        out.append(f"可比案例离散度高 / comparables are widely dispersed (CV {market.coefficient_of_variation:.2f})")
    if market is not None and len(market.table) < 3:
        out.append("可比案例少于3个 / fewer than 3 comparable transactions")
    if sc is not None and sc.total < 40:
        out.append(f"专利价值评分偏低 / low indicator score ({sc.total:.1f}/100)")
    return out
