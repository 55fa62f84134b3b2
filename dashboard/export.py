"""CSV and Excel exports of the dashboard's tables (exact values: CNY with two decimals, counts)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark, so Excel opens Chinese names correctly."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(headers: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str = "data") -> bytes:
    """An .xlsx workbook with one sheet: the header row, then the rows (numbers stay numbers)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31] or "data"
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

