"""The rule as arrays (:class:`_RulePlan`) and the engine's loss split for many claims at once, in CNY floats
(:func:`split_loss_vectorised`, the semantics of :func:`risk_sharing.splitting.split_loss`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ipfin.money import cny_to_fen
from risk_sharing.rules import CapOverflow, LossBasis, RecoveryPolicyKind, Rule, TriggerKind

CLAIM_REVIEW_MONTHS = 2
"""Months from the trigger date to payment — claim filed, reviewed against the rule, each party's share approved
and paid. An assumption: neither the sources in the seeds nor DESIGN.md give a figure."""

NPL_TRIGGER_DAYS = 90
"""Days overdue at which a loan is usually classified non-performing (DESIGN.md: ">90 days overdue is the usual
line"): the trigger delay assumed for an ``npl_class`` trigger."""


def default_claim_lag_months(rule: Rule) -> int:
    """Months from default to payout when none is given (an assumption): the rule's trigger delay — its
    ``trigger.days`` for overdue / recovery-effort triggers, :data:`NPL_TRIGGER_DAYS` for an NPL-class trigger —
    in whole months rounded up (30.4-day months), plus :data:`CLAIM_REVIEW_MONTHS`.

    Examples
    --------
    >>> from risk_sharing.presets import load_preset
    >>> default_claim_lag_months(load_preset("chongqing-4222"))  # 90 days overdue + 2 months
    5
    >>> default_claim_lag_months(load_preset("chongqing-micro-loan"))  # 180 days of recovery effort + 2 months
    8
    """
    days = NPL_TRIGGER_DAYS if rule.trigger.kind is TriggerKind.NPL_CLASS else rule.trigger.days
    return math.ceil(days * 12 / 365) + CLAIM_REVIEW_MONTHS


def _cny(value: Decimal | None) -> float:
    return math.inf if value is None else cny_to_fen(value) / 100.0


@dataclass(frozen=True)
class _RulePlan:
    """The rule's numbers as floats and indices for the vectorised split (CNY, fractions)."""

    keys: tuple[str, ...]
    shares: np.ndarray  # fractions, sum 1
    comp: np.ndarray  # indices of compensating parties
    residual: int
    pro_rata_overflow: bool
    basis: LossBasis
    base_per_loan: float
    base_per_borrower_year: float
    comp_per_loan: float
    comp_per_borrower_year: float
    comp_per_borrower_lifetime: float
    comp_per_lender_year: float
    party_year: np.ndarray  # per compensating party, inf if none
    party_balance: np.ndarray  # per compensating party, inf unless balance_limited
    party_per_loan: np.ndarray  # per compensating party, inf unless limited per loan (an insurer's policy)
    payout_rate_ceiling: float
    recovery_priority: tuple[int, ...]

    @classmethod
    def from_rule(cls, rule: Rule, party_balance_cny: dict[str, float] | None) -> _RulePlan:
        keys = rule.party_keys
        comp_keys = rule.compensator_keys
        caps = rule.caps
        balances = party_balance_cny or {}
        pb = []
        for k in comp_keys:
            if rule.party(k).balance_limited:
                if k not in balances:
                    raise ValueError(f"party_balance_cny: balance of '{k}' is needed (balance_limited)")
                pb.append(float(balances[k]))
            else:
                pb.append(math.inf)
        for k in balances:
            if k not in comp_keys or not rule.party(k).balance_limited:
                raise ValueError(f"party_balance_cny: '{k}' is not a balance-limited compensating party")
        prio = (
            tuple(keys.index(k) for k in rule.recovery.priority)
            if rule.recovery.kind is RecoveryPolicyKind.PRIORITY
            else ()
        )
        return cls(
            keys=keys,
            shares=np.array([float(p.share) / 100.0 for p in rule.parties]),
            comp=np.array([keys.index(k) for k in comp_keys], dtype=np.int64),
            residual=keys.index(rule.residual_bearer),  # type: ignore[arg-type]
            pro_rata_overflow=rule.cap_overflow is CapOverflow.PRO_RATA_UNCAPPED,
            basis=rule.loss_base.basis,
            base_per_loan=_cny(caps.base_per_loan_cny),
            base_per_borrower_year=_cny(caps.base_per_borrower_year_cny),
            comp_per_loan=_cny(caps.compensation_per_loan_cny),
            comp_per_borrower_year=_cny(caps.compensation_per_borrower_year_cny),
            comp_per_borrower_lifetime=_cny(caps.compensation_per_borrower_lifetime_cny),
            comp_per_lender_year=_cny(caps.compensation_per_lender_year_cny),
            party_year=np.array([_cny(caps.party_year_cny.get(k)) for k in comp_keys]),
            party_balance=np.array(pb),
            party_per_loan=np.array([_cny(rule.party_per_loan_limit_cny(k)) for k in comp_keys]),
            payout_rate_ceiling=math.inf if caps.payout_rate_ceiling is None else float(caps.payout_rate_ceiling),
            recovery_priority=prio,
        )

    @property
    def running_sums(self) -> bool:
        """Whether the cumulative caps can be applied exactly by capped running sums in one pass: the loss-base
        cap per borrower, then either budgets/balances of parties (one each, residual-bearer overflow, no
        per-loan compensation cap) or one aggregate compensation cap — never both."""
        year, bal = self.party_year < math.inf, self.party_balance < math.inf
        aggs = sum(getattr(self, n) < math.inf for n in (
            "comp_per_borrower_year", "comp_per_borrower_lifetime", "comp_per_lender_year", "payout_rate_ceiling"))
        if np.any(year & bal) or (np.any(year | bal) and aggs) or aggs > 1:
            return False
        if self.per_loan_limited and aggs:  # a binding aggregate cap is water-filled, not scaled, then
            return False
        return not (np.any(year | bal) and (self.pro_rata_overflow or self.comp_per_loan < math.inf))

    @property
    def per_loan_limited(self) -> bool:
        """Whether some compensating party pays at most a fixed amount per loan (an insurer's limit)."""
        return bool(np.any(self.party_per_loan < math.inf))

    def per_loan_headroom(self, k: int) -> np.ndarray | None:
        """Per-loan party limits for ``k`` claims (claims × compensating parties), ``None`` if there are none."""
        return np.broadcast_to(self.party_per_loan, (k, self.party_per_loan.size)) if self.per_loan_limited else None

    @property
    def cumulative_caps(self) -> tuple[str, ...]:
        """Names of the caps that depend on earlier claims (budgets, balances, per-borrower/lender, ceiling)."""
        names = [f"party_year[{self.keys[j]}]" for j, v in zip(self.comp, self.party_year, strict=True) if v < math.inf]
        names += [f"fund_balance[{self.keys[j]}]" for j, v in zip(self.comp, self.party_balance, strict=True)
                  if v < math.inf]
        for name in ("base_per_borrower_year", "comp_per_borrower_year", "comp_per_borrower_lifetime",
                     "comp_per_lender_year", "payout_rate_ceiling"):
            if getattr(self, name) < math.inf:
                names.append(name.replace("comp_", "compensation_"))
        return tuple(names)


def _water_fill(target: np.ndarray, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Rows of ``target`` split pro rata to ``weights`` with part j ≤ caps[:, j] (what a capped part cannot
    take is re-spread over the others), as :func:`ipfin.money.allocate_capped` does in fen."""
    k, p = caps.shape
    parts = np.zeros((k, p))
    remaining = np.minimum(target, caps.sum(axis=1))
    active = (caps > 0) & (weights > 0)[None, :]
    for _ in range(p + 1):
        wa = np.where(active, weights[None, :], 0.0)
        sw = wa.sum(axis=1)
        live = (remaining > 0) & (sw > 0)
        if not live.any():
            break
        trial = np.where(live[:, None], remaining[:, None] * wa / np.where(sw > 0, sw, 1.0)[:, None], 0.0)
        over = active & (parts + trial > caps) & live[:, None]
        any_over = over.any(axis=1)
        done = live & ~any_over
        parts[done] += trial[done]
        remaining[done] = 0.0
        room = np.where(over, caps - parts, 0.0)
        remaining -= room.sum(axis=1)
        parts = np.where(over, caps, parts)
        active &= ~over
    left = remaining > 1e-9 * np.maximum(target, 1.0)
    if left.any():  # zero-weight parts that still have room, filled in order (as allocate_capped does)
        for j in range(p):
            take = np.where(left, np.minimum(caps[:, j] - parts[:, j], remaining), 0.0)
            parts[:, j] += take
            remaining -= take
    return parts


def row_sum(rows: np.ndarray) -> np.ndarray:
    """Σ over the first axis added in order, ((a₀ + a₁) + a₂) + … — the order in which numpy's ``sum(axis=1)`` adds
    the few party columns of a claims × parties matrix, so the parties × claims layout gives the same numbers."""
    out = rows[0].copy()
    for r in rows[1:]:
        out += r
    return out


def nominal_split_t(plan: _RulePlan, base: np.ndarray) -> np.ndarray:
    """``split_loss_vectorised(plan, base)[0].T`` for claims without headrooms, as parties × claims (one
    contiguous row per party): nominal shares, the residual bearer's part = base − the others' (CNY)."""
    pay = plan.shares[:, None] * base[None, :]
    others = row_sum(pay) - pay[plan.residual]
    pay[plan.residual] = base - others
    return pay


def split_loss_vectorised(
    plan: _RulePlan | Rule,
    base: np.ndarray,
    party_headroom: np.ndarray | None = None,
    compensation_headroom: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`risk_sharing.splitting.split_loss` for many claims at once, in CNY floats.

    ``party_headroom`` (claims × compensating parties) and ``compensation_headroom`` (claims) are the
    headrooms (``inf`` = no cap). Returns (payable per party (claims × parties), compensating demand before
    the aggregate caps (claims), nominal compensating parts (claims × compensating parties)).
    """
    if isinstance(plan, Rule):
        plan = _RulePlan.from_rule(plan, None)
    k = base.shape[0]
    nominal = base[:, None] * plan.shares[None, :]
    payable = nominal.copy()
    comp_nom = nominal[:, plan.comp]
    w = plan.shares[plan.comp]
    agg = np.full(k, math.inf) if compensation_headroom is None else compensation_headroom
    if plan.comp.size:
        own = np.full_like(comp_nom, math.inf) if party_headroom is None else party_headroom
        total_nom = comp_nom.sum(axis=1)
        if plan.pro_rata_overflow and np.any(w > 0):
            limits = np.where(np.isfinite(own), own, total_nom[:, None])
            demand = np.minimum(total_nom, limits.sum(axis=1))
            target = np.minimum(total_nom, agg)
            needs = (target < total_nom) | np.any(own < comp_nom, axis=1)
            comp = comp_nom.copy()
            if needs.any():
                comp[needs] = _water_fill(target[needs], w, limits[needs])
        else:
            capped_own = np.minimum(comp_nom, own)
            demand = capped_own.sum(axis=1)
            comp = capped_own
            bind = agg < demand
            if bind.any():
                comp = capped_own.copy()
                comp[bind] = _water_fill(agg[bind], w, capped_own[bind])
        payable[:, plan.comp] = comp
    else:
        demand = np.zeros(k)
    others = payable.sum(axis=1) - payable[:, plan.residual]
    payable[:, plan.residual] = base - others
    return payable, demand, comp_nom
