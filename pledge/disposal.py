"""Collateral disposal (质物处置) after default: methods, proceeds, costs and net recovery in fen.

A disposal record lists dated proceeds (a licence or reverse licence pays over time, an
auction once) and dated costs (auction commission, appraisal, legal, registration). The
net recovery is proceeds − costs when positive; when the costs exceed the proceeds the
net recovery is 0 and the shortfall is reported explicitly as a net loss on disposal
(never a negative recovery). Recoveries are capped at the claim (what the lenders are
owed); any surplus belongs to the pledgor. :func:`recovery_flows` gives the dated net
recoveries the risk-sharing engine shares back pro rata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ipfin.money import Fen


class DisposalMethod(StrEnum):
    AUCTION = "auction"  # 拍卖
    SALE = "sale"  # 变卖
    AGREED_TRANSFER = "agreed_transfer"  # 协议折价
    LICENCE = "licence"  # 许可
    PLEDGE_TO_EQUITY = "pledge_to_equity"  # 质权转股权 (proceeds = appraised value of the equity taken)
    REVERSE_LICENCE = "reverse_licence"  # 反向许可 (licence back to the borrower, royalties over time)

    @property
    def zh(self) -> str:
        return {"auction": "拍卖", "sale": "变卖", "agreed_transfer": "协议折价", "licence": "许可",
                "pledge_to_equity": "质权转股权", "reverse_licence": "反向许可"}[self.value]


def _fen(name: str, v: object) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{name} must be integer fen, got {v!r}")
    if v < 0:
        raise ValueError(f"{name} must not be negative, got {v}")


@dataclass(frozen=True, slots=True)
class CashItem:
    """A dated amount: a receipt of proceeds or a cost paid."""

    on: date
    amount_fen: Fen
    description: str = ""

    def __post_init__(self) -> None:
        _fen("amount_fen", self.amount_fen)


@dataclass(frozen=True, slots=True)
class DisposalRecord:
    """One disposal of (part of) the collateral set."""

    method: DisposalMethod
    asset_ids: tuple[str, ...]
    started_on: date
    proceeds: tuple[CashItem, ...] = ()
    costs: tuple[CashItem, ...] = ()
    completed_on: date | None = None
    counterparty: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", DisposalMethod(self.method))
        object.__setattr__(self, "asset_ids", tuple(self.asset_ids))
        object.__setattr__(self, "proceeds", tuple(self.proceeds))
        object.__setattr__(self, "costs", tuple(self.costs))
        if not self.asset_ids:
            raise ValueError("asset_ids: a disposal must name at least one asset")
        if self.completed_on is not None and self.completed_on < self.started_on:
            raise ValueError("completed_on must not be before started_on")
        for name, items in (("proceeds", self.proceeds), ("costs", self.costs)):
            for i, it in enumerate(items):
                if it.on < self.started_on:
                    raise ValueError(f"{name}[{i}].on {it.on} is before the disposal started {self.started_on}")


@dataclass(frozen=True, slots=True)
class DisposalOutcome:
    """Totals of one or more disposals against a claim (fen).

    ``net_recovery_fen`` = max(0, proceeds − costs) capped at ``claim_fen``;
    ``net_loss_on_disposal_fen`` = max(0, costs − proceeds); ``surplus_to_pledgor_fen``
    = what exceeds the claim; ``shortfall_fen`` = claim − net recovery (the loss left).
    """

    gross_proceeds_fen: Fen
    costs_fen: Fen
    net_recovery_fen: Fen
    net_loss_on_disposal_fen: Fen
    surplus_to_pledgor_fen: Fen
    claim_fen: Fen
    shortfall_fen: Fen

    @property
    def recovery_rate(self) -> float:
        """Net recovery ÷ claim (a statistic, float)."""
        return self.net_recovery_fen / self.claim_fen if self.claim_fen else 0.0


def disposal_outcome(records: Sequence[DisposalRecord], claim_fen: Fen) -> DisposalOutcome:
    """Net recovery of ``records`` against ``claim_fen`` (what the lenders are owed at default)."""
    _fen("claim_fen", claim_fen)
    gross = sum(p.amount_fen for r in records for p in r.proceeds)
    costs = sum(c.amount_fen for r in records for c in r.costs)
    net = gross - costs
    net_pos = max(0, net)
    recovery = min(net_pos, claim_fen)
    return DisposalOutcome(
        gross_proceeds_fen=gross,
        costs_fen=costs,
        net_recovery_fen=recovery,
        net_loss_on_disposal_fen=max(0, -net),
        surplus_to_pledgor_fen=net_pos - recovery,
        claim_fen=claim_fen,
        shortfall_fen=claim_fen - recovery,
    )


def recovery_flows(records: Sequence[DisposalRecord], claim_fen: Fen) -> list[tuple[date, Fen]]:
    """Dated net recoveries to share back: on each date, the rise in cumulative max(0, proceeds − costs).

    Cumulative net cash is tracked date by date (costs and proceeds of the same day
    netted); a recovery is released only when cumulative net cash exceeds what was
    already released, and never beyond the final net recovery, so costs recorded for a
    later date are reserved out of earlier proceeds. The flows are positive and sum
    exactly to the :func:`disposal_outcome` net recovery (capped at ``claim_fen``).
    """
    _fen("claim_fen", claim_fen)
    by_day: dict[date, int] = {}
    for r in records:
        for p in r.proceeds:
            by_day[p.on] = by_day.get(p.on, 0) + p.amount_fen
        for c in r.costs:
            by_day[c.on] = by_day.get(c.on, 0) - c.amount_fen
    final = disposal_outcome(records, claim_fen).net_recovery_fen
    out: list[tuple[date, Fen]] = []
    cum = released = 0
    for d in sorted(by_day):
        cum += by_day[d]
        target = min(max(0, cum), final)
        if target > released:
            out.append((d, target - released))
            released = target
    return out
