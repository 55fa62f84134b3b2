"""Collateral stress test (押品压力测试) of a pledge book: named scenarios and a correlated Monte Carlo.

**Deterministic scenarios** (:func:`apply_scenario`), shipped as data in
``pledge/data/stress_scenarios.json`` (every number labelled as an assumption or sourced, with
its rationale): a relative value shock per IP type, then one per borrower industry (GB/T 4754
section; the rest get ``other_industries_shock``), then invalidation — a share of the rights
of each IP type loses all value. Money is exact integer fen:

* stressed value = ⌊⌊V · (1 + s_type)⌋ · (1 + s_industry)⌋ (each step rounded down to the fen,
  the prudent side for collateral); shocks and LTV parameters are whole basis points, so every
  step is integer arithmetic; an invalidated right is worth 0.
* breach: balance > trigger × stressed value (exact, ``balance · 10000 > trigger_bp · V``).
* margin call (追加担保/提前还款 amount): for a breaching loan, balance − ⌊max LTV × stressed value⌋,
  the repayment (or the extra lendable collateral) that brings the LTV back to the policy's
  maximum pledge rate; 0 otherwise.
* expected loss = PD × (balance − ⌊recovery rate × stressed value⌋)⁺ — LGD from the shocked
  collateral — with the stressed PD = min(1, PD × ``pd_multiplier``); rounded half-even to the
  fen (a statistic, since PD is one).
* provision (贷款损失准备) = balance × five-class rate, rounded half-up to the fen; the stressed
  class is the worse of the current class and the floor the stressed collateral sets (a breach →
  at least 关注; collateral worth 0 → at least 次级, see the JSON). The same floors are applied at
  current values for the "before" provision, so the change isolates the shock and a zero-shock
  scenario changes nothing. Rates: 银发〔2002〕98号 (1 / 2 / 25 / 50 / 100 %).

Totals per bank or per region (GB/T 2260 code prefix: 2 digits province, 4 digits city) are
integer sums, so the groups add up to the book total exactly (:func:`aggregate`).

**Monte Carlo** (:func:`run_stress_mc`): lognormal value factors with one systematic factor,
one factor per IP type and one per industry,

    ln(V₁/V₀)ᵢ = μᵢ + σᵢ (a_s Z + a_t Z_type(i) + a_g Z_industry(i) + a_e εᵢ),
    a_e = √(1 − a_s² − a_t² − a_g²),  μᵢ = ln(1 + m) − σᵢ²/2  so that E[V₁/V₀] = 1 + m,

``N`` scenarios, seeded, cut into chunks of scenarios run through :mod:`ipfin.executor`
(same seed → same answer in-process or on Dask). Within a chunk of ``s`` scenarios the draws
are, in this order: Z (s), Z_type (s × number of IP types), Z_industry (s × number of
industries), ε (s × loans). Output: the distribution of total margin calls and expected loss
(mean with SE, quantiles with SE), P(breach) per loan with its SE, and the mean margin call and
expected loss per loan. Floats are statistics; money outputs are rounded to fen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ipfin.executor import Chunk, Executor, run_chunked
from ipfin.money import Fen
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES
from pledge.monitoring import LoanClass

SCENARIOS_PATH = Path(__file__).with_name("data") / "stress_scenarios.json"
BP = 10_000  # basis points in one
_CLASSES = list(LoanClass)
_IP_TYPES = tuple(IP_TYPES)
_INDUSTRIES = tuple(INDUSTRY_SECTIONS)


def _bp(x: Any, name: str) -> int:
    """A rate (Decimal, str, int or float) as whole basis points; raises if not a whole bp."""
    d = Decimal(str(x)) if not isinstance(x, Decimal) else x
    b = d * BP
    if b != b.to_integral_value():
        raise ValueError(f"{name}: {x} is not a whole number of basis points")
    return int(b)


def _rates_bp(x: Any, n: int, name: str) -> np.ndarray:
    """Per-loan rates (a scalar or n values: floats, Decimals or strings) as int64 basis points."""
    a = np.asarray(x)
    if a.ndim == 0:
        a = np.full(n, a.item(), dtype=a.dtype)
    if a.shape != (n,):
        raise ValueError(f"{name}: expected {n} values")
    if a.dtype.kind == "f":
        b = np.rint(a * BP)
        if not np.all(np.abs(a * BP - b) < 1e-6):
            raise ValueError(f"{name}: rates must be whole basis points")
        return b.astype(np.int64)
    return np.array([_bp(v, name) for v in a.tolist()], dtype=np.int64)


# ------------------------------------------------------------------ scenarios as data


@dataclass(frozen=True, slots=True)
class Assumption:
    """A number with why it is what it is; ``assumption`` False means it is sourced."""

    value: Decimal
    rationale: str
    assumption: bool = True


@dataclass(frozen=True, slots=True)
class StressScenario:
    """A named deterministic scenario: value shocks by IP type and industry, invalidations, PD multiplier."""

    name: str
    label_zh: str
    description: str
    ip_type_shocks: Mapping[str, Assumption] = field(default_factory=dict)
    industry_shocks: Mapping[str, Assumption] = field(default_factory=dict)
    other_industries_shock: Assumption = Assumption(Decimal(0), "no shock")
    invalidation_probability: Mapping[str, Assumption] = field(default_factory=dict)
    pd_multiplier: Assumption = Assumption(Decimal(1), "no shock")

    def __post_init__(self) -> None:
        for key, table in (("ip_type_shocks", self.ip_type_shocks), ("invalidation_probability",
                                                                     self.invalidation_probability)):
            unknown = set(table) - set(_IP_TYPES)
            if unknown:
                raise ValueError(f"{self.name}.{key}: unknown IP types {sorted(unknown)}")
        unknown = set(self.industry_shocks) - set(_INDUSTRIES)
        if unknown:
            raise ValueError(f"{self.name}.industry_shocks: unknown industry sections {sorted(unknown)}")
        for a in (*self.ip_type_shocks.values(), *self.industry_shocks.values(), self.other_industries_shock):
            if not Decimal(-1) <= a.value <= Decimal(10):
                raise ValueError(f"{self.name}: a value shock must be within [-1, 10], got {a.value}")
            _bp(a.value, f"{self.name} shock")
        for a in self.invalidation_probability.values():
            if not Decimal(0) <= a.value <= Decimal(1):
                raise ValueError(f"{self.name}: invalidation probabilities must be within [0, 1]")
        if self.pd_multiplier.value < 0:
            raise ValueError(f"{self.name}: pd_multiplier must not be negative")


@dataclass(frozen=True, slots=True)
class StressParameters:
    """Book-wide assumptions: disposal recovery rate, five-class provision rates, stress class floors."""

    recovery_rate: Assumption = Assumption(Decimal("0.40"), "prudent forced-sale recovery of IP")
    provision_rates: Mapping[LoanClass, Assumption] = field(default_factory=lambda: {
        LoanClass.NORMAL: Assumption(Decimal("0.01"), "银发〔2002〕98号 art. 4", False),
        LoanClass.SPECIAL_MENTION: Assumption(Decimal("0.02"), "银发〔2002〕98号 art. 5", False),
        LoanClass.SUBSTANDARD: Assumption(Decimal("0.25"), "银发〔2002〕98号 art. 5", False),
        LoanClass.DOUBTFUL: Assumption(Decimal("0.50"), "银发〔2002〕98号 art. 5", False),
        LoanClass.LOSS: Assumption(Decimal("1.00"), "银发〔2002〕98号 art. 5", False),
    })
    class_if_breach: LoanClass = LoanClass.SPECIAL_MENTION
    class_if_collateral_lost: LoanClass = LoanClass.SUBSTANDARD

    def __post_init__(self) -> None:
        if set(self.provision_rates) != set(LoanClass):
            raise ValueError("provision_rates needs a rate for each of the five classes")
        if not Decimal(0) <= self.recovery_rate.value <= Decimal(1):
            raise ValueError("recovery_rate must be within [0, 1]")

    @property
    def provision_bp(self) -> np.ndarray:
        return np.array([_bp(self.provision_rates[c].value, f"provision rate {c}") for c in _CLASSES], np.int64)


def _assumption(d: Mapping[str, Any], where: str) -> Assumption:
    if not isinstance(d, Mapping) or "value" not in d or not str(d.get("rationale", "")).strip():
        raise ValueError(f"{where}: every number needs a value and a rationale")
    return Assumption(Decimal(str(d["value"])), str(d["rationale"]), bool(d.get("assumption", True)))


def load_scenarios(path: str | Path = SCENARIOS_PATH) -> tuple[dict[str, StressScenario], StressParameters]:
    """Read the named scenarios and the book-wide parameters from a JSON file (default: the shipped one).

    Examples
    --------
    >>> scenarios, params = load_scenarios()
    >>> sorted(scenarios)[:3], scenarios["sector_downturn"].label_zh
    (['baseline', 'combined_severe', 'patent_invalidation_wave'], '行业下行')
    >>> scenarios["sector_downturn"].industry_shocks["C"].value, params.recovery_rate.value
    (Decimal('-0.30'), Decimal('0.40'))
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    p = raw["parameters"]
    rates = {LoanClass(k): _assumption(v, f"provision_rates.{k}") for k, v in p["provision_rates"].items()}
    sc = p["stress_classification"]
    params = StressParameters(
        recovery_rate=_assumption(p["recovery_rate"], "recovery_rate"), provision_rates=rates,
        class_if_breach=LoanClass(_assumption_text(sc["ltv_breach"], "ltv_breach")),
        class_if_collateral_lost=LoanClass(_assumption_text(sc["collateral_lost"], "collateral_lost")),
    )
    out: dict[str, StressScenario] = {}
    for s in raw["scenarios"]:
        name = s["name"]
        out[name] = StressScenario(
            name=name, label_zh=s["label_zh"], description=s["description"],
            ip_type_shocks={k: _assumption(v, f"{name}.ip_type_shocks.{k}") for k, v in s["ip_type_shocks"].items()},
            industry_shocks={k: _assumption(v, f"{name}.industry_shocks.{k}")
                             for k, v in s["industry_shocks"].items()},
            other_industries_shock=_assumption(s["other_industries_shock"], f"{name}.other_industries_shock"),
            invalidation_probability={k: _assumption(v, f"{name}.invalidation_probability.{k}")
                                      for k, v in s["invalidation_probability"].items()},
            pd_multiplier=_assumption(s["pd_multiplier"], f"{name}.pd_multiplier"),
        )
    return out, params


def _assumption_text(d: Mapping[str, Any], where: str) -> str:
    if not str(d.get("rationale", "")).strip():
        raise ValueError(f"{where}: needs a rationale")
    return str(d["value"])


# ------------------------------------------------------------------ the book


@dataclass(frozen=True, slots=True)
class CollateralBook:
    """Loans with their latest collateral valuation, as arrays (one entry per loan).

    ``balance_fen`` outstanding principal and ``collateral_value_fen`` latest valuation of the
    collateral set (integer fen); ``ip_type`` (``ipfin.reference.IP_TYPES``), ``industry``
    (GB/T 4754 section letter), ``region`` (GB/T 2260 6-digit code), ``bank_id``;
    ``max_ltv`` the policy's maximum pledge rate and ``margin_call_trigger`` its LTV breach trigger
    (rates, whole basis points; scalars apply to every loan); ``pd_12m`` the 12-month PD (e.g.
    from :mod:`pledge.early_warning`); ``loan_class`` the current five-class (default 正常).
    """

    balance_fen: np.ndarray
    collateral_value_fen: np.ndarray
    ip_type: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    bank_id: np.ndarray
    max_ltv: Any
    margin_call_trigger: Any
    pd_12m: Any = 0.0
    loan_class: Any = None
    loan_id: Any = None
    max_ltv_bp: np.ndarray = field(init=False)
    trigger_bp: np.ndarray = field(init=False)
    class_index: np.ndarray = field(init=False)
    type_index: np.ndarray = field(init=False)
    industry_index: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        s = object.__setattr__
        bal = np.asarray(self.balance_fen)
        n = bal.shape[0] if bal.ndim == 1 else -1
        if n <= 0:
            raise ValueError("balance_fen must be a non-empty 1-d array")
        for name in ("balance_fen", "collateral_value_fen"):
            a = np.asarray(getattr(self, name))
            if a.shape != (n,) or a.dtype.kind not in "iu":
                raise ValueError(f"{name} must be {n} integer fen")
            if (a < 0).any():
                raise ValueError(f"{name} must not be negative")
            if int(a.max()) >= 2**62 // BP:
                raise ValueError(f"{name}: amounts too large for exact int64 arithmetic")
            s(self, name, a.astype(np.int64))
        for name in ("ip_type", "industry", "region", "bank_id"):
            a = np.asarray(getattr(self, name)).astype(str)
            if a.shape != (n,):
                raise ValueError(f"{name} must have {n} entries")
            s(self, name, a)
        s(self, "type_index", _index_of(self.ip_type, _IP_TYPES, "ip_type"))
        s(self, "industry_index", _index_of(self.industry, _INDUSTRIES, "industry"))
        s(self, "max_ltv_bp", _rates_bp(self.max_ltv, n, "max_ltv"))
        s(self, "trigger_bp", _rates_bp(self.margin_call_trigger, n, "margin_call_trigger"))
        if (self.max_ltv_bp <= 0).any() or (self.trigger_bp <= 0).any():
            raise ValueError("max_ltv and margin_call_trigger must be positive")
        pd = np.broadcast_to(np.asarray(self.pd_12m, dtype=np.float64), (n,)).copy()
        if not ((pd >= 0) & (pd <= 1)).all():
            raise ValueError("pd_12m must be within [0, 1]")
        s(self, "pd_12m", pd)
        if self.loan_class is None:
            ci = np.zeros(n, dtype=np.int8)
        else:
            lc = np.asarray(self.loan_class)
            lc = np.full(n, lc.item()) if lc.ndim == 0 else lc
            if lc.shape != (n,):
                raise ValueError(f"loan_class must have {n} entries")
            ci = np.array([_CLASSES.index(LoanClass(v)) for v in lc.tolist()], dtype=np.int8)
        s(self, "class_index", ci)
        ids = np.arange(n).astype(str) if self.loan_id is None else np.asarray(self.loan_id).astype(str)
        if ids.shape != (n,):
            raise ValueError(f"loan_id must have {n} entries")
        s(self, "loan_id", ids)

    @property
    def n(self) -> int:
        return int(self.balance_fen.shape[0])


def _index_of(values: np.ndarray, vocabulary: tuple[str, ...], name: str) -> np.ndarray:
    vocab = np.array(vocabulary)
    order = np.argsort(vocab)
    pos = np.clip(np.searchsorted(vocab[order], values), 0, len(vocab) - 1)
    bad = vocab[order][pos] != values
    if bad.any():
        raise ValueError(f"{name}: unknown values {sorted(set(values[bad].tolist()))[:5]}")
    return order[pos].astype(np.intp)


# ------------------------------------------------------------------ deterministic application


@dataclass(frozen=True, slots=True)
class StressResult:
    """Per-loan outcome of one deterministic scenario; money in integer fen."""

    scenario: str
    book: CollateralBook
    value_after_fen: np.ndarray
    invalidated: np.ndarray
    breach_before: np.ndarray
    breach_after: np.ndarray
    margin_call_fen: np.ndarray
    pd_after: np.ndarray
    expected_loss_before_fen: np.ndarray
    expected_loss_after_fen: np.ndarray
    class_before: np.ndarray  # index into LoanClass order, current values
    class_after: np.ndarray  # index into LoanClass order, stressed values
    provision_before_fen: np.ndarray
    provision_after_fen: np.ndarray

    @property
    def ltv_before(self) -> np.ndarray:
        """Outstanding ÷ latest value (float, inf when the collateral is worth 0)."""
        return _ratio(self.book.balance_fen, self.book.collateral_value_fen)

    @property
    def ltv_after(self) -> np.ndarray:
        return _ratio(self.book.balance_fen, self.value_after_fen)

    @property
    def provision_change_fen(self) -> np.ndarray:
        return self.provision_after_fen - self.provision_before_fen

    def total(self) -> GroupTotals:
        return _group_totals(self, "all", np.arange(self.book.n))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den.astype(np.float64)
    return np.where(den == 0, np.where(num > 0, np.inf, 0.0), r)


def _shock_factor_bp(table: Mapping[str, Assumption], vocabulary: tuple[str, ...], default: Decimal) -> np.ndarray:
    return np.array([BP + _bp(table[v].value if v in table else default, "shock") for v in vocabulary], np.int64)


def apply_scenario(
    book: CollateralBook, scenario: StressScenario, params: StressParameters | None = None, *,
    invalidation: Literal["sampled", "expected"] = "sampled", seed: int = 0,
) -> StressResult:
    """Apply a named scenario to every loan (rules in the module docstring).

    ``invalidation="sampled"`` draws which rights are invalidated (each right of type t with
    probability p_t, ``numpy.random.default_rng(seed)``, one uniform per loan in book order);
    ``"expected"`` applies p_t as a value haircut on every right of type t instead.

    Examples
    --------
    >>> scenarios, params = load_scenarios()
    >>> book = CollateralBook(np.array([600_000_00]), np.array([1_000_000_00]), ["invention_patent"], ["C"],
    ...                       ["500100"], ["B1"], max_ltv=0.5, margin_call_trigger=0.7)
    >>> r = apply_scenario(book, scenarios["sector_downturn"], params)
    >>> int(r.value_after_fen[0]), bool(r.breach_after[0]), int(r.margin_call_fen[0])
    (70000000, True, 25000000)
    """
    params = params or StressParameters()
    n = book.n
    v = book.collateral_value_fen
    f_type = _shock_factor_bp(scenario.ip_type_shocks, _IP_TYPES, Decimal(0))[book.type_index]
    f_ind = _shock_factor_bp(scenario.industry_shocks, _INDUSTRIES,
                             scenario.other_industries_shock.value)[book.industry_index]
    v_after = (v * f_type) // BP
    v_after = (v_after * f_ind) // BP
    p_inv_bp = np.array([_bp(scenario.invalidation_probability[t].value, "invalidation probability")
                         if t in scenario.invalidation_probability else 0 for t in _IP_TYPES],
                        np.int64)[book.type_index]
    if invalidation == "sampled":
        u = np.random.default_rng(seed).random(n)
        invalidated = u < p_inv_bp / BP
        v_after = np.where(invalidated, 0, v_after)
    elif invalidation == "expected":
        invalidated = p_inv_bp == BP
        v_after = (v_after * (BP - p_inv_bp)) // BP
    else:
        raise ValueError("invalidation must be 'sampled' or 'expected'")
    bal = book.balance_fen
    breach_before = bal * BP > book.trigger_bp * v
    breach_after = bal * BP > book.trigger_bp * v_after
    lendable = (v_after * book.max_ltv_bp) // BP
    margin_call = np.where(breach_after, np.maximum(bal - lendable, 0), 0).astype(np.int64)
    rec_bp = _bp(params.recovery_rate.value, "recovery_rate")
    pd_after = np.minimum(1.0, book.pd_12m * float(scenario.pd_multiplier.value))
    el_before = _expected_loss_fen(book.pd_12m, bal, v, rec_bp)
    el_after = _expected_loss_fen(pd_after, bal, v_after, rec_bp)
    class_before = np.maximum(book.class_index, _class_floor(breach_before, v, bal, params)).astype(np.int8)
    class_after = np.maximum(book.class_index, _class_floor(breach_after, v_after, bal, params)).astype(np.int8)
    rates = params.provision_bp
    prov_before = (bal * rates[class_before] + BP // 2) // BP
    prov_after = (bal * rates[class_after] + BP // 2) // BP
    return StressResult(scenario.name, book, v_after, invalidated, breach_before, breach_after, margin_call, pd_after,
                        el_before, el_after, class_before, class_after, prov_before, prov_after)


def _class_floor(breach: np.ndarray, value: np.ndarray, balance: np.ndarray, params: StressParameters) -> np.ndarray:
    floor = np.where(breach, _CLASSES.index(params.class_if_breach), 0)
    lost = (value == 0) & (balance > 0)
    return np.where(lost, np.maximum(floor, _CLASSES.index(params.class_if_collateral_lost)), floor)


def _expected_loss_fen(pd: np.ndarray, balance: np.ndarray, value: np.ndarray, recovery_bp: int) -> np.ndarray:
    loss_given_default = np.maximum(balance - (value * recovery_bp) // BP, 0)
    return np.rint(pd * loss_given_default).astype(np.int64)


# ------------------------------------------------------------------ aggregation


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """Sums over one bank or region (all money in fen, exact integer sums)."""

    key: str
    n_loans: int
    balance_fen: Fen
    value_before_fen: Fen
    value_after_fen: Fen
    n_breach_before: int
    n_breach_after: int
    margin_call_fen: Fen
    expected_loss_before_fen: Fen
    expected_loss_after_fen: Fen
    provision_before_fen: Fen
    provision_after_fen: Fen

    @property
    def provision_change_fen(self) -> Fen:
        return self.provision_after_fen - self.provision_before_fen

    @property
    def expected_loss_change_fen(self) -> Fen:
        return self.expected_loss_after_fen - self.expected_loss_before_fen


_SUMMED = ("balance_fen", "value_before_fen", "value_after_fen", "n_breach_before", "n_breach_after",
           "margin_call_fen", "expected_loss_before_fen", "expected_loss_after_fen", "provision_before_fen",
           "provision_after_fen")


def _columns(r: StressResult) -> dict[str, np.ndarray]:
    return {
        "balance_fen": r.book.balance_fen, "value_before_fen": r.book.collateral_value_fen,
        "value_after_fen": r.value_after_fen, "n_breach_before": r.breach_before.astype(np.int64),
        "n_breach_after": r.breach_after.astype(np.int64), "margin_call_fen": r.margin_call_fen,
        "expected_loss_before_fen": r.expected_loss_before_fen, "expected_loss_after_fen": r.expected_loss_after_fen,
        "provision_before_fen": r.provision_before_fen, "provision_after_fen": r.provision_after_fen,
    }


def _group_totals(r: StressResult, key: str, rows: np.ndarray) -> GroupTotals:
    cols = _columns(r)
    return GroupTotals(key, int(rows.size), *(int(cols[c][rows].sum()) for c in _SUMMED))


def _group_keys(book: CollateralBook, by: str) -> np.ndarray:
    if by == "bank":
        return book.bank_id
    if by in ("province", "city"):
        digits = 2 if by == "province" else 4
        return np.char.ljust(book.region.astype(f"<U{digits}"), 6, "0")
    raise ValueError("by must be 'bank', 'province' or 'city'")


def aggregate(result: StressResult, by: Literal["bank", "province", "city"] = "bank") -> tuple[GroupTotals, ...]:
    """Totals per bank, or per region for a bureau (province: first 2 digits of the GB/T 2260 code, city: 4),
    keyed by bank id or by the 6-digit code of the region (e.g. ``"440000"``, ``"440300"``), sorted by key.

    Integer sums: the groups add up exactly to :meth:`StressResult.total`.
    """
    keys = _group_keys(result.book, by)
    uniq, inv = np.unique(keys, return_inverse=True)
    cols = _columns(result)
    sums = {c: np.zeros(uniq.size, np.int64) for c in _SUMMED}
    for c in _SUMMED:
        np.add.at(sums[c], inv, cols[c])
    counts = np.bincount(inv, minlength=uniq.size)
    return tuple(GroupTotals(str(k), int(counts[g]), *(int(sums[c][g]) for c in _SUMMED))
                 for g, k in enumerate(uniq.tolist()))


# ------------------------------------------------------------------ Monte Carlo of correlated shocks


@dataclass(frozen=True, slots=True)
class ShockFactorModel:
    """Lognormal one-year value factors with systematic, IP-type and industry factors.

    ``volatility``: annual σ of ln(value) per IP type (default 0.30 for types not listed);
    loadings a_s, a_t, a_g with a_s² + a_t² + a_g² ≤ 1 (the rest is idiosyncratic);
    ``mean_change`` m: expected relative value change, E[V₁/V₀] = 1 + m. All assumptions.
    """

    volatility: Mapping[str, float] = field(default_factory=lambda: {
        "invention_patent": 0.30, "utility_model": 0.35, "design": 0.35, "trademark": 0.25, "copyright": 0.35,
        "software_copyright": 0.40})
    systematic_loading: float = 0.4
    ip_type_loading: float = 0.3
    industry_loading: float = 0.3
    mean_change: float = 0.0

    def __post_init__(self) -> None:
        if self.idiosyncratic_loading_squared < -1e-12:
            raise ValueError("loadings must satisfy a_s² + a_t² + a_g² ≤ 1")
        if any(not 0 <= s < 5 for s in self.volatility.values()) or set(self.volatility) - set(_IP_TYPES):
            raise ValueError("volatility: known IP types, 0 ≤ σ < 5")
        if self.mean_change <= -1:
            raise ValueError("mean_change must be above -1")

    @property
    def idiosyncratic_loading_squared(self) -> float:
        return 1.0 - self.systematic_loading**2 - self.ip_type_loading**2 - self.industry_loading**2

    def sigma_by_type(self) -> np.ndarray:
        return np.array([self.volatility.get(t, 0.30) for t in _IP_TYPES])

    def log_correlation(self, same_type: bool, same_industry: bool) -> float:
        """Correlation of ln factors of two loans (closed form): a_s² + [same type] a_t² + [same industry] a_g²."""
        return (self.systematic_loading**2 + same_type * self.ip_type_loading**2
                + same_industry * self.industry_loading**2)


@dataclass(frozen=True, slots=True)
class _Arrays:
    """The book reduced to what a Monte Carlo chunk needs (picklable for Dask)."""

    balance: np.ndarray
    value: np.ndarray
    max_ltv: np.ndarray
    trigger: np.ndarray
    pd: np.ndarray
    type_index: np.ndarray
    industry_index: np.ndarray
    recovery: float

    @property
    def breach_below(self) -> np.ndarray:
        """A stressed value below balance ÷ trigger breaches."""
        return self.balance / self.trigger


def draw_log_factors(rng: np.random.Generator, n_scenarios: int, type_index: np.ndarray,
                     industry_index: np.ndarray, model: ShockFactorModel) -> np.ndarray:
    """ln(V₁/V₀) for ``n_scenarios`` × loans (draw order as in the module docstring).

    Examples
    --------
    >>> x = draw_log_factors(np.random.default_rng(0), 4000, np.array([0, 0]), np.array([2, 2]), ShockFactorModel())
    >>> x.shape, bool(abs(np.corrcoef(x.T)[0, 1] - ShockFactorModel().log_correlation(True, True)) < 0.05)
    ((4000, 2), True)
    """
    s = n_scenarios
    z_sys = rng.standard_normal(s)
    z_type = rng.standard_normal((s, len(_IP_TYPES)))
    z_ind = rng.standard_normal((s, len(_INDUSTRIES)))
    eps = rng.standard_normal((s, type_index.size))
    sig = model.sigma_by_type()
    a_e = np.sqrt(max(model.idiosyncratic_loading_squared, 0.0))
    # common part per (IP type, industry) cell, then gathered to loans
    cell = type_index * len(_INDUSTRIES) + industry_index
    ct = np.repeat(np.arange(len(_IP_TYPES)), len(_INDUSTRIES))
    ci = np.tile(np.arange(len(_INDUSTRIES)), len(_IP_TYPES))
    mu = np.log1p(model.mean_change) - 0.5 * sig[ct] ** 2
    common = (model.systematic_loading * z_sys[:, None] + model.ip_type_loading * z_type[:, ct]
              + model.industry_loading * z_ind[:, ci])
    common *= sig[ct]
    common += mu
    eps *= sig[type_index] * a_e
    eps += common[:, cell]
    return eps


def _mc_chunk(arrays: _Arrays, model: ShockFactorModel, chunk: Chunk) -> tuple[np.ndarray, ...]:
    rng = chunk.rng()
    x = draw_log_factors(rng, chunk.size, arrays.type_index, arrays.industry_index, model)
    np.exp(x, out=x)
    x *= arrays.value  # stressed value V₁ (float fen)
    breach = x < arrays.breach_below  # balance > trigger × V₁
    call = arrays.max_ltv * x
    np.subtract(arrays.balance, call, out=call)
    np.maximum(call, 0.0, out=call)
    call *= breach
    x *= -arrays.recovery
    x += arrays.balance
    np.maximum(x, 0.0, out=x)
    x *= arrays.pd  # expected loss per loan
    return (call.sum(axis=1), x.sum(axis=1), breach.sum(axis=1), breach.sum(axis=0),
            call.sum(axis=0), x.sum(axis=0))


@dataclass(frozen=True, slots=True)
class Quantile:
    level: float
    value_fen: Fen
    standard_error_fen: Fen


@dataclass(frozen=True, slots=True)
class MoneyDistribution:
    """Distribution over scenarios of a money total: mean ± SE and quantiles ± SE (fen)."""

    mean_fen: Fen
    standard_error_fen: Fen
    quantiles: tuple[Quantile, ...]


def summarise_distribution(x: np.ndarray, levels: Sequence[float] = (0.5, 0.9, 0.95, 0.99, 0.999)) -> MoneyDistribution:
    """Mean with SE = sd/√N, and quantiles with a distribution-free SE.

    The quantile SE is the half-width of the order-statistic 95 % confidence interval divided
    by 1.96: ranks N·q ∓ 1.96·√(N·q·(1 − q)) (normal approximation to the binomial; Conover,
    *Practical Nonparametric Statistics*, 3rd ed., 1999, §3.2). The ranks are clipped to the sample,
    so the SE is understated when N·(1 − q) is small (e.g. fewer than ~20 scenarios beyond the quantile).
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    qs = []
    for q in levels:
        half = 1.959963984540054 * np.sqrt(n * q * (1 - q))
        lo = int(np.clip(np.floor(n * q - half), 0, n - 1))
        hi = int(np.clip(np.ceil(n * q + half), 0, n - 1))
        qs.append(Quantile(q, round(float(np.quantile(x, q))), round((x[hi] - x[lo]) / (2 * 1.959963984540054))))
    se = float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return MoneyDistribution(round(float(x.mean())), round(se) if n > 1 else 0, tuple(qs))


@dataclass(frozen=True, slots=True)
class StressMCResult:
    """Monte Carlo stress: per-scenario totals, and per-loan breach probability and mean amounts."""

    n_scenarios: int
    seed: int
    total_margin_call: np.ndarray  # float fen, per scenario
    total_expected_loss: np.ndarray  # float fen, per scenario
    n_breaches: np.ndarray  # per scenario
    p_breach: np.ndarray  # per loan
    mean_margin_call: np.ndarray  # float fen, per loan
    mean_expected_loss: np.ndarray  # float fen, per loan

    @property
    def p_breach_se(self) -> np.ndarray:
        return np.sqrt(self.p_breach * (1 - self.p_breach) / self.n_scenarios)

    def margin_call_distribution(self) -> MoneyDistribution:
        return summarise_distribution(self.total_margin_call)

    def expected_loss_distribution(self) -> MoneyDistribution:
        return summarise_distribution(self.total_expected_loss)


def default_chunk_size(n_loans: int) -> int:
    """Scenarios per Monte Carlo chunk: about 2²⁰ loan-scenarios, at least one scenario."""
    return max(1, 2**20 // n_loans)


def run_stress_mc(
    book: CollateralBook, model: ShockFactorModel, n_scenarios: int, seed: int, *,
    recovery_rate: float | Decimal | str = "0.40", chunk_size: int | None = None, executor: Executor | None = None,
) -> StressMCResult:
    """Monte Carlo of correlated collateral value shocks over ``book`` (see the module docstring).

    For each scenario: breach where balance > trigger × V₁; margin call (balance − max LTV × V₁)⁺
    on breaching loans; expected loss PD × (balance − recovery × V₁)⁺. ``chunk_size`` scenarios
    per chunk; by default max(1, 2²⁰ ÷ loans), so that a chunk's arrays (8 MiB each) stay in cache.
    The answer depends on the book, seed and chunk size, never on the executor.

    Examples
    --------
    >>> book = CollateralBook(np.array([500_000_00, 300_000_00]), np.array([1_000_000_00, 1_000_000_00]),
    ...     ["invention_patent", "trademark"], ["C", "I"], ["500100", "440300"], ["B1", "B2"],
    ...     max_ltv=0.5, margin_call_trigger=0.7, pd_12m=0.05)
    >>> r = run_stress_mc(book, ShockFactorModel(), 2000, seed=1)
    >>> r.p_breach.shape, bool(r.p_breach[0] > r.p_breach[1])
    ((2,), True)
    """
    if n_scenarios <= 0:
        raise ValueError("n_scenarios must be positive")
    rec = float(Decimal(str(recovery_rate)))
    if not 0 <= rec <= 1:
        raise ValueError("recovery_rate must be within [0, 1]")
    arrays = _Arrays(book.balance_fen.astype(np.float64), book.collateral_value_fen.astype(np.float64),
                     book.max_ltv_bp / BP, book.trigger_bp / BP, book.pd_12m, book.type_index,
                     book.industry_index, rec)
    if chunk_size is None:
        chunk_size = default_chunk_size(book.n)
    parts = run_chunked(partial(_mc_chunk, arrays, model), n_scenarios, seed, chunk_size=chunk_size,
                        executor=executor)
    calls = np.concatenate([p[0] for p in parts])
    losses = np.concatenate([p[1] for p in parts])
    n_breach = np.concatenate([p[2] for p in parts])
    breach_count = np.sum([p[3] for p in parts], axis=0)
    call_sum = np.sum([p[4] for p in parts], axis=0)
    loss_sum = np.sum([p[5] for p in parts], axis=0)
    return StressMCResult(n_scenarios, seed, calls, losses, n_breach, breach_count / n_scenarios,
                          call_sum / n_scenarios, loss_sum / n_scenarios)


@dataclass(frozen=True, slots=True)
class MCGroup:
    """Monte Carlo means over one bank or region: expected number of breaches, mean margin call and EL (fen)."""

    key: str
    n_loans: int
    expected_breaches: float
    mean_margin_call_fen: Fen
    mean_expected_loss_fen: Fen


def aggregate_mc(book: CollateralBook, result: StressMCResult,
                 by: Literal["bank", "province", "city"] = "bank") -> tuple[MCGroup, ...]:
    """Per-bank or per-region means of a Monte Carlo stress (keys as in :func:`aggregate`).

    Each group's money is rounded to the fen on its own (statistics), so the groups add up to the
    book's mean only to within a fen per group.
    """
    if result.p_breach.shape != (book.n,):
        raise ValueError("result does not belong to this book")
    keys = _group_keys(book, by)
    uniq, inv = np.unique(keys, return_inverse=True)
    counts = np.bincount(inv, minlength=uniq.size)
    breaches = np.bincount(inv, result.p_breach, uniq.size)
    calls = np.bincount(inv, result.mean_margin_call, uniq.size)
    losses = np.bincount(inv, result.mean_expected_loss, uniq.size)
    return tuple(MCGroup(str(k), int(counts[g]), float(breaches[g]), round(float(calls[g])), round(float(losses[g])))
                 for g, k in enumerate(uniq.tolist()))
