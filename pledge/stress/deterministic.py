"""Deterministic application of a named scenario (:func:`apply_scenario`) and exact aggregation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np

from ipfin.money import Fen
from pledge.stress.book import CollateralBook
from pledge.stress.scenarios import (
    _CLASSES,
    _INDUSTRIES,
    _IP_TYPES,
    BP,
    Assumption,
    StressParameters,
    StressScenario,
    _bp,
)

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
    >>> import numpy as np
    >>> from pledge.stress import CollateralBook, apply_scenario, load_scenarios
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

