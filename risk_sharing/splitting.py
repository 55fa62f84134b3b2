"""Loss splitting and cap arithmetic under a risk-compensation rule, in exact integer fen.

``split_loss`` splits a loss base over the parties under given cap headrooms; ``simulate``
answers "what would each party pay for a loss of X" without any ledger state; ``risk_fee_fen``
gives the fees on each party's share of the loan risk. The claim review that feeds the
headrooms from the ledger is :func:`risk_sharing.engine.review_claim`.

Splitting rule (documented, used everywhere here):

1. The loss base is split over *all* parties by their shares with the largest-remainder
   rule (:func:`ipfin.money.split_largest_remainder`): the nominal parts sum exactly to
   the base.
2. Each compensating party (``Rule.compensator_keys``: by default every party except
   the residual bearer and banks — a bank's part is the loss it keeps, not a payment to
   anyone, so caps never move it) is limited by its own headroom: per-party annual cap
   (budget) and, if ``balance_limited``, the fund balance.
3. The compensating parties together are limited by the aggregate compensation caps
   (per loan, per borrower per year, per borrower lifetime, per lender per year,
   payout-rate ceiling); a binding aggregate cap is shared pro rata to the shares with
   :func:`ipfin.money.allocate_capped` so no party exceeds its step-2 amount.
4. What capped parties do not pay is treated per ``rule.cap_overflow``: by default it
   stays with the residual bearer (the loss holder — the fund pays *up to* its cap);
   with ``pro_rata_uncapped`` it is first re-spread over the other compensating parties
   pro rata (water filling within their caps). Non-compensating parties keep their
   nominal part; the residual bearer's part is ``base − Σ others``, so the parts always
   sum exactly to the loss base.

Money is integer fen throughout; no floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ipfin.money import Fen, allocate_capped, cny_to_fen, fen_to_cny, split_largest_remainder
from risk_sharing.claims import MAX_FEN, Claim, Loan, _check_fen
from risk_sharing.rules import CapOverflow, LossBasis, Rule


@dataclass(frozen=True)
class CapApplied:
    """A cap that bound: its headroom (``limit_fen``) and how much it cut (``reduction_fen``)."""

    cap: str
    party: str | None
    limit_fen: Fen
    reduction_fen: Fen


@dataclass(frozen=True)
class PartyAmount:
    """A party's nominal share of the base and what it actually bears/pays, in fen."""

    key: str
    role: str
    share: Decimal
    nominal_fen: Fen
    payable_fen: Fen


@dataclass(frozen=True)
class Split:
    """Result of splitting a loss base: parts sum exactly to ``loss_base_fen``."""

    loss_base_fen: Fen
    parties: tuple[PartyAmount, ...]
    caps_applied: tuple[CapApplied, ...]
    residual_bearer: str

    @property
    def payable(self) -> dict[str, Fen]:
        return {p.key: p.payable_fen for p in self.parties}

    compensator_keys: tuple[str, ...] = ()

    @property
    def compensation_fen(self) -> Fen:
        """What the compensating parties pay (``Rule.compensator_keys``)."""
        return sum(p.payable_fen for p in self.parties if p.key in self.compensator_keys)


# --------------------------------------------------------------------------- caps and the loss base


def _headroom(limit: Fen | None, used: Fen) -> Fen | None:
    return None if limit is None else max(0, limit - used)


def payout_rate_headroom(ceiling: Decimal, covered_loans_fen: Fen, compensation_paid_fen: Fen) -> Fen:
    """Compensation still allowed under a payout-rate ceiling: ⌊ceiling × covered⌋ − paid, ≥ 0 (fen)."""
    allowed = int(Fraction(ceiling) * covered_loans_fen)  # floor: both non-negative
    return max(0, allowed - compensation_paid_fen)


def gross_loss_fen(rule: Rule, claim: Claim, loan: Loan) -> Fen:
    """The loss under the rule's basis, before loss-base caps (fen, ≥ 0).

    IP-pledged part = ⌊outstanding principal × ip_pledged_share⌋; recoveries so far are
    deducted when ``loss_base.net_of_recoveries`` (floored at 0).
    """
    basis = rule.loss_base.basis
    if basis is LossBasis.PRINCIPAL_ONLY:
        loss = claim.outstanding_principal_fen
    elif basis is LossBasis.PRINCIPAL_PLUS_INTEREST:
        loss = claim.outstanding_principal_fen + claim.outstanding_interest_fen
    else:
        if loan.ip_pledged_share is None:
            raise ValueError("loan.ip_pledged_share: needed for loss basis ip_pledged_part_only")
        loss = int(Fraction(loan.ip_pledged_share) * claim.outstanding_principal_fen)
    if rule.loss_base.net_of_recoveries:
        loss = max(0, loss - claim.recoveries_so_far_fen)
    return loss


def split_loss(
    rule: Rule,
    loss_base_fen: Fen,
    *,
    party_headroom_fen: Mapping[str, Fen] | None = None,
    compensation_headroom_fen: Mapping[str, Fen] | None = None,
    party_cap_names: Mapping[str, str] | None = None,
) -> Split:
    """Split ``loss_base_fen`` over the rule's parties under given cap headrooms (module doc).

    ``party_headroom_fen``: per compensating party, the most it may still pay (already
    the minimum of its own caps). ``compensation_headroom_fen``: aggregate caps on all
    compensating parties together, by cap name. ``party_cap_names``: which cap gives each
    party's headroom (for the report). Parts sum exactly to ``loss_base_fen``.
    """
    if isinstance(loss_base_fen, bool) or not isinstance(loss_base_fen, int) or loss_base_fen < 0:
        raise ValueError("loss_base_fen: must be non-negative integer fen")
    party_headroom_fen = party_headroom_fen or {}
    compensation_headroom_fen = compensation_headroom_fen or {}
    for k in party_headroom_fen:
        if k not in rule.compensator_keys:
            raise ValueError(f"party_headroom_fen: '{k}' is not a compensating party of rule '{rule.id}'")
    shares = [p.share for p in rule.parties]
    nominal = split_largest_remainder(loss_base_fen, shares)
    idx = {p.key: i for i, p in enumerate(rule.parties)}
    comp_keys = list(rule.compensator_keys)
    comp_shares = [rule.parties[idx[k]].share for k in comp_keys]
    comp_nominal = [nominal[idx[k]] for k in comp_keys]
    caps_applied: list[CapApplied] = []

    own_limit = [party_headroom_fen.get(k) for k in comp_keys]
    capped_own = [n if h is None else min(n, h) for n, h in zip(comp_nominal, own_limit, strict=True)]
    for k, n, h in zip(comp_keys, comp_nominal, own_limit, strict=True):
        if h is not None and h < n:
            caps_applied.append(CapApplied((party_cap_names or {}).get(k, "party"), k, h, n - h))

    total_comp_nominal = sum(comp_nominal)
    aggregate = min(compensation_headroom_fen.values()) if compensation_headroom_fen else None

    if rule.cap_overflow is CapOverflow.PRO_RATA_UNCAPPED and any(comp_shares):
        target = total_comp_nominal if aggregate is None else min(total_comp_nominal, aggregate)
        limits = [total_comp_nominal if h is None else h for h in own_limit]
        comp = allocate_capped(target, comp_shares, limits)
        if aggregate is not None and aggregate < min(total_comp_nominal, sum(limits)):
            binding = min(compensation_headroom_fen, key=lambda n: compensation_headroom_fen[n])
            caps_applied.append(
                CapApplied(binding, None, aggregate, min(total_comp_nominal, sum(limits)) - aggregate)
            )
    else:
        comp = capped_own
        if aggregate is not None and sum(capped_own) > aggregate:
            binding = min(compensation_headroom_fen, key=lambda n: compensation_headroom_fen[n])
            caps_applied.append(CapApplied(binding, None, aggregate, sum(capped_own) - aggregate))
            comp = allocate_capped(aggregate, comp_shares, capped_own)

    payable = {p.key: nominal[i] for i, p in enumerate(rule.parties)}  # non-compensators keep nominal
    payable.update(zip(comp_keys, comp, strict=True))
    others = sum(v for k, v in payable.items() if k != rule.residual_bearer)
    payable[rule.residual_bearer] = loss_base_fen - others  # type: ignore[index]
    parts = tuple(
        PartyAmount(p.key, p.role.value, p.share, nominal[i], payable[p.key]) for i, p in enumerate(rule.parties)
    )
    assert sum(pa.payable_fen for pa in parts) == loss_base_fen
    return Split(
        loss_base_fen, parts, tuple(caps_applied), rule.residual_bearer, rule.compensator_keys  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- simulate


@dataclass(frozen=True)
class Simulation:
    """What each party would pay for a loss (fen); ``uncounted_loss_fen`` is above the per-loan base cap."""

    rule_id: str
    rule_version: int
    loss_fen: Fen
    uncounted_loss_fen: Fen
    split: Split

    @property
    def payable(self) -> dict[str, Fen]:
        return self.split.payable


def simulate(rule: Rule, loss_fen: Fen, *, apply_per_loan_caps: bool = True) -> Simulation:
    """Split a loss of ``loss_fen`` over the parties, with no ledger state.

    Only the static per-loan caps apply (``base_per_loan``, ``compensation_per_loan``, a party's
    per-loan limit such as an insurer's); annual, balance and payout-rate caps depend on the ledger
    and belong to :func:`review_claim`.
    """
    if isinstance(loss_fen, bool) or not isinstance(loss_fen, int):
        raise ValueError("loss_fen: must be integer fen (use ipfin.money.cny_to_fen)")
    if loss_fen < 0:
        raise ValueError("loss_fen: must not be negative")
    if loss_fen > MAX_FEN:
        raise ValueError(f"loss_fen: must not exceed {MAX_FEN:,} fen ({fen_to_cny(MAX_FEN):,} CNY)")
    base = loss_fen
    comp_caps: dict[str, Fen] = {}
    party_caps: dict[str, Fen] = {}
    if apply_per_loan_caps:
        cap = rule.caps.fen("base_per_loan_cny")
        if cap is not None:
            base = min(base, cap)
        ccap = rule.caps.fen("compensation_per_loan_cny")
        if ccap is not None:
            comp_caps["compensation_per_loan"] = ccap
        for k in rule.compensator_keys:
            limit = rule.party_per_loan_limit_cny(k)
            if limit is not None:
                party_caps[k] = cny_to_fen(limit)
    split = split_loss(rule, base, party_headroom_fen=party_caps, compensation_headroom_fen=comp_caps,
                       party_cap_names={k: "party_per_loan" for k in party_caps})
    return Simulation(rule.id, rule.version, loss_fen, loss_fen - base, split)


# --------------------------------------------------------------------------- fees


def risk_fee_fen(rule: Rule, principal_fen: Fen, years: Decimal | int = 1) -> dict[str, Fen]:
    """Fees on a party's share of the loan risk (e.g. NFGF 再担保费), by party key, in fen.

    fee = rate × principal × party share × years, rounded half-even to the fen; the
    reduced rate applies when the principal is at most ``reduced_rate_max_loan_cny``.
    """
    _check_fen("principal_fen", principal_fen)
    y = Fraction(Decimal(years)) if not isinstance(years, int) else Fraction(years)
    if y < 0:
        raise ValueError("years: must not be negative")
    out: dict[str, Fen] = {}
    for fee in rule.fees:
        rate = fee.annual_rate
        if (
            fee.reduced_rate is not None
            and fee.reduced_rate_max_loan_cny is not None
            and principal_fen <= cny_to_fen(fee.reduced_rate_max_loan_cny)
        ):
            rate = fee.reduced_rate
        share = Fraction(rule.party(fee.party).share) / 100
        exact = Fraction(rate) * principal_fen * share * y
        whole, rem = divmod(exact.numerator, exact.denominator)
        twice = 2 * rem
        if twice > exact.denominator or (twice == exact.denominator and whole % 2 == 1):
            whole += 1
        out[fee.party] = out.get(fee.party, 0) + whole
    return out


__all__ = [
    "CapApplied",
    "PartyAmount",
    "Simulation",
    "Split",
    "gross_loss_fen",
    "payout_rate_headroom",
    "risk_fee_fen",
    "simulate",
    "split_loss",
]
