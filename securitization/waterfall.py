"""Waterfall engine as data (现金流分配顺序): fees, tranche interest and principal, reserve,
triggers, excess spread, guarantor shortfall payment (差额支付) and clean-up call (清仓回购).

The deal structure is plain frozen data (:class:`DealStructure`); :func:`run_waterfall` pays
one deterministic set of pool collections through it in **integer fen**. Each payment date is
one pot (a combined waterfall, as in most Chinese IP ABS 收益分配 clauses):

1. fees in the listed order (fixed per period, or annual rate × beginning pool balance × accrual);
2. interest on the coupon tranches by seniority (pro rata within a rank), unpaid interest carried;
3. guarantor (差额支付承诺人) pays any interest shortfall on its named tranches, and at the final
   date any unpaid principal on them, up to its cap;
4. principal: this period's principal collections + call proceeds + newly realised losses +
   any earlier principal deficiency — sequential by seniority, or pro rata across the coupon
   classes (largest-remainder split; the residual class after them) until a trigger is
   breached, then sequential; unpaid interest is carried forward without interest on it;
5. reserve account topped up to target = max(floor, % of senior balance) (0 once seniors are
   repaid);
6. if a trigger is breached: everything left pays principal sequentially (turbo);
7. the rest is excess spread to the residual holder (次级/剩余收益).

Sources = pool interest + pool principal + call proceeds + reserve at start + guarantor;
uses = fees + interest + principal + reserve at end + residual. The two are checked equal
in fen every period (:class:`ConservationError` otherwise). Interest accrues Actual/365F
between business-day-adjusted payment dates on the China calendar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

import numpy as np

from ipfin import ql
from ipfin.money import Fen, allocate_capped, fen_to_cny, split_largest_remainder

PrincipalMode = Literal["sequential", "pro_rata"]
TriggerKind = Literal["oc", "ic", "cumulative_default"]


class ConservationError(RuntimeError):
    """Cash in ≠ cash out in a waterfall period (a bug, never an input problem)."""


def _rate(name: str, v: float, upper: float = 1.0) -> None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"{name}: must be a finite number")
    if v < 0:
        raise ValueError(f"{name}: must not be negative, got {v}")
    if v >= upper:
        raise ValueError(f"{name}: must be below {upper}, got {v}")


MAX_AMOUNT_FEN: Fen = 10**18
"""Largest accepted tranche, fee, reserve or cap (10 trillion CNY; fits a signed 64-bit fen column)."""


def _fen(name: str, v: int, *, positive: bool = False) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{name}: must be integer fen")
    if v < 0 or (positive and v == 0):
        raise ValueError(f"{name}: must be {'positive' if positive else 'non-negative'}, got {v}")
    if v > MAX_AMOUNT_FEN:
        raise ValueError(f"{name}: at most {MAX_AMOUNT_FEN} fen, got {v}")


@dataclass(frozen=True, slots=True)
class Tranche:
    """A class of notes (优先级 / 次级). ``seniority`` 1 is paid first; ``residual`` marks the
    subordinated class that takes excess spread and has no fixed coupon."""

    name: str
    balance_fen: Fen
    coupon: float
    seniority: int
    residual: bool = False
    rating: str | None = None


@dataclass(frozen=True, slots=True)
class Fee:
    """A senior expense: ``fixed`` = ``amount_fen`` each payment date; ``rate`` =
    ``annual_rate`` × beginning pool balance × accrual fraction (e.g. servicer fee 0.1%)."""

    name: str
    kind: Literal["fixed", "rate"]
    amount_fen: Fen = 0
    annual_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class ReserveAccount:
    """Cash reserve (储备金/流动性储备): funded at closing with ``initial_fen``; target =
    max(``floor_fen``, ``target_share`` × outstanding senior (seniority 1) balance)."""

    initial_fen: Fen = 0
    target_share: float = 0.0
    floor_fen: Fen = 0


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger that switches principal to sequential and traps excess spread (turbo).

    ``oc``: pool balance / balance of tranches senior to and including ``tranche`` below
    ``threshold``. ``ic``: (interest collected − fees) / interest due on those tranches below
    ``threshold``. ``cumulative_default``: cumulative defaults / initial pool above
    ``threshold`` (累计违约率, the usual Chinese 加速清偿事件). Non-curable unless ``curable``.
    """

    name: str
    kind: TriggerKind
    threshold: float
    tranche: str | None = None
    curable: bool = False


@dataclass(frozen=True, slots=True)
class Guarantor:
    """External shortfall payer (差额支付承诺人, e.g. 高新投 in the Shenzhen deals).

    Pays, up to ``cap_fen`` in total (unlimited if None), any interest shortfall on the named
    tranches on every payment date, and their unpaid principal on the final payment date of
    the run (the legal final maturity, or the clean-up call date).
    """

    name: str
    tranches: tuple[str, ...]
    cap_fen: Fen | None = None


@dataclass(frozen=True, slots=True)
class CleanUpCall:
    """The seller buys the remaining pool at its balance when it falls to ``threshold`` × initial."""

    threshold: float = 0.1


@dataclass(frozen=True)
class DealStructure:
    """Everything the waterfall needs besides the pool's cash flows."""

    name: str
    tranches: tuple[Tranche, ...]
    closing_date: date
    payment_months: int = 3
    fees: tuple[Fee, ...] = ()
    reserve: ReserveAccount = field(default_factory=ReserveAccount)
    triggers: tuple[Trigger, ...] = ()
    guarantor: Guarantor | None = None
    principal_mode: PrincipalMode = "sequential"
    clean_up_call: CleanUpCall | None = None

    def validate(self, pool_balance_fen: Fen | None = None) -> None:
        """Raise ``ValueError`` naming the offending field if the structure is inconsistent."""
        if not self.name or len(self.name) > 200:
            raise ValueError("name: must be 1 to 200 characters")
        if not self.tranches:
            raise ValueError("tranches: at least one tranche is needed")
        names = [t.name for t in self.tranches]
        if len(set(names)) != len(names):
            raise ValueError("tranches: tranche names must be unique")
        for i, t in enumerate(self.tranches):
            if not t.name:
                raise ValueError(f"tranches[{i}].name: must not be empty")
            _fen(f"tranches[{i}].balance_fen", t.balance_fen, positive=True)
            _rate(f"tranches[{i}].coupon", t.coupon)
            if isinstance(t.seniority, bool) or not isinstance(t.seniority, int) or t.seniority < 1:
                raise ValueError(f"tranches[{i}].seniority: must be a whole number ≥ 1")
        residuals = [t for t in self.tranches if t.residual]
        if len(residuals) > 1:
            raise ValueError("tranches: at most one residual (subordinated) tranche")
        if residuals and residuals[0].seniority != max(t.seniority for t in self.tranches):
            raise ValueError("tranches: the residual tranche must be the most junior")
        total = sum(t.balance_fen for t in self.tranches)
        if pool_balance_fen is not None and total > pool_balance_fen:
            raise ValueError(
                f"tranches: total {fen_to_cny(total)} CNY exceeds the pool balance "
                f"{fen_to_cny(pool_balance_fen)} CNY"
            )
        if self.payment_months not in (1, 2, 3, 6, 12):
            raise ValueError("payment_months: must be 1, 2, 3, 6 or 12")
        for i, f in enumerate(self.fees):
            if f.kind == "fixed":
                _fen(f"fees[{i}].amount_fen", f.amount_fen)
            elif f.kind == "rate":
                _rate(f"fees[{i}].annual_rate", f.annual_rate)
            else:
                raise ValueError(f"fees[{i}].kind: must be 'fixed' or 'rate'")
        r = self.reserve
        _fen("reserve.initial_fen", r.initial_fen)
        _fen("reserve.floor_fen", r.floor_fen)
        _rate("reserve.target_share", r.target_share, upper=1.0000001)
        for i, tr in enumerate(self.triggers):
            if tr.kind not in ("oc", "ic", "cumulative_default"):
                raise ValueError(f"triggers[{i}].kind: must be oc, ic or cumulative_default")
            _rate(f"triggers[{i}].threshold", tr.threshold, upper=100.0)
            if tr.kind in ("oc", "ic"):
                if tr.tranche is None:
                    raise ValueError(f"triggers[{i}].tranche: an {tr.kind} trigger needs a tranche")
                if tr.tranche not in names:
                    raise ValueError(f"triggers[{i}].tranche: unknown tranche {tr.tranche!r}")
        if self.guarantor is not None:
            for n in self.guarantor.tranches:
                if n not in names:
                    raise ValueError(f"guarantor.tranches: unknown tranche {n!r}")
            if self.guarantor.cap_fen is not None:
                _fen("guarantor.cap_fen", self.guarantor.cap_fen)
        if self.principal_mode not in ("sequential", "pro_rata"):
            raise ValueError("principal_mode: must be 'sequential' or 'pro_rata'")
        if self.clean_up_call is not None:
            _rate("clean_up_call.threshold", self.clean_up_call.threshold)


# ------------------------------------------------------------------ pool collections in fen


@dataclass(frozen=True)
class Collections:
    """Pool cash per payment period, integer fen, already aggregated from months."""

    interest: tuple[Fen, ...]
    principal: tuple[Fen, ...]
    losses: tuple[Fen, ...]
    defaults: tuple[Fen, ...]
    end_balance: tuple[Fen, ...]
    initial_balance: Fen


def _fen_series(x: np.ndarray) -> np.ndarray:
    """Monthly float amounts → integer fen with cumulative rounding (parts sum to the rounded total)."""
    cum = np.rint(np.cumsum(np.asarray(x, dtype=float)) * 100.0).astype(np.int64)
    return np.diff(np.concatenate([[0], cum]))


def collections_from_months(
    interest: np.ndarray,
    principal: np.ndarray,
    losses: np.ndarray,
    defaults: np.ndarray,
    balance: np.ndarray,
    initial_balance: float,
    payment_months: int,
) -> Collections:
    """Aggregate one scenario's monthly pool cash flows (CNY floats) into payment periods in fen."""
    months = len(principal)
    n_p = -(-months // payment_months)
    edges = [min((p + 1) * payment_months, months) for p in range(n_p)]

    def agg(x: np.ndarray) -> tuple[int, ...]:
        f = _fen_series(x)
        cum = np.concatenate([[0], np.cumsum(f)])
        starts = [0, *edges[:-1]]
        return tuple(int(cum[e] - cum[s]) for s, e in zip(starts, edges, strict=True))

    end_bal = tuple(round(float(balance[e - 1]) * 100) for e in edges)
    return Collections(
        agg(interest), agg(principal), agg(losses), agg(defaults), end_bal, round(initial_balance * 100)
    )


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class PeriodRow:
    """One payment date of the waterfall, all amounts in fen."""

    period: int
    payment_date: date
    interest_collected: Fen
    principal_collected: Fen
    call_proceeds: Fen
    reserve_start: Fen
    guarantor_paid: Fen
    fees_paid: dict[str, Fen]
    interest_paid: dict[str, Fen]
    interest_shortfall: dict[str, Fen]
    principal_paid: dict[str, Fen]
    balance_end: dict[str, Fen]
    reserve_end: Fen
    residual_paid: Fen
    pool_balance_end: Fen
    triggers_breached: tuple[str, ...]

    @property
    def sources(self) -> Fen:
        return (self.interest_collected + self.principal_collected + self.call_proceeds
                + self.reserve_start + self.guarantor_paid)

    @property
    def uses(self) -> Fen:
        return (sum(self.fees_paid.values()) + sum(self.interest_paid.values())
                + sum(self.principal_paid.values()) + self.reserve_end + self.residual_paid)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"period": self.period, "payment_date": self.payment_date.isoformat()}
        for k in ("interest_collected", "principal_collected", "call_proceeds", "reserve_start",
                  "guarantor_paid", "reserve_end", "residual_paid", "pool_balance_end"):
            d[k + "_fen"] = getattr(self, k)
        for k in ("fees_paid", "interest_paid", "interest_shortfall", "principal_paid", "balance_end"):
            d[k + "_fen"] = dict(getattr(self, k))
        d["triggers_breached"] = list(self.triggers_breached)
        return d


@dataclass(frozen=True)
class WaterfallResult:
    """The period table plus per-tranche totals; ``principal_loss`` is what is never repaid."""

    rows: tuple[PeriodRow, ...]
    tranches: tuple[Tranche, ...]
    called_in_period: int | None
    first_trigger_period: int | None

    def tranche_flows(self, name: str) -> list[tuple[date, Fen, Fen]]:
        """(payment date, interest fen, principal fen) for one tranche."""
        return [(r.payment_date, r.interest_paid.get(name, 0), r.principal_paid.get(name, 0)) for r in self.rows]

    def principal_loss(self, name: str) -> Fen:
        t = next(t for t in self.tranches if t.name == name)
        return t.balance_fen - sum(r.principal_paid.get(name, 0) for r in self.rows)

    def totals(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "residual_paid_fen": sum(r.residual_paid for r in self.rows),
            "guarantor_paid_fen": sum(r.guarantor_paid for r in self.rows),
            "fees_paid_fen": sum(sum(r.fees_paid.values()) for r in self.rows),
            "called_in_period": self.called_in_period,
            "first_trigger_period": self.first_trigger_period,
            "tranches": {},
        }
        for t in self.tranches:
            out["tranches"][t.name] = {
                "interest_paid_fen": sum(r.interest_paid.get(t.name, 0) for r in self.rows),
                "principal_paid_fen": sum(r.principal_paid.get(t.name, 0) for r in self.rows),
                "principal_loss_fen": self.principal_loss(t.name),
                "interest_shortfall_end_fen": self.rows[-1].interest_shortfall.get(t.name, 0) if self.rows else 0,
            }
        return out


# ------------------------------------------------------------------ engine


def _interest(balance: Fen, coupon: float, yf: Decimal) -> Fen:
    """balance × coupon × accrual fraction, rounded half-even to a fen (coupon read as its decimal text)."""
    return int((Decimal(balance) * Decimal(repr(coupon)) * yf).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _pay_sequential(amount: Fen, order: Sequence[str], owed: dict[str, Fen]) -> dict[str, Fen]:
    paid = dict.fromkeys(order, 0)
    for n in order:
        x = min(amount, owed[n])
        paid[n] = x
        amount -= x
    return paid


def _pay_by_rank(amount: Fen, tranches: Sequence[Tranche], owed: dict[str, Fen]) -> dict[str, Fen]:
    """Pay ranks in seniority order, pro rata to ``owed`` within a rank (largest remainder)."""
    paid = {t.name: 0 for t in tranches}
    for rank in sorted({t.seniority for t in tranches}):
        group = [t.name for t in tranches if t.seniority == rank and owed[t.name] > 0]
        if not group or amount <= 0:
            continue
        due = sum(owed[n] for n in group)
        x = min(amount, due)
        parts = split_largest_remainder(x, [owed[n] for n in group])
        for n, p in zip(group, parts, strict=True):
            paid[n] = p
        amount -= x
    return paid


def run_waterfall(structure: DealStructure, coll: Collections) -> WaterfallResult:
    """Pay the collections through the structure; exact in fen, conservation checked each period."""
    s = structure
    s.validate()
    n_p = len(coll.principal)
    dates = ql.monthly_schedule(s.closing_date, n_p, s.payment_months)
    tr = sorted(s.tranches, key=lambda t: t.seniority)
    order = [t.name for t in tr]
    bal = {t.name: t.balance_fen for t in tr}
    ishort = dict.fromkeys(order, 0)
    fee_short = {f.name: 0 for f in s.fees}
    reserve = s.reserve.initial_fen
    pool_bal = coll.initial_balance
    guar_left = s.guarantor.cap_fen if (s.guarantor and s.guarantor.cap_fen is not None) else None
    guaranteed = set(s.guarantor.tranches) if s.guarantor else set()
    deficiency = 0
    cum_defaults = 0
    breached_latch: set[str] = set()
    rows: list[PeriodRow] = []
    called_at: int | None = None
    first_trigger: int | None = None
    prev = s.closing_date

    for p in range(n_p):
        pay_date = dates[p]
        yf = Decimal(repr(ql.year_fraction(prev, pay_date, "act365f")))
        prev = pay_date
        I, P = coll.interest[p], coll.principal[p]  # noqa: E741
        pool_begin = pool_bal
        pool_bal = coll.end_balance[p]
        cum_defaults += coll.defaults[p]
        call = 0
        if s.clean_up_call and 0 < pool_bal <= s.clean_up_call.threshold * coll.initial_balance:
            call, pool_bal, called_at = pool_bal, 0, p + 1
        last = called_at == p + 1 or p == n_p - 1
        reserve_start = reserve
        avail = I + P + call + reserve_start
        guarantor_paid = 0

        # 1. fees
        fees_paid: dict[str, Fen] = {}
        for f in s.fees:
            due = f.amount_fen if f.kind == "fixed" else _interest(pool_begin, f.annual_rate, yf)
            due += fee_short[f.name]
            x = min(avail, due)
            fees_paid[f.name] = x
            fee_short[f.name] = due - x
            avail -= x

        # 2. interest
        coupon_tr = [t for t in tr if not t.residual]
        due_int = {t.name: _interest(bal[t.name], t.coupon, yf) + ishort[t.name] for t in coupon_tr}
        int_paid = _pay_by_rank(avail, coupon_tr, due_int) if coupon_tr else {}
        avail -= sum(int_paid.values())

        # triggers (on beginning balances for OC; this period's interest for IC)
        breached = set(breached_latch)
        for trg in s.triggers:
            hit = False
            if trg.kind == "cumulative_default":
                hit = cum_defaults > trg.threshold * coll.initial_balance
            else:
                rank = next(t.seniority for t in tr if t.name == trg.tranche)
                names = [t.name for t in tr if t.seniority <= rank]
                if trg.kind == "oc":
                    notes = sum(bal[n] for n in names)
                    hit = notes > 0 and pool_begin < trg.threshold * notes
                else:
                    due = sum(due_int.get(n, 0) for n in names)
                    hit = due > 0 and (I - sum(fees_paid.values())) < trg.threshold * due
            if hit:
                breached.add(trg.name)
                if not trg.curable:
                    breached_latch.add(trg.name)
            elif trg.curable:
                breached.discard(trg.name)
        if breached and first_trigger is None:
            first_trigger = p + 1

        # 3. guarantor on interest
        for t in coupon_tr:
            short = due_int[t.name] - int_paid[t.name]
            if t.name in guaranteed and short > 0:
                g = short if guar_left is None else min(short, guar_left)
                int_paid[t.name] += g
                guarantor_paid += g
                if guar_left is not None:
                    guar_left -= g
        for t in coupon_tr:
            ishort[t.name] = due_int[t.name] - int_paid[t.name]

        # 4. principal
        deficiency += coll.losses[p]
        pda = P + call + deficiency
        if last:
            pda = sum(bal.values())
        x = min(avail, pda, sum(bal.values()))
        if s.principal_mode == "pro_rata" and not breached:
            # pro rata across the coupon classes by balance; the residual class only after they are repaid
            names = [t.name for t in tr if not t.residual and bal[t.name] > 0]
            parts = allocate_capped(x, [bal[n] for n in names], [bal[n] for n in names]) if names else []
            prin = dict.fromkeys(order, 0)
            prin.update(zip(names, parts, strict=True))
            rest = _pay_sequential(x - sum(parts), order, {n: bal[n] - prin[n] for n in order})
            for n in order:
                prin[n] += rest[n]
        else:
            prin = _pay_sequential(x, order, bal)
        paid_total = sum(prin.values())
        deficiency = max(0, deficiency - max(0, paid_total - P - call))
        avail -= paid_total
        for n in order:
            bal[n] -= prin[n]

        # 5. reserve to target
        senior_out = sum(bal[t.name] for t in tr if t.seniority == tr[0].seniority and not t.residual)
        target = 0
        if senior_out > 0 and not last:
            pct = int((Decimal(senior_out) * Decimal(repr(s.reserve.target_share))).to_integral_value(ROUND_HALF_EVEN))
            target = max(s.reserve.floor_fen, pct)
        reserve = min(avail, target)
        avail -= reserve

        # 6. turbo when a trigger is breached
        if breached and avail > 0:
            extra = _pay_sequential(min(avail, sum(bal.values())), order, bal)
            for n in order:
                prin[n] += extra[n]
                bal[n] -= extra[n]
            avail -= sum(extra.values())

        # 3b. guarantor on principal at the final date
        if last:
            for n in order:
                if n in guaranteed and bal[n] > 0:
                    g = bal[n] if guar_left is None else min(bal[n], guar_left)
                    prin[n] += g
                    bal[n] -= g
                    guarantor_paid += g
                    if guar_left is not None:
                        guar_left -= g

        # 7. excess spread to the residual holder
        residual = avail
        row = PeriodRow(
            period=p + 1, payment_date=pay_date, interest_collected=I, principal_collected=P,
            call_proceeds=call, reserve_start=reserve_start, guarantor_paid=guarantor_paid,
            fees_paid=fees_paid, interest_paid=int_paid, interest_shortfall=dict(ishort),
            principal_paid=prin, balance_end=dict(bal), reserve_end=reserve, residual_paid=residual,
            pool_balance_end=pool_bal, triggers_breached=tuple(sorted(breached)),
        )
        if row.sources != row.uses:
            raise ConservationError(f"period {p + 1}: sources {row.sources} fen != uses {row.uses} fen")
        rows.append(row)
        if last:
            break
    return WaterfallResult(tuple(rows), tuple(tr), called_at, first_trigger)
