"""The collateral book a stress test runs on (:class:`CollateralBook`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pledge.monitoring import LoanClass
from pledge.stress.scenarios import _CLASSES, _INDUSTRIES, _IP_TYPES, BP, _rates_bp

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

