"""IP transaction register (知识产权交易登记): past transactions the market approach draws comparables from.

A transaction records what changed hands (sale, licence, auction, pledge disposal, reserve purchase
收储, equity contribution 作价入股), its price in integer fen, date, IP type and class (IPC subclass for
patents, Locarno class for designs, Nice class for trademarks and GI marks), industry (GB/T 4754
section), region (GB/T 2260 code), and how it was priced and traded — the six market pricing methods
and five trading modes of Chongqing's IP operation centre's guidance (seed 002: 协议定价、评估定价、
网络竞价、拍卖竞价、竞争性谈判、大数据系统估价; 协议交易、竞价交易、定向交易、挂牌转让、联盟交易).

Pure: :func:`parse_transactions` takes rows (mappings of column → text, e.g. from
``csv.DictReader``) and returns the valid transactions and a per-row error list; no file I/O here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from ipfin.money import MoneyError, cny_to_fen
from ipfin.reference import INDUSTRY_SECTIONS, PROVINCES

from .assets import IPType

_E = TypeVar("_E", bound=StrEnum)


class TransactionKind(StrEnum):
    """What the transaction transferred (交易类型)."""

    SALE = "sale"  # 转让
    EXCLUSIVE_LICENCE = "exclusive_licence"  # 独占许可
    NON_EXCLUSIVE_LICENCE = "non_exclusive_licence"  # 普通许可
    AUCTION = "auction"  # 拍卖
    PLEDGE_DISPOSAL = "pledge_disposal"  # 质物处置
    RESERVE_PURCHASE = "reserve_purchase"  # 收储
    EQUITY_CONTRIBUTION = "equity_contribution"  # 作价入股


class PricingMethod(StrEnum):
    """Market pricing method (市场化定价方式), Chongqing guidance (seed 002)."""

    AGREEMENT = "agreement"  # 协议定价
    APPRAISAL = "appraisal"  # 评估定价
    ONLINE_BIDDING = "online_bidding"  # 网络竞价
    AUCTION_BIDDING = "auction_bidding"  # 拍卖竞价
    COMPETITIVE_NEGOTIATION = "competitive_negotiation"  # 竞争性谈判
    BIG_DATA_VALUATION = "big_data_valuation"  # 大数据系统估价


class TradingMode(StrEnum):
    """Trading mode (交易模式), Chongqing guidance (seed 002)."""

    AGREEMENT = "agreement"  # 协议交易
    BIDDING = "bidding"  # 竞价交易
    DIRECTED = "directed"  # 定向交易
    LISTING = "listing"  # 挂牌转让
    ALLIANCE = "alliance"  # 联盟交易


LABELS: dict[type[StrEnum], dict[str, tuple[str, str]]] = {
    TransactionKind: {
        "sale": ("转让", "Sale (assignment)"),
        "exclusive_licence": ("独占许可", "Exclusive licence"),
        "non_exclusive_licence": ("普通许可", "Non-exclusive licence"),
        "auction": ("拍卖", "Auction"),
        "pledge_disposal": ("质物处置", "Pledge disposal"),
        "reserve_purchase": ("收储", "Reserve purchase"),
        "equity_contribution": ("作价入股", "Equity contribution"),
    },
    PricingMethod: {
        "agreement": ("协议定价", "Agreement"),
        "appraisal": ("评估定价", "Appraisal"),
        "online_bidding": ("网络竞价", "Online bidding"),
        "auction_bidding": ("拍卖竞价", "Auction bidding"),
        "competitive_negotiation": ("竞争性谈判", "Competitive negotiation"),
        "big_data_valuation": ("大数据系统估价", "Big-data system valuation"),
    },
    TradingMode: {
        "agreement": ("协议交易", "Agreement"),
        "bidding": ("竞价交易", "Bidding"),
        "directed": ("定向交易", "Directed"),
        "listing": ("挂牌转让", "Listing"),
        "alliance": ("联盟交易", "Alliance"),
    },
}
"""(zh-CN, en) label of every value, per enum (values repeat across enums: ``agreement``)."""


def label_zh(value: StrEnum) -> str:
    """Chinese label of a kind, pricing method or trading mode (e.g. ``收储``).

    Examples
    --------
    >>> label_zh(PricingMethod.AGREEMENT), label_zh(TradingMode.AGREEMENT)
    ('协议定价', '协议交易')
    """
    return LABELS[type(value)][value.value][0]


def _parse_enum(cls: type[_E], text: str) -> _E:
    """An enum member from its value or its Chinese label."""
    t = text.strip()
    for m in cls:
        if t == m.value or t == LABELS.get(cls, {}).get(m.value, ("",))[0]:
            return m
    raise ValueError(f"{t!r} is not one of {', '.join(m.value for m in cls)} (or their Chinese labels)")


# ------------------------------------------------------------------ classification keys

IPC_TYPES = frozenset({IPType.INVENTION_PATENT, IPType.UTILITY_MODEL})
NICE_TYPES = frozenset({IPType.TRADEMARK, IPType.GEOGRAPHICAL_INDICATION})
_IPC = re.compile(r"^([A-H]\d{2}[A-Z])(\s*\d{1,4}/\d{1,6})?$")
_LOCARNO = re.compile(r"^(\d{1,2})(-\d{1,2})?$")


def class_key(ip_type: IPType, code: str) -> str:
    """The class a comparable must share with the subject: IPC subclass (``H01M``), Nice class
    (``9``), Locarno class (``14``); other types match on the whole code as given (upper case).

    Raises ``ValueError`` for a code that is not of the type's scheme.

    Examples
    --------
    >>> class_key(IPType.INVENTION_PATENT, "H01M 10/0525")
    'H01M'
    >>> class_key(IPType.TRADEMARK, "09")
    '9'
    """
    c = code.strip().upper()
    if not c:
        return ""
    if ip_type in IPC_TYPES:
        m = _IPC.match(c)
        if not m:
            raise ValueError(f"IPC code {code!r} is not like 'H01M' or 'H01M 10/0525'")
        return m.group(1)
    if ip_type in NICE_TYPES:
        if not c.isdigit() or not 1 <= int(c) <= 45:
            raise ValueError(f"Nice class {code!r} must be 1-45")
        return str(int(c))
    if ip_type is IPType.DESIGN:
        m = _LOCARNO.match(c)
        if not m or not 1 <= int(m.group(1)) <= 32:
            raise ValueError(f"Locarno class {code!r} must be like '14' or '14-03'")
        return str(int(m.group(1)))
    return c


# ------------------------------------------------------------------ the transaction


@dataclass(frozen=True, slots=True)
class IPTransaction:
    """One registered IP transaction: price in fen, remaining life of the right when traded (years),
    quality score (0–100, same scale as the subject's indicator score) when known."""

    id: str
    kind: TransactionKind
    price_fen: int
    date: date
    ip_type: IPType
    ipc_or_nice_class: str
    industry: str | None
    region_code: str
    pricing_method: PricingMethod
    trading_mode: TradingMode
    remaining_life_years: float
    quality_score: float | None = None

    def __post_init__(self) -> None:
        if not self.id or not self.id.strip():
            raise ValueError("id must not be empty")
        for name, cls in (("kind", TransactionKind), ("ip_type", IPType), ("pricing_method", PricingMethod),
                          ("trading_mode", TradingMode)):
            object.__setattr__(self, name, cls(getattr(self, name)))
        if isinstance(self.price_fen, bool) or not isinstance(self.price_fen, int) or self.price_fen <= 0:
            raise ValueError(f"transaction {self.id}: price_fen must be a positive integer (fen)")
        class_key(self.ip_type, self.ipc_or_nice_class)  # raises for a malformed class
        if self.industry is not None and self.industry not in INDUSTRY_SECTIONS:
            raise ValueError(f"transaction {self.id}: industry must be a GB/T 4754-2017 section letter A-T")
        if not re.fullmatch(r"\d{6}", self.region_code) or self.region_code[:2] + "0000" not in PROVINCES:
            raise ValueError(f"transaction {self.id}: region_code must be a GB/T 2260 code of a known province")
        if not math.isfinite(self.remaining_life_years) or self.remaining_life_years <= 0:
            raise ValueError(f"transaction {self.id}: remaining_life_years must be a positive finite number")
        if self.quality_score is not None and not 0 < self.quality_score <= 100:
            raise ValueError(f"transaction {self.id}: quality_score must be in (0, 100]")

    @property
    def class_key(self) -> str:
        """IPC subclass / Nice class / Locarno class (see :func:`class_key`)."""
        return class_key(self.ip_type, self.ipc_or_nice_class)


# ------------------------------------------------------------------ CSV import


CSV_COLUMNS = ("id", "kind", "price_cny", "date", "ip_type", "class", "industry", "region_code", "pricing_method",
               "trading_mode", "remaining_life_years", "quality_score")
"""Columns of a register CSV (``price_fen`` may replace ``price_cny``; ``industry`` and ``quality_score``
may be blank). Enum columns take the value or its Chinese label (``收储``, ``网络竞价``…)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that could not be imported: 1-based data row number (header excluded), column, message."""

    row: int
    column: str
    message: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    transactions: tuple[IPTransaction, ...]
    errors: tuple[RowError, ...]


def _price_fen(r: Mapping[str, str]) -> tuple[str, int]:
    if (r.get("price_fen") or "").strip():
        t = r["price_fen"].strip()
        if not t.isdigit():
            raise ValueError("price_fen must be a whole number of fen")
        return "price_fen", int(t)
    t = (r.get("price_cny") or "").strip().replace(",", "")
    if not t:
        raise ValueError("price_cny (or price_fen) is required")
    try:
        return "price_cny", cny_to_fen(t)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


def parse_transaction(r: Mapping[str, str]) -> IPTransaction:
    """One transaction from one row of text; ``ValueError`` whose message starts with the column name."""
    def col(name: str, *, required: bool = True) -> str:
        v = (r.get(name) or "").strip()
        if required and not v:
            raise ValueError(f"{name}: is required")
        return v

    def field(name: str, conv: Any, *, required: bool = True) -> Any:
        v = col(name, required=required)
        if not v:
            return None
        try:
            return conv(v)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc

    tid = col("id")
    kind = field("kind", lambda t: _parse_enum(TransactionKind, t))
    try:
        price_col, price = _price_fen(r)
    except ValueError as exc:
        raise ValueError(f"price_cny: {exc}") from exc
    if price <= 0:
        raise ValueError(f"{price_col}: price must be positive")
    when = field("date", date.fromisoformat)
    ip_type = field("ip_type", lambda t: _parse_enum(IPType, t))
    cls = col("class", required=False)
    try:
        class_key(ip_type, cls)
    except ValueError as exc:
        raise ValueError(f"class: {exc}") from exc
    industry = field("industry", lambda t: t.upper(), required=False)
    if industry is not None and industry not in INDUSTRY_SECTIONS:
        raise ValueError("industry: must be a GB/T 4754-2017 section letter A-T")
    region = col("region_code")
    if not re.fullmatch(r"\d{6}", region) or region[:2] + "0000" not in PROVINCES:
        raise ValueError("region_code: must be a 6-digit GB/T 2260 code of a known province")
    pricing = field("pricing_method", lambda t: _parse_enum(PricingMethod, t))
    mode = field("trading_mode", lambda t: _parse_enum(TradingMode, t))
    life = field("remaining_life_years", float)
    if not math.isfinite(life) or life <= 0:
        raise ValueError("remaining_life_years: must be a positive number of years")
    q = field("quality_score", float, required=False)
    if q is not None and not (math.isfinite(q) and 0 < q <= 100):
        raise ValueError("quality_score: must be in (0, 100]")
    return IPTransaction(id=tid, kind=kind, price_fen=price, date=when, ip_type=ip_type, ipc_or_nice_class=cls,
                         industry=industry, region_code=region, pricing_method=pricing, trading_mode=mode,
                         remaining_life_years=life, quality_score=q)


def parse_transactions(rows: Iterable[Mapping[str, str]]) -> ImportResult:
    """Validate register rows: the good transactions and one :class:`RowError` per bad row.

    A row's id must be unique in the file (a repeat is an error on the later row).

    Examples
    --------
    >>> rows = [{"id": "T1", "kind": "收储", "price_cny": "1,200,000.00", "date": "2024-05-20",
    ...          "ip_type": "invention_patent", "class": "H01M 10/0525", "industry": "C",
    ...          "region_code": "500100", "pricing_method": "评估定价", "trading_mode": "directed",
    ...          "remaining_life_years": "12.5", "quality_score": ""},
    ...         {"id": "T2", "kind": "gift", "price_cny": "1", "date": "2024-01-01"}]
    >>> res = parse_transactions(rows)
    >>> res.transactions[0].kind.value, res.transactions[0].price_fen
    ('reserve_purchase', 120000000)
    >>> res.errors[0].row, res.errors[0].column
    (2, 'kind')
    """
    good: list[IPTransaction] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for i, r in enumerate(rows, start=1):
        try:
            t = parse_transaction(r)
        except ValueError as exc:
            msg = str(exc)
            column, _, text = msg.partition(": ")
            if column not in CSV_COLUMNS and column != "price_fen":
                column, text = "", msg
            errors.append(RowError(i, column, text))
            continue
        if t.id in seen:
            errors.append(RowError(i, "id", f"duplicate transaction id {t.id}"))
            continue
        seen.add(t.id)
        good.append(t)
    return ImportResult(tuple(good), tuple(errors))
