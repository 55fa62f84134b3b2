"""Figure builders, number formats and exports: pure functions checked point by point."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from api.stats.collateral import Bucket
from api.stats.service import BreakdownRow, SeriesPoint
from dashboard import export, figures
from dashboard.components import export_headers, export_rows
from dashboard.i18n import amount_unit, cny_exact, fmt_amount, fmt_change, fmt_pct, fmt_pp, t

SERIES = [SeriesPoint("2025-Q1", 3, 2_800_000_050), SeriesPoint("2025-Q2", 1, 2_000_000_000),
          SeriesPoint("2025-Q3", 0, 0)]
ROWS = [BreakdownRow("320000", "江苏省", "Jiangsu", 2, 2_800_000_050, 800_000_050),
        BreakdownRow("330000", "浙江省", "Zhejiang", 2, 2_000_000_000, 1_600_000_000),
        BreakdownRow("110000", "北京市", "Beijing", 1, 12_300_000_000, 0)]


def test_zh_amounts_switch_from_wan_to_yi_at_one_hundred_million_cny() -> None:
    assert fmt_amount(4_800_000_050, "zh") == "4,800.00 万元"  # 48,000,000.50 CNY
    assert fmt_amount(9_999_999_999, "zh") == "10,000.00 万元"  # 99,999,999.99 CNY rounds half-up
    assert fmt_amount(10_000_000_000, "zh") == "1.00 亿元"
    assert fmt_amount(123_456_500_000, "zh") == "12.35 亿元"  # 12.34565 亿 → half-up


def test_en_amounts_are_cny_millions_rounded_half_up_exactly() -> None:
    assert fmt_amount(123_456_500_000, "en") == "CNY 1,234.57m"  # 1,234.565m: a float would give .56
    assert fmt_amount(4_800_000_050, "en") == "CNY 48.00m"
    assert amount_unit(1, "en") == (100_000_000, "CNY m")


def test_percentages_changes_and_exact_cny() -> None:
    assert fmt_pct(0.7179) == "71.8%"
    assert fmt_change(0.052) == "+5.2%" and fmt_change(-0.03) == "−3.0%" and fmt_change(None) == "—"
    assert fmt_pp(0.004) == "+0.40 pp"
    assert cny_exact(800_000_050) == "8000000.50" and cny_exact(-5) == "-0.05"
    assert t("financing_amount", "en") == "Financing amount" and t("financing_amount", "zh") == "融资金额"
    assert t("npl_ratio", "fr") == "不良率"  # unknown language falls back to zh-CN


def test_timeseries_figure_has_one_bar_and_one_line_point_per_period() -> None:
    fig = figures.timeseries_figure(SERIES, "zh")
    bars, line = fig.data
    assert list(bars.x) == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert list(bars.y) == [2800.0, 2000.0, 0.0]  # 万元 (largest 28,000,000.50 CNY < 1 亿)
    assert list(line.y) == [3, 1, 0] and line.yaxis == "y2"
    assert fig.layout.yaxis.title.text == "万元"


def test_timeseries_figure_in_english_uses_cny_millions() -> None:
    fig = figures.timeseries_figure(SERIES, "en")
    assert list(fig.data[0].y) == [28.0, 20.0, 0.0]
    assert fig.layout.yaxis.title.text == "CNY m"


def test_ranked_bar_puts_the_largest_on_top_with_keys_for_drill_down() -> None:
    fig = figures.ranked_bar_figure(ROWS, "en", "by province")
    (bar,) = fig.data
    assert list(bar.y) == ["Zhejiang", "Jiangsu", "Beijing"]  # plotly draws bottom-up: largest last
    assert list(bar.x) == [20.0, 28.0, 123.0]  # CNY millions
    assert list(bar.customdata) == ["330000", "320000", "110000"]


def test_ranked_bar_by_count_and_share_figure() -> None:
    fig = figures.ranked_bar_figure(ROWS, "zh", "x", value="loan_count")
    assert list(fig.data[0].x) == [1, 2, 2]
    pie = figures.share_figure(ROWS, "zh", "x")
    assert list(pie.data[0].values) == [2_800_000_050, 2_000_000_000, 12_300_000_000]
    assert list(pie.data[0].labels) == ["江苏省", "浙江省", "北京市"]


def test_empty_inputs_give_an_empty_state_not_zero_bars() -> None:
    for fig in (figures.timeseries_figure([], "en"), figures.ranked_bar_figure([], "en", "x"),
                figures.share_figure([], "en", "x"), figures.bucket_figure([Bucket("a", 0, 0)], "en", "x")):
        assert len(fig.data) == 0
        assert fig.layout.annotations[0].text == "No data for this selection."


def test_bucket_stacked_histogram_and_tornado_figures() -> None:
    b = figures.bucket_figure([Bucket("≤30%", 2, 100), Bucket(">70%", 1, 50)], "en", "LTV")
    assert list(b.data[0].x) == ["≤30%", ">70%"] and list(b.data[0].y) == [2, 1]
    s = figures.stacked_bar_figure(["2025"], {"bank": [200_000_000], "fund": [100_000_000]}, "en", "payouts")
    assert [tr.name for tr in s.data] == ["bank", "fund"] and [list(tr.y) for tr in s.data] == [[2.0], [1.0]]
    h = figures.histogram_figure([1.0, 2.0, 2.5], "en", "loss")
    assert list(h.data[0].x) == [1.0, 2.0, 2.5]
    tor = figures.tornado_figure([("royalty", 90.0, 115.0), ("discount rate", 95.0, 104.0)], 100.0, "en", "t")
    low, high = tor.data
    assert list(low.y) == ["discount rate", "royalty"]  # widest swing on top
    assert list(low.x) == [-5.0, -10.0] and list(high.x) == [4.0, 15.0] and low.base == 100.0


def test_csv_and_excel_exports_hold_exact_cny_values() -> None:
    cols = [("Province", "text"), ("Loans", "int"), ("Amount", "fen"), ("Originated", "date")]
    rows = [["江苏省", 2, 2_800_000_050, date(2025, 2, 20)], ["浙江省", 2, 2_000_000_000, None]]
    headers, values = export_headers(cols), export_rows(cols, rows)
    assert headers == ["Province", "Loans", "Amount (CNY)", "Originated"]
    text = export.to_csv(headers, values).decode("utf-8")
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert parsed == [headers, ["江苏省", "2", "28000000.50", "2025-02-20"], ["浙江省", "2", "20000000.00", ""]]
    ws = load_workbook(io.BytesIO(export.to_xlsx(headers, values, "province"))).active
    assert ws.title == "province"
    assert [c.value for c in ws[2]] == ["江苏省", 2, 28000000.5, "2025-02-20"]  # a number, not text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_label_exists_in_both_languages(lang: str) -> None:
    from dashboard.i18n import _T

    assert all(t(k, lang) for k in _T)


def test_loan_status_names_in_both_languages() -> None:
    from dashboard.i18n import status_name

    assert status_name("in_claim", "zh") == "代偿中" and status_name("in_claim", "en") == "in claim"
    assert status_name("something_new", "en") == "something_new"


def test_the_trend_shows_the_same_periods_a_year_earlier_beside_this_years() -> None:
    """同比 in the trend: a grey bar per period with the year-earlier amount, matched by period
    (2024-Q2 → 2025-Q2), 0 where the earlier year had no loans; same unit as this year's bars."""
    earlier = [SeriesPoint("2024-Q1", 1, 1_400_000_025), SeriesPoint("2024-Q3", 2, 500_000_000)]
    fig = figures.timeseries_figure(SERIES, "zh", year_ago=earlier)
    bars, _line, before = fig.data
    assert list(before.x) == list(bars.x) == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert list(before.y) == [1400.0, 0.0, 500.0]  # 万元, like this year's bars
    assert "上年同期" in before.name and "万元" in before.name
    assert len(figures.timeseries_figure(SERIES, "zh").data) == 2  # no earlier series asked: no grey bars


def test_bucket_labels_and_export_headers_are_chinese_in_chinese() -> None:
    buckets = [Bucket("no valuation", 1, 0), Bucket("1-5M", 2, 100), Bucket(">50M", 0, 0), Bucket("≤40%", 1, 5)]
    fig = figures.bucket_figure(buckets, "zh", "分布")
    assert list(fig.data[0].x) == ["无评估值", "100-500万元", ">5000万元", "≤40%"]
    assert list(figures.bucket_figure(buckets, "en", "x").data[0].x) == ["no valuation", "1-5M", ">50M", "≤40%"]
    cols = [("省份", "text"), ("融资金额", "fen")]
    assert export_headers(cols, "zh") == ["省份", "融资金额（元）"]
    assert export_headers(cols, "en") == ["省份", "融资金额 (CNY)"]
