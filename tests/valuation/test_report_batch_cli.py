"""Report (JSON, bilingual print-ready HTML with plotly charts), batch valuation and the CLI."""

import argparse
import copy
import json
from pathlib import Path

import pytest

import valuation
from ipfin_app.commands.valuation import register
from valuation.batch import flat_to_request, load_requests, value_many
from valuation.engine import value_asset
from valuation.report import figures, label, to_html, to_json_dict
from valuation.request import ValuationRequest

EXAMPLES = Path(valuation.__file__).parent / "examples"


@pytest.fixture(scope="module")
def result():
    d = {"valuation_date": "2025-12-31", **json.loads((EXAMPLES / "invention_patent.json").read_text("utf-8"))}
    d["monte_carlo"]["paths"] = 4000
    return value_asset(ValuationRequest.model_validate(d))


def test_json_report_round_trips_through_json(result):
    d = to_json_dict(result)
    assert json.loads(json.dumps(d)) == d
    assert d["appraised_value_fen"] == result.appraised_value_fen


def test_html_report_is_bilingual_with_three_plotly_charts_and_print_css(result):
    page = to_html(result)
    assert "知识产权价值评估报告 / IP valuation report" in page
    for fig in ("fig-distribution", "fig-tornado", "fig-cash_flows"):
        assert f"id='{fig}'" in page and f"Plotly.newPlot('{fig}'" in page
    assert "cdn.plot.ly" in page and "@media print" in page
    assert "评估值 / Appraised value" in page


def test_english_only_report_has_no_chinese_headings(result):
    page = to_html(result, lang="en")
    assert "IP valuation report" in page and "知识产权价值评估报告" not in page
    assert label("income", "zh-CN") == "收益法"


def test_figures_carry_the_result_numbers(result):
    figs = figures(result)
    assert sum(figs["distribution"]["data"][0]["y"]) == result.monte_carlo.n_paths
    assert len(figs["cash_flows"]["data"][0]["x"]) == len(result.income.flows)
    assert len(figs["tornado"]["data"][0]["y"]) == len(result.tornado)


def test_flat_rows_nest_into_requests_and_unknown_columns_are_named():
    d = flat_to_request({"identifier": "X", "royalty_low": "0.01", "mid_year": "yes", "claims": ""})
    assert d == {"asset": {"identifier": "X"}, "income": {"royalty": {"low": "0.01"}, "mid_year": True}}
    with pytest.raises(ValueError, match="unknown column 'colour'"):
        flat_to_request({"colour": "red"})


def test_batch_values_the_csv_portfolio_and_reports_progress():
    seen = []
    items = value_many(load_requests(EXAMPLES / "portfolio.csv"), paths=2000, seed=1,
                       progress=lambda done, total, ident: seen.append((done, total, ident)))
    assert [it.error for it in items] == [None, None, None]
    assert [s[0] for s in seen] == [1, 2, 3] and seen[-1][1] == 3
    assert items[0].result.monte_carlo.n_paths == 2000


def test_a_bad_row_is_reported_without_stopping_the_batch(tmp_path):
    rows = (EXAMPLES / "portfolio.csv").read_text("utf-8").splitlines()
    bad = rows[1].replace("12000000.00", "-5")
    p = tmp_path / "in.csv"
    p.write_text("\n".join([rows[0], bad, rows[2]]), encoding="utf-8")
    items = value_many(load_requests(p), paths=2000)
    assert items[0].result is None and "base_revenue_cny" in items[0].error
    assert items[1].result is not None


def test_xlsx_input_is_read_like_csv(tmp_path):
    from openpyxl import Workbook

    rows = [r.split(",") for r in (EXAMPLES / "portfolio.csv").read_text("utf-8").splitlines()]
    wb = Workbook()
    for r in rows:
        wb.active.append([c if c != "" else None for c in r])
    p = tmp_path / "in.xlsx"
    wb.save(p)
    assert load_requests(p) == load_requests(EXAMPLES / "portfolio.csv")


def test_cli_writes_json_and_html_per_asset_with_a_progress_bar(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["value", str(EXAMPLES / "portfolio.csv"), "--paths", "2000", "--seed", "3",
                              "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    files = sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != "plotly.min.js")
    assert len(files) == 6 and files[0].startswith("0001_CN202420123456.6")
    # the reports load plotly.js from beside themselves, so they open offline
    assert (tmp_path / "out" / "plotly.min.js").stat().st_size > 1_000_000
    html_report = next(f for f in files if f.endswith(".html"))
    assert "src='plotly.min.js'" in (tmp_path / "out" / html_report).read_text("utf-8")
    assert "3/3" in capsys.readouterr().err
    data = json.loads((tmp_path / "out" / "0001_CN202420123456.6.json").read_text("utf-8"))
    assert data["monte_carlo"]["seed"] == 3


def test_cli_returns_1_when_an_asset_fails(tmp_path):
    d = {"valuation_date": "2025-12-31", **json.loads((EXAMPLES / "invention_patent.json").read_text("utf-8"))}
    bad = copy.deepcopy(d)
    bad["weights"] = {"income": 0.5}
    p = tmp_path / "two.json"
    p.write_text(json.dumps({"requests": [d, bad]}), encoding="utf-8")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["value", str(p), "--paths", "2000", "--out", str(tmp_path / "o")])
    assert args.func(args) == 1
    assert len([p for p in (tmp_path / "o").iterdir() if p.name != "plotly.min.js"]) == 2
