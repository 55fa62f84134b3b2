"""Plain-text tables for the command line: what a person reads; JSON stays behind ``--json``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from unicodedata import east_asian_width


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[bool] | None = None) -> str:
    """Columns padded to their widest cell; ``right`` aligns numeric columns to the right.

    >>> print(table(["tranche", "loss (CNY)"], [["Senior", "0.00"], ["Sub", "2,329,143.09"]], right=[False, True]))
    tranche    loss (CNY)
    -------  ------------
    Senior           0.00
    Sub      2,329,143.09
    """
    cells = [[str(c) for c in r] for r in rows]
    align = list(right) if right is not None else [False] * len(headers)
    widths = [max([_width(h), *(_width(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, w, a) for h, w, a in zip(headers, widths, align, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(_pad(c, w, a) for c, w, a in zip(r, widths, align, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def cny(fen: int) -> str:
    """Integer fen as CNY with thousands separators: 232914309 → '2,329,143.09'."""
    return f"{Decimal(fen) / 100:,.2f}"


def pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"
