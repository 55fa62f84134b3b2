"""Stress scenarios as data: :func:`load_scenarios` reads ``pledge/data/stress_scenarios.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES
from pledge.monitoring import LoanClass

SCENARIOS_PATH = Path(__file__).parent.parent / "data" / "stress_scenarios.json"
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

