"""Market approach (市场法): comparable transactions adjusted factor by factor.

V_i = P_i × (Q / Q_i) × life factor × time factor × scope factor × transaction-type factor,
V = Σ w_i V_i / Σ w_i, with the dispersion of the V_i and the adjusted table returned.

The remaining-life factor is the annuity ratio a(L)/a(L_i) with a(n) = (1 − (1 + r)^−n)/r when a
discount rate r is given (剩余寿命修正系数: income over the remaining life, discounted), or the
plain ratio L/L_i otherwise. The time factor is price index now / index at the transaction date.

Comparables come typed by hand (:class:`Comparable`) or from the IP transaction register
(:func:`select_comparables`, :func:`market_value_from_register`): same IP type and class, a date
window, ranked by similarity of remaining life and quality score, each used or excluded with a
reason code and a bilingual explanation; the user can include or exclude transactions by id.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from .assets import DAYS_PER_YEAR, IPType
from .transactions import IPTransaction, TransactionKind, class_key, label_zh


@dataclass(frozen=True, slots=True)
class Comparable:
    """A comparable transaction (可比交易案例), price in CNY, adjustment inputs as stated factors."""

    ref: str
    price_cny: float
    quality_score: float  # 0–100, same scale as the subject's indicator score
    remaining_life_years: float
    time_index_ratio: float = 1.0  # price index at valuation date / index at transaction date
    scope_factor: float = 1.0  # exclusivity, territory, field of use
    transaction_type_factor: float = 1.0  # e.g. transfer vs licence, related party, distressed sale
    weight: float = 1.0

    def __post_init__(self) -> None:
        for name in ("price_cny", "remaining_life_years", "time_index_ratio", "scope_factor",
                     "transaction_type_factor", "weight"):
            v = getattr(self, name)
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"comparable {self.ref}: {name} must be a positive finite number")
        if not 0 < self.quality_score <= 100:
            raise ValueError(f"comparable {self.ref}: quality_score must be in (0, 100]")


@dataclass(frozen=True, slots=True)
class AdjustedComparable:
    ref: str
    price_cny: float
    quality_ratio: float
    life_factor: float
    time_factor: float
    scope_factor: float
    transaction_type_factor: float
    adjusted_value: float
    weight: float


@dataclass(frozen=True, slots=True)
class MarketValue:
    """Weighted mean of adjusted comparables and their dispersion (CNY)."""

    value: float
    mean: float
    median: float
    std: float
    coefficient_of_variation: float
    low: float
    high: float
    table: tuple[AdjustedComparable, ...]


def annuity_factor(years: float, rate: float) -> float:
    """a(n) = (1 − (1 + r)^−n) / r; n when r = 0."""
    if rate == 0:
        return years
    return (1 - (1 + rate) ** -years) / rate


def market_value(
    comparables: Sequence[Comparable],
    subject_quality_score: float,
    subject_remaining_life_years: float,
    *,
    discount_rate: float | None = None,
    quality_ratio_bounds: tuple[float, float] = (0.5, 2.0),
) -> MarketValue:
    """Adjust each comparable to the subject and combine them (see module docstring)."""
    if not comparables:
        raise ValueError("comparables: at least one comparable transaction is needed")
    if not 0 < subject_quality_score <= 100:
        raise ValueError("subject_quality_score must be in (0, 100]")
    if not subject_remaining_life_years > 0:
        raise ValueError("subject_remaining_life_years must be positive")
    if discount_rate is not None and not 0 <= discount_rate < 1:
        raise ValueError("discount_rate must be in [0, 1)")
    lo_q, hi_q = quality_ratio_bounds
    rows = []
    for c in comparables:
        q = min(hi_q, max(lo_q, subject_quality_score / c.quality_score))
        if discount_rate is None:
            life = subject_remaining_life_years / c.remaining_life_years
        else:
            life = annuity_factor(subject_remaining_life_years, discount_rate) / annuity_factor(
                c.remaining_life_years, discount_rate
            )
        v = c.price_cny * q * life * c.time_index_ratio * c.scope_factor * c.transaction_type_factor
        rows.append(
            AdjustedComparable(c.ref, c.price_cny, q, life, c.time_index_ratio, c.scope_factor,
                               c.transaction_type_factor, v, c.weight)
        )
    vals = [r.adjusted_value for r in rows]
    wsum = sum(r.weight for r in rows)
    value = sum(r.adjusted_value * r.weight for r in rows) / wsum
    mean = statistics.fmean(vals)
    std = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return MarketValue(value, mean, statistics.median(vals), std, std / mean if mean else 0.0,
                       min(vals), max(vals), tuple(rows))


# ------------------------------------------------------------------ comparables from the transaction register

DEFAULT_TRANSACTION_TYPE_FACTORS: Mapping[TransactionKind, float] = MappingProxyType({
    TransactionKind.SALE: 1.0,
    TransactionKind.AUCTION: 1.0,
    TransactionKind.RESERVE_PURCHASE: 1.0,
    TransactionKind.EQUITY_CONTRIBUTION: 1.0,
    TransactionKind.EXCLUSIVE_LICENCE: 1.25,
    TransactionKind.NON_EXCLUSIVE_LICENCE: 2.5,
    TransactionKind.PLEDGE_DISPOSAL: 1 / 0.7,
})
"""Transaction-type factor (交易类型修正系数) that turns a price of each kind into an outright-sale price.

ASSUMPTIONS (ipfin defaults, not from a cited source; a valuer should state their own):
an exclusive licence fee is taken as 80 % of the right's sale value (factor 1.25), a non-exclusive licence
fee as 40 % (2.5); a pledge disposal is a forced sale at a 30 % discount (1/0.7); auctions, reserve
purchases (收储) and equity contributions (作价入股) are taken at par (1.0)."""

TRANSACTION_TYPE_FACTOR_IS_ASSUMPTION = True


class SelectionReason(StrEnum):
    """Why a register transaction was used as a comparable or left out (reason code)."""

    SELECTED = "selected"  # in the top k by similarity
    MANUAL_INCLUDE = "manual_include"  # included by hand
    MANUAL_EXCLUDE = "manual_exclude"  # excluded by hand
    OTHER_IP_TYPE = "other_ip_type"
    OTHER_CLASS = "other_class"
    AFTER_VALUATION_DATE = "after_valuation_date"
    TOO_OLD = "too_old"
    OTHER_INDUSTRY = "other_industry"
    OTHER_REGION = "other_region"
    KIND_NOT_ALLOWED = "kind_not_allowed"
    BELOW_MIN_SIMILARITY = "below_min_similarity"
    NOT_IN_TOP_K = "not_in_top_k"


_USED_REASONS = frozenset({SelectionReason.SELECTED, SelectionReason.MANUAL_INCLUDE})


@dataclass(frozen=True, slots=True)
class RegisterSearch:
    """How to search the register for comparables of one subject.

    Filters (in this order; the first that fails is the reason shown): same IP type; same class key
    (IPC subclass / Nice class / Locarno class, see :func:`valuation.transactions.class_key`) when
    ``class_code`` is given; not after the valuation date; at most ``max_age_years`` old; same industry
    when ``industry`` is given; region code starting with ``region_prefix``; kind in ``kinds``;
    similarity ≥ ``min_similarity``.

    Ranking: similarity = exp(−|L − L_i| / ``life_scale_years``) × exp(−|Q − Q_i| / ``score_scale``)
    (the quality term is ``missing_quality_similarity`` when Q_i is unknown), highest first; ties go to
    the more recent transaction, then the smaller id. The top ``top_k`` are used.

    Manual override: ``exclude_ids`` are never used (and do not take a top-k place); ``include_ids``
    are used whatever the filters say (except a transaction after the valuation date, which is an
    error) and do not count against ``top_k``.

    Time factor: price index at the valuation date ÷ index at the transaction date, from
    ``price_index`` ((date, index) steps, each in force from its date) if given, else
    (1 + ``annual_price_change``)^age in years (days / 365.25).
    """

    ip_type: IPType
    valuation_date: date
    subject_quality_score: float
    subject_remaining_life_years: float
    class_code: str = ""
    max_age_years: float = 3.0
    top_k: int = 5
    life_scale_years: float = 5.0
    score_scale: float = 20.0
    missing_quality_similarity: float = 0.5
    min_similarity: float = 0.0
    annual_price_change: float = 0.0
    price_index: tuple[tuple[date, float], ...] = ()
    industry: str | None = None
    region_prefix: str = ""
    kinds: frozenset[TransactionKind] | None = None
    transaction_type_factors: Mapping[TransactionKind, float] = field(
        default_factory=lambda: DEFAULT_TRANSACTION_TYPE_FACTORS)
    include_ids: frozenset[str] = frozenset()
    exclude_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ip_type", IPType(self.ip_type))
        object.__setattr__(self, "include_ids", frozenset(self.include_ids))
        object.__setattr__(self, "exclude_ids", frozenset(self.exclude_ids))
        if self.kinds is not None:
            object.__setattr__(self, "kinds", frozenset(TransactionKind(k) for k in self.kinds))
        if not 0 < self.subject_quality_score <= 100:
            raise ValueError("subject_quality_score must be in (0, 100]")
        if not self.subject_remaining_life_years > 0:
            raise ValueError("subject_remaining_life_years must be positive")
        if not self.max_age_years > 0:
            raise ValueError("max_age_years must be positive")
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if not (self.life_scale_years > 0 and self.score_scale > 0):
            raise ValueError("life_scale_years and score_scale must be positive")
        if not 0 <= self.missing_quality_similarity <= 1 or not 0 <= self.min_similarity <= 1:
            raise ValueError("missing_quality_similarity and min_similarity must be in [0, 1]")
        if not -1 < self.annual_price_change < 1:
            raise ValueError("annual_price_change must be in (-1, 1)")
        if any(not (math.isfinite(v) and v > 0) for _, v in self.price_index):
            raise ValueError("price_index values must be positive")
        both = self.include_ids & self.exclude_ids
        if both:
            raise ValueError(f"transactions both included and excluded by hand: {sorted(both)}")
        missing = [k for k in TransactionKind if k not in self.transaction_type_factors]
        if missing or any(not (math.isfinite(v) and v > 0) for v in self.transaction_type_factors.values()):
            raise ValueError("transaction_type_factors must give a positive factor for every kind")
        if self.class_code:
            class_key(self.ip_type, self.class_code)


@dataclass(frozen=True, slots=True)
class ComparableDecision:
    """What the search did with one register transaction, and why (bilingual text)."""

    transaction_id: str
    used: bool
    reason: SelectionReason
    reason_zh: str
    reason_en: str
    similarity: float | None
    rank: int | None
    age_years: float
    time_index_ratio: float | None = None
    transaction_type_factor: float | None = None


@dataclass(frozen=True, slots=True)
class ComparableSelection:
    """Decisions for every register transaction (used ones first, by rank) and the comparables built
    from the used ones (same order)."""

    decisions: tuple[ComparableDecision, ...]
    comparables: tuple[Comparable, ...]
    register_size: int


@dataclass(frozen=True, slots=True)
class RegisterMarketValue:
    value: MarketValue
    selection: ComparableSelection


def similarity(subject_life: float, subject_quality: float, life: float, quality: float | None, *,
               life_scale_years: float = 5.0, score_scale: float = 20.0,
               missing_quality_similarity: float = 0.5) -> float:
    """Similarity in (0, 1] of a comparable to the subject: exp(−|ΔL|/λ_L) × exp(−|ΔQ|/λ_Q).

    Examples
    --------
    >>> round(similarity(10, 70, 10, 70), 6)
    1.0
    >>> round(similarity(10, 70, 15, 50), 6) == round(math.exp(-1) * math.exp(-1), 6)
    True
    """
    s_life = math.exp(-abs(subject_life - life) / life_scale_years)
    s_q = missing_quality_similarity if quality is None else math.exp(-abs(subject_quality - quality) / score_scale)
    return s_life * s_q


def _index_at(index: Sequence[tuple[date, float]], d: date) -> float:
    steps = sorted(index)
    value = None
    for when, v in steps:
        if when <= d:
            value = v
    if value is None:
        raise ValueError(f"price_index starts {steps[0][0]}, after the transaction date {d}")
    return value


def _time_ratio(search: RegisterSearch, d: date) -> float:
    if search.price_index:
        return _index_at(search.price_index, search.valuation_date) / _index_at(search.price_index, d)
    return (1 + search.annual_price_change) ** ((search.valuation_date - d).days / DAYS_PER_YEAR)


def _screen(t: IPTransaction, s: RegisterSearch, subject_class: str, age: float) -> tuple[SelectionReason, str, str]:
    """The first failing filter (reason, zh, en), or SELECTED with empty texts if all pass."""
    R = SelectionReason
    if t.ip_type is not s.ip_type:
        return R.OTHER_IP_TYPE, f"类型 {t.ip_type.value} 与评估对象 {s.ip_type.value} 不同", (
            f"IP type {t.ip_type.value} is not the subject's {s.ip_type.value}")
    if subject_class and t.class_key != subject_class:
        return R.OTHER_CLASS, f"分类 {t.class_key or '(无)'} 与评估对象 {subject_class} 不同", (
            f"class {t.class_key or '(none)'} differs from the subject's {subject_class}")
    if t.date > s.valuation_date:
        return R.AFTER_VALUATION_DATE, f"交易日 {t.date} 晚于评估基准日 {s.valuation_date}", (
            f"traded {t.date}, after the valuation date {s.valuation_date}")
    if age > s.max_age_years:
        return R.TOO_OLD, f"交易日 {t.date} 距基准日 {age:.2f} 年, 超过 {s.max_age_years:g} 年", (
            f"traded {t.date}, {age:.2f} years before the valuation date (limit {s.max_age_years:g})")
    if s.industry is not None and t.industry != s.industry:
        return R.OTHER_INDUSTRY, f"行业 {t.industry} 与评估对象 {s.industry} 不同", (
            f"industry {t.industry} is not the subject's {s.industry}")
    if s.region_prefix and not t.region_code.startswith(s.region_prefix):
        return R.OTHER_REGION, f"地区 {t.region_code} 不在 {s.region_prefix}* 范围", (
            f"region {t.region_code} is outside {s.region_prefix}*")
    if s.kinds is not None and t.kind not in s.kinds:
        return R.KIND_NOT_ALLOWED, f"交易类型 {label_zh(t.kind)} 不在选用范围", (
            f"transaction kind {t.kind.value} is not among those searched")
    return R.SELECTED, "", ""


def select_comparables(register: Sequence[IPTransaction], search: RegisterSearch) -> ComparableSelection:
    """Search ``register`` for the subject's comparables (see :class:`RegisterSearch`) and explain
    every decision. Raises ``ValueError`` for unknown or duplicate ids, or a manual include of a
    transaction dated after the valuation date."""
    ids = [t.id for t in register]
    if len(set(ids)) != len(ids):
        raise ValueError("register: the same transaction id appears more than once")
    unknown = sorted((search.include_ids | search.exclude_ids) - set(ids))
    if unknown:
        raise ValueError(f"include/exclude ids not in the register: {unknown}")
    subject_class = class_key(search.ip_type, search.class_code) if search.class_code else ""
    rows: dict[str, dict[str, object]] = {}
    ranked: list[tuple[float, IPTransaction]] = []
    for t in register:
        age = (search.valuation_date - t.date).days / DAYS_PER_YEAR
        sim = similarity(search.subject_remaining_life_years, search.subject_quality_score, t.remaining_life_years,
                         t.quality_score, life_scale_years=search.life_scale_years, score_scale=search.score_scale,
                         missing_quality_similarity=search.missing_quality_similarity)
        reason, zh, en = _screen(t, search, subject_class, age)
        if reason is SelectionReason.SELECTED and sim < search.min_similarity:
            reason, zh, en = (SelectionReason.BELOW_MIN_SIMILARITY, f"相似度 {sim:.3f} 低于 {search.min_similarity:g}",
                              f"similarity {sim:.3f} is below {search.min_similarity:g}")
        if t.id in search.exclude_ids:
            reason, zh, en = SelectionReason.MANUAL_EXCLUDE, "人工排除", "excluded by hand"
        elif t.id in search.include_ids:
            if t.date > search.valuation_date:
                raise ValueError(f"include_ids: {t.id} is dated {t.date}, after the valuation date")
            why_zh = "" if reason is SelectionReason.SELECTED else f" (否则: {zh})"
            why_en = "" if reason is SelectionReason.SELECTED else f" (would be excluded: {en})"
            reason, zh, en = (SelectionReason.MANUAL_INCLUDE, f"人工选用, 相似度 {sim:.3f}{why_zh}",
                              f"included by hand, similarity {sim:.3f}{why_en}")
        rows[t.id] = {"reason": reason, "zh": zh, "en": en, "sim": sim, "age": age, "t": t}
        if reason is SelectionReason.SELECTED:
            ranked.append((sim, t))
    ranked.sort(key=lambda p: (-p[0], -p[1].date.toordinal(), p[1].id))
    n = len(ranked)
    for rank, (sim, t) in enumerate(ranked, start=1):
        r = rows[t.id]
        r["rank"] = rank
        if rank <= search.top_k:
            r["zh"] = f"相似度 {sim:.3f}, 候选 {n} 个中排名第 {rank}"
            r["en"] = f"similarity {sim:.3f}, rank {rank} of {n} candidates"
        else:
            r["reason"] = SelectionReason.NOT_IN_TOP_K
            r["zh"] = f"相似度 {sim:.3f}, 排名第 {rank}, 未进入前 {search.top_k} 名"
            r["en"] = f"similarity {sim:.3f}, rank {rank} of {n}: outside the top {search.top_k}"
    decisions = []
    for tid, r in rows.items():
        assert isinstance(r["t"], IPTransaction)
        t = r["t"]
        used = r["reason"] in _USED_REASONS
        decisions.append(ComparableDecision(
            tid, used, r["reason"], str(r["zh"]), str(r["en"]), float(r["sim"]),  # type: ignore[arg-type]
            r.get("rank"), float(r["age"]),  # type: ignore[arg-type]
            _time_ratio(search, t.date) if used else None,
            search.transaction_type_factors[t.kind] if used else None,
        ))
    order = {SelectionReason.SELECTED: 0, SelectionReason.MANUAL_INCLUDE: 1}
    position = {tid: i for i, tid in enumerate(ids)}
    decisions.sort(key=lambda d: (order.get(d.reason, 2), d.rank if d.rank is not None else 10**9,
                                  position[d.transaction_id]))
    by_id = {t.id: t for t in register}
    comparables = tuple(
        Comparable(d.transaction_id, by_id[d.transaction_id].price_fen / 100,
                   by_id[d.transaction_id].quality_score or search.subject_quality_score,
                   by_id[d.transaction_id].remaining_life_years, d.time_index_ratio or 1.0, 1.0,
                   d.transaction_type_factor or 1.0)
        for d in decisions if d.used
    )
    return ComparableSelection(tuple(decisions), comparables, len(register))


def market_value_from_register(
    register: Sequence[IPTransaction],
    search: RegisterSearch,
    *,
    extra_comparables: Sequence[Comparable] = (),
    discount_rate: float | None = None,
    quality_ratio_bounds: tuple[float, float] = (0.5, 2.0),
) -> RegisterMarketValue:
    """Market value from the comparables the register search picks plus any typed by hand.

    Each register comparable enters :func:`market_value` at its price in CNY (fen / 100), its quality
    score (the subject's when unknown, so its quality ratio is 1), its remaining life, the time
    factor and the transaction-type factor of :class:`RegisterSearch`, scope factor 1 and weight 1.
    Raises ``ValueError`` when nothing is left to compare with.
    """
    sel = select_comparables(register, search)
    comps = [*sel.comparables, *extra_comparables]
    if not comps:
        raise ValueError("market: the register search found no comparable and none was given by hand; widen the "
                         "search (class, max_age_years) or include transactions by id")
    mv = market_value(comps, search.subject_quality_score, search.subject_remaining_life_years,
                      discount_rate=discount_rate, quality_ratio_bounds=quality_ratio_bounds)
    return RegisterMarketValue(mv, sel)
