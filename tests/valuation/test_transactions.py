"""IP transaction register: import, comparables search with reasons, manual override, market value.

The market value is checked against a hand computation of V_i = P_i × (Q/Q_i) × (L/L_i) ×
(1 + g)^(days/365.25) × transaction-type factor, V = mean V_i (equal weights), the formula of the
market approach in DESIGN §4 ("V = mean(V_i · Q/Q_i)" with the other factors)."""

import copy
import json
import math
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

import valuation
from valuation.assets import IPType
from valuation.engine import value_asset
from valuation.market import (
    DEFAULT_TRANSACTION_TYPE_FACTORS,
    Comparable,
    RegisterSearch,
    SelectionReason,
    market_value_from_register,
    select_comparables,
)
from valuation.reconcile import float_to_fen
from valuation.report import to_html, to_json_dict
from valuation.request import ValuationRequest
from valuation.transactions import (
    IPTransaction,
    PricingMethod,
    TradingMode,
    TransactionKind,
    class_key,
    label_zh,
    parse_transactions,
)

ON = date(2025, 12, 31)
K = TransactionKind


def tx(tid, kind, price_cny, d, cls="H01M 4/36", *, ip_type=IPType.INVENTION_PATENT, life=8.0, q=None,
       region="500100", industry="C"):
    return IPTransaction(tid, kind, price_cny * 100, d, ip_type, cls, industry, region, PricingMethod.AGREEMENT,
                         TradingMode.LISTING, life, q)


REGISTER = (
    tx("T1", K.SALE, 9_800_000, date(2024, 6, 30), life=9, q=72),  # sim exp(-0.2-0.1) = 0.741
    tx("T2", K.EXCLUSIVE_LICENCE, 12_500_000, date(2023, 12, 31), "H01M 10/0525", life=7, q=78),  # exp(-0.6)
    tx("T3", K.AUCTION, 6_200_000, date(2025, 3, 31), life=12, q=62),  # exp(-0.8-0.4) = 0.301
    tx("T4", K.NON_EXCLUSIVE_LICENCE, 2_000_000, date(2025, 6, 30), life=8),  # 1 × 0.5 (no score)
    tx("T5", K.SALE, 5_000_000, date(2025, 1, 1), "H01L 21/02", life=8, q=70),  # other IPC subclass
    tx("T6", K.SALE, 3_000_000, date(2025, 1, 1), "9", ip_type=IPType.TRADEMARK, life=8, q=70),
    tx("T7", K.SALE, 8_000_000, date(2021, 6, 30), life=10, q=70),  # 4.5 years old
    tx("T8", K.SALE, 8_000_000, date(2026, 2, 1), life=8, q=70),  # after the valuation date
    tx("T9", K.PLEDGE_DISPOSAL, 1_500_000, date(2025, 9, 30), life=5, q=55),  # exp(-0.6-0.75) = 0.259
)


def search(**kw):
    base = dict(ip_type=IPType.INVENTION_PATENT, valuation_date=ON, subject_quality_score=70.0,
                subject_remaining_life_years=8.0, class_code="H01M 4/36", top_k=4, annual_price_change=0.04)
    return RegisterSearch(**{**base, **kw})


def by_id(sel):
    return {d.transaction_id: d for d in sel.decisions}


# ------------------------------------------------------------------ the search


def test_search_picks_same_type_and_ipc_subclass_within_3_years_ranked_by_similarity():
    sel = select_comparables(REGISTER, search())
    d = by_id(sel)
    assert [c.ref for c in sel.comparables] == ["T1", "T2", "T4", "T3"]
    assert [d[i].rank for i in ("T1", "T2", "T4", "T3", "T9")] == [1, 2, 3, 4, 5]
    assert d["T1"].similarity == pytest.approx(math.exp(-1 / 5 - 2 / 20))
    assert d["T4"].similarity == pytest.approx(0.5)  # no quality score: neutral 0.5
    assert all(d[i].used and d[i].reason is SelectionReason.SELECTED for i in ("T1", "T2", "T3", "T4"))


def test_every_excluded_transaction_says_why_in_a_code_and_two_languages():
    d = by_id(select_comparables(REGISTER, search()))
    expected = {"T5": SelectionReason.OTHER_CLASS, "T6": SelectionReason.OTHER_IP_TYPE,
                "T7": SelectionReason.TOO_OLD, "T8": SelectionReason.AFTER_VALUATION_DATE,
                "T9": SelectionReason.NOT_IN_TOP_K}
    for tid, reason in expected.items():
        assert not d[tid].used and d[tid].reason is reason
        assert d[tid].reason_zh and d[tid].reason_en
    assert "H01L" in d["T5"].reason_en and "H01M" in d["T5"].reason_en
    assert "4.50 years" in d["T7"].reason_en and "超过 3 年" in d["T7"].reason_zh
    assert "outside the top 4" in d["T9"].reason_en


def test_manual_exclusion_frees_a_top_k_place_and_manual_inclusion_overrides_the_filters():
    sel = select_comparables(REGISTER, search(exclude_ids={"T1"}, include_ids={"T7"}))
    d = by_id(sel)
    assert d["T1"].reason is SelectionReason.MANUAL_EXCLUDE and not d["T1"].used
    assert d["T9"].used and d["T9"].rank == 4  # moved up into the top 4
    assert d["T7"].used and d["T7"].reason is SelectionReason.MANUAL_INCLUDE
    assert "would be excluded" in d["T7"].reason_en and "4.50 years" in d["T7"].reason_en
    assert [c.ref for c in sel.comparables] == ["T2", "T4", "T3", "T9", "T7"]


def test_manual_include_of_a_future_transaction_or_an_unknown_id_is_an_error():
    with pytest.raises(ValueError, match="after the valuation date"):
        select_comparables(REGISTER, search(include_ids={"T8"}))
    with pytest.raises(ValueError, match="not in the register"):
        select_comparables(REGISTER, search(exclude_ids={"T99"}))
    with pytest.raises(ValueError, match="both included and excluded"):
        search(include_ids={"T1"}, exclude_ids={"T1"})


def test_optional_region_industry_and_kind_filters_explain_themselves():
    reg = (*REGISTER[:4], tx("T10", K.SALE, 1_000_000, date(2025, 1, 1), region="330100", q=70),
           tx("T11", K.SALE, 1_000_000, date(2025, 1, 1), industry="I", q=70))
    d = by_id(select_comparables(reg, search(region_prefix="50", industry="C",
                                            kinds=frozenset({K.SALE, K.AUCTION}))))
    assert d["T10"].reason is SelectionReason.OTHER_REGION
    assert d["T11"].reason is SelectionReason.OTHER_INDUSTRY
    assert d["T2"].reason is SelectionReason.KIND_NOT_ALLOWED and "独占许可" in d["T2"].reason_zh


# ------------------------------------------------------------------ the value


def test_register_market_value_matches_a_hand_computation():
    """Days before 2025-12-31: T1 549, T2 731, T4 184, T3 275; g = 4 %/y; factors sale 1, exclusive
    licence 1.25, non-exclusive 2.5, auction 1 (the labelled default assumptions); plain life ratio."""
    g = 1.04
    v1 = 9_800_000 * (70 / 72) * (8 / 9) * g ** (549 / 365.25) * 1.0
    v2 = 12_500_000 * (70 / 78) * (8 / 7) * g ** (731 / 365.25) * 1.25
    v4 = 2_000_000 * 1.0 * 1.0 * g ** (184 / 365.25) * 2.5
    v3 = 6_200_000 * (70 / 62) * (8 / 12) * g ** (275 / 365.25) * 1.0
    res = market_value_from_register(REGISTER, search())
    assert [t.adjusted_value for t in res.value.table] == pytest.approx([v1, v2, v4, v3], rel=1e-12)
    assert res.value.value == pytest.approx((v1 + v2 + v4 + v3) / 4, rel=1e-12)
    assert DEFAULT_TRANSACTION_TYPE_FACTORS[K.EXCLUSIVE_LICENCE] == 1.25


def test_price_index_table_sets_the_time_factor_and_hand_comparables_join_the_register_ones():
    idx = ((date(2023, 1, 1), 100.0), (date(2024, 1, 1), 104.0), (date(2025, 1, 1), 110.0))
    hand = Comparable("hand-1", 5_000_000.0, 70, 8)
    res = market_value_from_register(REGISTER, search(price_index=idx, top_k=1), extra_comparables=[hand])
    t1, h = res.value.table
    assert t1.time_factor == pytest.approx(110.0 / 104.0)  # index at 2025-12-31 ÷ index at 2024-06-30
    assert h.ref == "hand-1" and h.adjusted_value == pytest.approx(5_000_000.0)


def test_an_empty_search_result_without_hand_comparables_is_an_error():
    with pytest.raises(ValueError, match="no comparable"):
        market_value_from_register(REGISTER, search(class_code="G06F"))


# ------------------------------------------------------------------ import


def _row(**kw):
    base = {"id": "R1", "kind": "sale", "price_cny": "1000000.00", "date": "2024-01-02",
            "ip_type": "invention_patent", "class": "H01M 4/36", "industry": "C", "region_code": "500100",
            "pricing_method": "online_bidding", "trading_mode": "bidding", "remaining_life_years": "9",
            "quality_score": "66"}
    return {**base, **kw}


def test_csv_rows_import_with_chinese_labels_and_each_bad_row_names_its_column():
    rows = [_row(), _row(id="R2", kind="作价入股", pricing_method="大数据系统估价", trading_mode="联盟交易",
                         price_cny="", price_fen="250000000"),
            _row(id="R3", price_cny="12.345"), _row(id="R4", region_code="990100"),
            _row(id="R5", ip_type="trademark", **{"class": "46"}), _row(id="R1"), _row(id="R6", date="2024-13-01"),
            _row(id="R7", quality_score="0")]
    res = parse_transactions(rows)
    assert [t.id for t in res.transactions] == ["R1", "R2"]
    r2 = res.transactions[1]
    assert (r2.kind, r2.pricing_method, r2.trading_mode, r2.price_fen) == (
        K.EQUITY_CONTRIBUTION, PricingMethod.BIG_DATA_VALUATION, TradingMode.ALLIANCE, 250_000_000)
    assert [(e.row, e.column) for e in res.errors] == [
        (3, "price_cny"), (4, "region_code"), (5, "class"), (6, "id"), (7, "date"), (8, "quality_score")]
    assert "duplicate" in res.errors[3].message


def test_enums_carry_the_chongqing_six_pricing_methods_and_five_trading_modes_with_chinese_labels():
    """Seed 002 (Chongqing): 协议定价、评估定价、网络竞价、拍卖竞价、竞争性谈判、大数据系统估价; 协议交易、竞价交易、
    定向交易、挂牌转让、联盟交易; IP 收储 and 作价入股."""
    assert [label_zh(m) for m in PricingMethod] == ["协议定价", "评估定价", "网络竞价", "拍卖竞价", "竞争性谈判",
                                                    "大数据系统估价"]
    assert [label_zh(m) for m in TradingMode] == ["协议交易", "竞价交易", "定向交易", "挂牌转让", "联盟交易"]
    assert label_zh(K.RESERVE_PURCHASE) == "收储" and label_zh(K.EQUITY_CONTRIBUTION) == "作价入股"


def test_class_keys_and_transaction_validation():
    assert class_key(IPType.UTILITY_MODEL, "h01m 10/0525") == "H01M"
    assert class_key(IPType.GEOGRAPHICAL_INDICATION, "29") == "29"
    assert class_key(IPType.DESIGN, "14-03") == "14"
    with pytest.raises(ValueError, match="IPC code"):
        class_key(IPType.INVENTION_PATENT, "battery")
    with pytest.raises(ValueError, match="price_fen must be a positive integer"):
        tx("X", K.SALE, 0, date(2024, 1, 1))
    with pytest.raises(ValueError, match="price_fen must be a positive integer"):
        IPTransaction("X", K.SALE, 1.5, date(2024, 1, 1), IPType.INVENTION_PATENT, "H01M", None, "500100",  # type: ignore[arg-type]
                      PricingMethod.AGREEMENT, TradingMode.LISTING, 5.0)


# ------------------------------------------------------------------ end to end: valuation and report

EXAMPLE = {"valuation_date": "2025-12-31",  # the day the expected figures are for
           **json.loads((Path(valuation.__file__).parent / "examples" / "invention_patent.json").read_text("utf-8"))}


def _tx_in(t: IPTransaction) -> dict:
    return {"id": t.id, "kind": t.kind.value, "price_cny": str(t.price_fen // 100), "date": t.date.isoformat(),
            "ip_type": t.ip_type.value, "ipc_or_nice_class": t.ipc_or_nice_class, "industry": t.industry,
            "region_code": t.region_code, "pricing_method": t.pricing_method.value,
            "trading_mode": t.trading_mode.value, "remaining_life_years": t.remaining_life_years,
            "quality_score": t.quality_score}


def _request(**search_kw) -> dict:
    d = copy.deepcopy(EXAMPLE)
    d["monte_carlo"] = {"enabled": False}
    d["market"] = {"transactions": [_tx_in(t) for t in REGISTER],
                   "search": {"class_code": "H01M 4/36", "top_k": 4, "annual_price_change": 0.04, **search_kw},
                   "subject_quality_score": 70, "annuity_life_factor": False}
    return d


@pytest.fixture(scope="module")
def register_result():
    return value_asset(ValuationRequest.model_validate(_request()))


def test_valuation_market_approach_picks_its_comparables_from_the_register(register_result):
    """Economic life 8 years (< legal term), so L = 8 as in the hand computation above."""
    m = register_result.market
    assert register_result.remaining_economic_life_years == 8
    assert [c.ref for c in m.table] == ["T1", "T2", "T4", "T3"]
    hand = market_value_from_register(REGISTER, search()).value.value
    assert m.value_fen == float_to_fen(hand)
    assert m.register_size == 9 and m.other_type_count == 1
    reasons = {s.transaction_id: s.reason for s in m.selection}
    assert reasons == {"T1": "selected", "T2": "selected", "T4": "selected", "T3": "selected",
                       "T9": "not_in_top_k", "T5": "other_class", "T7": "too_old", "T8": "after_valuation_date"}


def test_the_report_shows_the_register_selection_with_reasons_in_html_and_json(register_result):
    page = to_html(register_result)
    assert "可比交易筛选" in page and "Comparable selection from the transaction register" in page
    assert "[not_in_top_k]" in page and "[too_old]" in page and "T9" in page
    data = to_json_dict(register_result)
    assert {s["transaction_id"] for s in data["market"]["selection"] if s["used"]} == {"T1", "T2", "T3", "T4"}


def test_request_overrides_reach_the_search_and_bad_ids_are_rejected_naming_the_field():
    r = value_asset(ValuationRequest.model_validate(_request(exclude_ids=["T1"],
                                                             transaction_type_factors={"exclusive_licence": 1.0})))
    assert [c.ref for c in r.market.table] == ["T2", "T4", "T3", "T9"]
    assert r.market.table[0].transaction_type_factor == 1.0
    with pytest.raises(ValidationError, match=r"not in market\.transactions"):
        ValuationRequest.model_validate(_request(include_ids=["T99"]))
    with pytest.raises(ValueError, match=r"market\.search: include_ids: T8 is dated 2026-02-01, after the valuation"):
        value_asset(ValuationRequest.model_validate(_request(include_ids=["T8"])))


def test_hand_typed_comparables_still_work_without_a_register():
    d = copy.deepcopy(EXAMPLE)
    d["monte_carlo"] = {"enabled": False}
    r = value_asset(ValuationRequest.model_validate(d))
    assert len(r.market.table) == 3 and r.market.selection == [] and r.market.register_size == 0
