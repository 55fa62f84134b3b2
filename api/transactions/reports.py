"""Read model for the bureau: register volumes by pricing method and by trading mode (seed 002's six
methods and five modes, each listed even when zero), and the two crossed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from api.transactions.models import IPTransactionRow
from api.transactions.schemas import CrossRow, VolumeReport, VolumeRow
from api.transactions.service import conditions
from valuation.transactions import LABELS, PricingMethod, TradingMode


def volumes(session: Session, filters: dict[str, Any]) -> VolumeReport:
    """Count and value (fen) of the register's transactions matching ``filters`` (see
    :func:`api.transactions.service.list_transactions`), by pricing method × trading mode."""
    t = IPTransactionRow
    q = (select(t.pricing_method, t.trading_mode, func.count(), func.coalesce(func.sum(t.price_fen), 0))
         .where(*conditions(filters)).group_by(t.pricing_method, t.trading_mode))
    cells = {(str(m), str(d)): (int(n), int(v)) for m, d, n, v in session.exec(q).all()}

    def rows(enum: type[PricingMethod] | type[TradingMode], pos: int) -> list[VolumeRow]:
        out = []
        for member in enum:
            hits = [c for k, c in cells.items() if k[pos] == member.value]
            zh, en = LABELS[enum][member.value]
            out.append(VolumeRow(key=member.value, label_zh=zh, label_en=en, count=sum(n for n, _ in hits),
                                 value_fen=sum(v for _, v in hits)))
        return out

    cross = [CrossRow(pricing_method=m.value, trading_mode=d.value, count=cells.get((m.value, d.value), (0, 0))[0],
                      value_fen=cells.get((m.value, d.value), (0, 0))[1])
             for m in PricingMethod for d in TradingMode]
    return VolumeReport(
        date_from=filters.get("date_from"), date_to=filters.get("date_to"),
        filters={k: v for k, v in filters.items() if v is not None and k not in ("date_from", "date_to")},
        total_count=sum(n for n, _ in cells.values()), total_value_fen=sum(v for _, v in cells.values()),
        by_pricing_method=rows(PricingMethod, 0), by_trading_mode=rows(TradingMode, 1), cross=cross)
