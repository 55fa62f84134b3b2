"""Recovery share-back (追偿款返还): money recovered after payout flows back to the payers.

A recovery from collateral disposal (拍卖, 变卖, 协议折价, 质权转股权, 反向许可) is first
reduced by the disposal costs (处置费用), then shared back:

* ``pro_rata_to_paid`` — pro rata to what each party paid (bore) for the claim;
* ``priority`` — the named parties first, in order, each up to what it is still owed
  (e.g. Guangzhou: recoveries go back to the fund), the rest pro rata to what paid.

No party ever gets back more than it paid less what it already recovered
(:func:`ipfin.money.allocate_capped`). What exceeds everything still owed is the
``surplus_fen``: it is not scheme money and goes back to the loss holder outside the
scheme (e.g. the bank's uncounted loss, or the borrower). Money in integer fen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ipfin.money import Fen, allocate_capped
from risk_sharing.rules import RecoveryPolicy, RecoveryPolicyKind, Rule


@dataclass(frozen=True)
class RecoveryShare:
    """How one recovery is shared: ``parts`` by party key; net = Σ parts + surplus."""

    gross_fen: Fen
    disposal_costs_fen: Fen
    net_fen: Fen
    parts: dict[str, Fen]
    surplus_fen: Fen


def _fen(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be integer fen")
    if value < 0:
        raise ValueError(f"{name}: must not be negative")
    return value


def share_recovery(
    policy: RecoveryPolicy | Rule,
    paid_fen: Mapping[str, Fen],
    gross_recovery_fen: Fen,
    *,
    disposal_costs_fen: Fen = 0,
    already_recovered_fen: Mapping[str, Fen] | None = None,
) -> RecoveryShare:
    """Share a recovery back to the parties that paid for a claim.

    ``paid_fen``: what each party paid (bore) for the claim, by party key (order kept).
    ``already_recovered_fen``: what each got back from earlier recoveries. Disposal
    costs are deducted first when the policy says so (they cannot exceed the gross).
    """
    if isinstance(policy, Rule):
        policy = policy.recovery
    _fen("gross_recovery_fen", gross_recovery_fen)
    _fen("disposal_costs_fen", disposal_costs_fen)
    already = dict(already_recovered_fen or {})
    keys = list(paid_fen)
    for k in keys:
        _fen(f"paid_fen[{k}]", paid_fen[k])
    for k, v in already.items():
        _fen(f"already_recovered_fen[{k}]", v)
        if k not in paid_fen:
            raise ValueError(f"already_recovered_fen: '{k}' did not pay for this claim")
        if v > paid_fen[k]:
            raise ValueError(f"already_recovered_fen[{k}]: exceeds what it paid")
    costs = disposal_costs_fen if policy.net_of_disposal_costs else 0
    if costs > gross_recovery_fen:
        raise ValueError("disposal_costs_fen: must not exceed the gross recovery")
    net = gross_recovery_fen - costs
    owed = [paid_fen[k] - already.get(k, 0) for k in keys]
    parts = dict.fromkeys(keys, 0)
    remaining = net
    if policy.kind is RecoveryPolicyKind.PRIORITY:
        for k in policy.priority:
            if k not in parts:
                continue  # a priority party that paid nothing for this claim gets nothing
            take = min(remaining, owed[keys.index(k)])
            parts[k] += take
            remaining -= take
    caps = [owed[i] - parts[k] for i, k in enumerate(keys)]
    if remaining > 0 and keys:
        weights = [paid_fen[k] for k in keys]
        if sum(weights) > 0:
            extra = allocate_capped(remaining, weights, caps)
            for k, x in zip(keys, extra, strict=True):
                parts[k] += x
            remaining -= sum(extra)
    return RecoveryShare(gross_recovery_fen, costs, net, parts, remaining)


__all__ = ["RecoveryShare", "share_recovery"]
