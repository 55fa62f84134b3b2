"""The collateral pool (基础资产池): IP pledge loans and licence-royalty receivables.

Two asset kinds back Chinese IP ABS (DESIGN §3): amortising loans secured by pledged IP
(知识产权质押贷款, e.g. 南山区-高新投 deals) and patent licence / sub-licence royalty
receivables (专利许可费应收账款, e.g. 兴业圆融-广州开发区 2019). Money is integer fen; rates
and probabilities are floats (fractions). Every field is validated on construction and a
bad value raises ``ValueError`` naming the field.

Also here: CSV/XLSX import with per-row errors, and stratification tables (分层统计) by
industry, region, IP type, size bucket and rating.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal

from ipfin.money import Fen, MoneyError, cny_to_fen, fen_to_cny, split_largest_remainder
from ipfin.reference import INDUSTRY_SECTIONS, IP_TYPES, REGIONS

from .cashflows import ScheduleType

SCHEDULE_TYPES: tuple[str, ...] = ("annuity", "equal_principal", "bullet")
StratKey = Literal["industry", "region", "province", "ip_type", "size", "rating", "kind"]

SIZE_BUCKETS_CNY: tuple[tuple[str, int, int | None], ...] = (
    ("<1M", 0, 1_000_000),
    ("1-5M", 1_000_000, 5_000_000),
    ("5-10M", 5_000_000, 10_000_000),
    ("10-20M", 10_000_000, 20_000_000),
    (">=20M", 20_000_000, None),
)
"""Balance buckets in CNY (lower inclusive). 10M is the 普惠 single-borrower line (DESIGN §2)."""

MAX_TERM_MONTHS = 600
"""Longest accepted loan term or royalty schedule (50 years): bounds every projection's horizon."""
MAX_LAG_MONTHS = 120
"""Longest accepted recovery lag (10 years of 质物处置)."""
MAX_ASSET_FEN: Fen = 10**13
"""Largest accepted single asset (100 bn CNY), so that a full pool still fits a signed 64-bit fen column."""
MAX_POOL_ASSETS = 50_000
"""Most assets in one pool; keeps projections and the copula's exposure table within memory."""


def _fraction(name: str, value: float, *, upper_inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: must be a number")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite")
    if v < 0 or (v > 1 if upper_inclusive else v >= 1):
        raise ValueError(f"{name}: must be a fraction in [0, 1{']' if upper_inclusive else ')'}, got {v}")
    return v


def _code(name: str, value: str, allowed: Mapping[str, Any]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: unknown code {value!r}")
    return value


def _positive_fen(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be integer fen")
    if value <= 0:
        raise ValueError(f"{name}: must be positive, got {value}")
    if value > MAX_ASSET_FEN:
        raise ValueError(f"{name}: at most {MAX_ASSET_FEN} fen (100 bn CNY) per asset, got {value}")


def _lag(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LAG_MONTHS:
        raise ValueError(f"recovery_lag_months: must be a whole number of months in [0, {MAX_LAG_MONTHS}]")


@dataclass(frozen=True, slots=True)
class PledgeLoan:
    """An IP pledge loan as pool collateral.

    ``balance_fen`` current principal; ``annual_rate`` contract rate (fraction);
    ``term_months`` original term and ``age_months`` elapsed; ``annual_pd`` one-year
    default probability (converted to a constant hazard); ``recovery_rate`` of the balance
    at default, received ``recovery_lag_months`` after default (质物处置 takes time).
    """

    loan_id: str
    borrower: str
    balance_fen: Fen
    annual_rate: float
    term_months: int
    annual_pd: float
    recovery_rate: float
    recovery_lag_months: int
    industry: str
    region: str
    ip_type: str = "invention_patent"
    schedule: ScheduleType = "annuity"
    age_months: int = 0
    rating: str = "NR"

    def __post_init__(self) -> None:
        if not self.loan_id:
            raise ValueError("loan_id: must not be empty")
        _positive_fen("balance_fen", self.balance_fen)
        _fraction("annual_rate", self.annual_rate, upper_inclusive=False)
        if isinstance(self.term_months, bool) or not isinstance(self.term_months, int) or not (
            0 < self.term_months <= MAX_TERM_MONTHS
        ):
            raise ValueError(f"term_months: must be a whole number of months in [1, {MAX_TERM_MONTHS}]")
        if not isinstance(self.age_months, int) or not 0 <= self.age_months < self.term_months:
            raise ValueError("age_months: must be in [0, term_months)")
        _fraction("annual_pd", self.annual_pd, upper_inclusive=False)
        _fraction("recovery_rate", self.recovery_rate)
        _lag(self.recovery_lag_months)
        _code("industry", self.industry, INDUSTRY_SECTIONS)
        _code("region", self.region, REGIONS)
        _code("ip_type", self.ip_type, IP_TYPES)
        if self.schedule not in SCHEDULE_TYPES:
            raise ValueError(f"schedule: must be one of {SCHEDULE_TYPES}")

    @property
    def remaining_term(self) -> int:
        return self.term_months - self.age_months

    @property
    def monthly_hazard(self) -> float:
        """Constant monthly default probability equivalent to ``annual_pd`` (MDR from CDR)."""
        return 1.0 - (1.0 - self.annual_pd) ** (1.0 / 12.0)


@dataclass(frozen=True, slots=True)
class RoyaltyReceivable:
    """Scheduled licence royalties (许可费) owed by one licensee (the obligor).

    ``schedule_fen[k]`` is due in month k+1. If the obligor defaults, all later royalties stop;
    ``recovery_rate`` of the unpaid remainder is recovered ``recovery_lag_months`` later.
    """

    receivable_id: str
    obligor: str
    schedule_fen: tuple[Fen, ...]
    annual_pd: float
    recovery_rate: float
    recovery_lag_months: int
    industry: str
    region: str
    ip_type: str = "invention_patent"
    rating: str = "NR"

    def __post_init__(self) -> None:
        if not self.receivable_id:
            raise ValueError("receivable_id: must not be empty")
        if not self.schedule_fen:
            raise ValueError("schedule_fen: at least one scheduled royalty is needed")
        if len(self.schedule_fen) > MAX_TERM_MONTHS:
            raise ValueError(f"schedule_fen: at most {MAX_TERM_MONTHS} monthly royalties")
        for k, a in enumerate(self.schedule_fen):
            if isinstance(a, bool) or not isinstance(a, int) or a < 0:
                raise ValueError(f"schedule_fen[{k}]: must be non-negative integer fen")
        _positive_fen("schedule_fen (total royalties)", sum(self.schedule_fen))
        _fraction("annual_pd", self.annual_pd, upper_inclusive=False)
        _fraction("recovery_rate", self.recovery_rate)
        _lag(self.recovery_lag_months)
        _code("industry", self.industry, INDUSTRY_SECTIONS)
        _code("region", self.region, REGIONS)
        _code("ip_type", self.ip_type, IP_TYPES)

    @property
    def balance_fen(self) -> Fen:
        """Outstanding nominal receivable: the sum of all scheduled royalties."""
        return sum(self.schedule_fen)

    @property
    def monthly_hazard(self) -> float:
        return 1.0 - (1.0 - self.annual_pd) ** (1.0 / 12.0)


@dataclass(frozen=True)
class Pool:
    """A securitised pool: loans and/or royalty receivables, with pool-level summaries."""

    name: str
    loans: tuple[PledgeLoan, ...] = ()
    royalties: tuple[RoyaltyReceivable, ...] = ()
    cut_off_note: str = ""

    def __post_init__(self) -> None:
        if not self.loans and not self.royalties:
            raise ValueError("pool: needs at least one loan or royalty receivable")
        if len(self.loans) + len(self.royalties) > MAX_POOL_ASSETS:
            raise ValueError(f"pool: at most {MAX_POOL_ASSETS} assets")
        ids = [a.loan_id for a in self.loans] + [r.receivable_id for r in self.royalties]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"pool: duplicate asset ids {sorted(dup)}")

    @property
    def balance_fen(self) -> Fen:
        return sum(a.balance_fen for a in self.loans) + sum(r.balance_fen for r in self.royalties)

    @property
    def n_assets(self) -> int:
        return len(self.loans) + len(self.royalties)

    @property
    def n_obligors(self) -> int:
        return len({a.borrower for a in self.loans} | {r.obligor for r in self.royalties})

    def weighted_average(self, attr: str) -> float:
        """Balance-weighted average of a numeric attribute over all assets that have it."""
        everything: list[PledgeLoan | RoyaltyReceivable] = [*self.loans, *self.royalties]
        assets = [a for a in everything if hasattr(a, attr)]
        w = sum(a.balance_fen for a in assets)
        return sum(float(getattr(a, attr)) * a.balance_fen for a in assets) / w if w else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "balance_cny": str(fen_to_cny(self.balance_fen)),
            "n_loans": len(self.loans),
            "n_royalty_receivables": len(self.royalties),
            "n_obligors": self.n_obligors,
            "wa_rate": self.weighted_average("annual_rate"),
            "wa_remaining_term_months": self.weighted_average("remaining_term"),
            "wa_annual_pd": self.weighted_average("annual_pd"),
            "wa_recovery_rate": self.weighted_average("recovery_rate"),
        }


# ------------------------------------------------------------------ stratification


@dataclass(frozen=True, slots=True)
class StratRow:
    """One bucket of a stratification table; ``share`` is of pool balance (exact Decimal)."""

    bucket: str
    count: int
    balance_fen: Fen
    share: Decimal
    wa_annual_pd: float
    wa_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "count": self.count,
            "balance_cny": str(fen_to_cny(self.balance_fen)),
            "share": str(self.share),
            "wa_annual_pd": self.wa_annual_pd,
            "wa_rate": self.wa_rate,
        }


def size_bucket(balance_fen: Fen) -> str:
    cny = balance_fen // 100
    for label, lo, hi in SIZE_BUCKETS_CNY:
        if cny >= lo and (hi is None or cny < hi):
            return label
    raise AssertionError("unreachable: buckets cover all non-negative amounts")


def _key(asset: PledgeLoan | RoyaltyReceivable, by: StratKey) -> str:
    if by == "size":
        return size_bucket(asset.balance_fen)
    if by == "province":
        return asset.region[:2] + "0000"
    if by == "kind":
        return "pledge_loan" if isinstance(asset, PledgeLoan) else "royalty_receivable"
    return str(getattr(asset, by))


def stratify(pool: Pool, by: StratKey) -> list[StratRow]:
    """Stratification table of ``pool`` by a key; rows sorted by balance, largest first.

    Shares are exact decimals (6 places) from the largest-remainder split of 1,000,000 so the
    column sums to exactly 1.
    """
    if by not in ("industry", "region", "province", "ip_type", "size", "rating", "kind"):
        raise ValueError(f"by: cannot stratify by {by!r}")
    groups: dict[str, list[PledgeLoan | RoyaltyReceivable]] = {}
    everything: list[PledgeLoan | RoyaltyReceivable] = [*pool.loans, *pool.royalties]
    for a in everything:
        groups.setdefault(_key(a, by), []).append(a)
    order = sorted(groups, key=lambda k: (-sum(a.balance_fen for a in groups[k]), k))

    balances = [sum(a.balance_fen for a in groups[k]) for k in order]
    millionths = split_largest_remainder(1_000_000, balances)
    rows = []
    for k, bal, mil in zip(order, balances, millionths, strict=True):
        assets = groups[k]
        pd = sum(a.annual_pd * a.balance_fen for a in assets) / bal
        loans = [a for a in assets if isinstance(a, PledgeLoan)]
        lb = sum(a.balance_fen for a in loans)
        rate = sum(a.annual_rate * a.balance_fen for a in loans) / lb if lb else None
        rows.append(StratRow(k, len(assets), bal, Decimal(mil) / Decimal(1_000_000), pd, rate))
    return rows


# ------------------------------------------------------------------ import


@dataclass(frozen=True, slots=True)
class RowError:
    """An import problem: 1-based data row (header is row 1), the field, and what is wrong."""

    row: int
    field: str
    message: str


@dataclass(frozen=True)
class PoolImport:
    """Result of an import: the valid loans and one :class:`RowError` per rejected row."""

    loans: tuple[PledgeLoan, ...]
    errors: tuple[RowError, ...] = field(default_factory=tuple)

    def pool(self, name: str) -> Pool:
        return Pool(name=name, loans=self.loans)


LOAN_COLUMNS = (
    "loan_id", "borrower", "balance_cny", "annual_rate", "term_months", "annual_pd",
    "recovery_rate", "recovery_lag_months", "industry", "region", "ip_type", "schedule",
    "age_months", "rating",
)
"""CSV/XLSX header for loans; ``ip_type``, ``schedule``, ``age_months`` and ``rating`` optional."""


def _field_of(message: str) -> str:
    head = message.split(":", 1)[0].strip()
    return head if head in LOAN_COLUMNS or head == "balance_fen" else "row"


def parse_loan_rows(rows: Iterable[Mapping[str, Any]], first_row: int = 2) -> PoolImport:
    """Build loans from dict rows (header → value); bad rows become :class:`RowError`s."""
    loans: list[PledgeLoan] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for n, raw in enumerate(rows, start=first_row):
        row = {str(k).strip(): ("" if v is None else str(v).strip()) for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        try:
            missing = [c for c in LOAN_COLUMNS[:10] if not row.get(c)]
            if missing:
                raise ValueError(f"{missing[0]}: required value is missing")

            def num(col: str, kind: type = float, row: dict[str, str] = row) -> Any:
                try:
                    v = float(row[col]) if kind is float else int(Decimal(row[col]))
                except Exception as exc:
                    raise ValueError(f"{col}: not a number: {row[col]!r}") from exc
                if kind is int and Decimal(row[col]) != int(Decimal(row[col])):
                    raise ValueError(f"{col}: must be a whole number")
                return v

            try:
                balance = cny_to_fen(row["balance_cny"])
            except MoneyError as exc:
                raise ValueError(f"balance_cny: {exc}") from exc
            loan = PledgeLoan(
                loan_id=row["loan_id"],
                borrower=row["borrower"],
                balance_fen=balance,
                annual_rate=num("annual_rate"),
                term_months=num("term_months", int),
                annual_pd=num("annual_pd"),
                recovery_rate=num("recovery_rate"),
                recovery_lag_months=num("recovery_lag_months", int),
                industry=row["industry"].upper(),
                region=row["region"],
                ip_type=row.get("ip_type") or "invention_patent",
                schedule=row.get("schedule") or "annuity",  # type: ignore[arg-type]
                age_months=num("age_months", int) if row.get("age_months") else 0,
                rating=row.get("rating") or "NR",
            )
            if loan.loan_id in seen:
                raise ValueError(f"loan_id: duplicate id {loan.loan_id!r}")
            seen.add(loan.loan_id)
            loans.append(loan)
        except ValueError as exc:
            msg = str(exc)
            errors.append(RowError(n, _field_of(msg), msg))
    return PoolImport(tuple(loans), tuple(errors))


def load_loans_csv(path: str | Path) -> PoolImport:
    """Read loans from a UTF-8 CSV (BOM allowed) with the :data:`LOAN_COLUMNS` header."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return parse_loan_rows(csv.DictReader(fh))


def load_loans_xlsx(path: str | Path | BinaryIO, sheet: str | None = None) -> PoolImport:
    """Read loans from the first (or named) sheet of an .xlsx workbook (header in row 1); ``path``
    may also be an open binary file."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, EOFError) as exc:
        raise ValueError(f"file: not a readable .xlsx workbook ({exc})") from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise ValueError(f"sheet: no sheet {sheet!r} (sheets: {wb.sheetnames})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(it, ())]
        rows = [dict(zip(header, r, strict=False)) for r in it]
    finally:
        wb.close()
    return parse_loan_rows(rows)
