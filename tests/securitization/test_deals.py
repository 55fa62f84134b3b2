"""Reference deals as data, the run_deal entry point and the ``ipfin abs`` CLI."""

import argparse
import json
from decimal import Decimal

import pytest

from ipfin.money import fen_to_cny
from securitization.cli import register
from securitization.deal import deal_from_dict, load_deal, reference_deals, run_deal


@pytest.fixture(scope="module")
def deals():
    return {k: load_deal(p) for k, p in reference_deals().items()}


def test_at_least_the_two_required_reference_deals_ship_with_public_facts_and_assumptions(deals):
    assert {"xingye_yuanrong_gz_kaifaqu_patent_licence_2019", "nanshan_gaoxintou_ip_5_2022"} <= set(deals)
    for d in deals.values():
        assert d.metadata["public_facts"] and d.metadata["assumptions"]["note"].startswith("Everything below")


def test_reference_deals_carry_the_public_size_split_and_coupons_of_design_section_3(deals):
    ns = deals["nanshan_gaoxintou_ip_5_2022"].structure
    assert sum(fen_to_cny(t.balance_fen) for t in ns.tranches) == Decimal("206000000.00")
    assert ns.tranches[0].coupon == 0.038 and ns.guarantor and ns.guarantor.tranches == ("Senior",)
    assert deals["nanshan_gaoxintou_ip_5_2022"].pool.n_obligors == 12
    xy = deals["xingye_yuanrong_gz_kaifaqu_patent_licence_2019"]
    assert sum(fen_to_cny(t.balance_fen) for t in xy.structure.tranches) == Decimal("301000000.00")
    assert xy.structure.tranches[0].coupon == 0.04 and len(xy.pool.royalties) == 11
    zgc = {t.name: (fen_to_cny(t.balance_fen), t.coupon) for t in deals["zgc_tech_leasing_2022_1"].structure.tranches}
    assert zgc["A"] == (Decimal("73000000.00"), 0.028) and zgc["B"] == (Decimal("28000000.00"), 0.03)
    assert zgc["Sub"][0] == Decimal("6000000.00")


@pytest.mark.parametrize("name", ["nanshan_gaoxintou_ip_5_2022", "xingye_yuanrong_gz_kaifaqu_patent_licence_2019",
                                  "zgc_tech_leasing_2022_1"])
def test_deterministic_run_is_json_serialisable_and_the_senior_is_repaid_in_the_base_case(deals, name):
    res = run_deal(deals[name]).to_dict()
    json.dumps(res, ensure_ascii=False)
    base = res["scenarios"][0]
    senior = base["tranches"][deals[name].structure.tranches[0].name]
    assert senior["principal_loss_fen"] == 0 and senior["interest_shortfall_end_fen"] == 0
    for row in base["periods"]:
        uses = (sum(row["fees_paid_fen"].values()) + sum(row["interest_paid_fen"].values())
                + sum(row["principal_paid_fen"].values()) + row["reserve_end_fen"] + row["residual_paid_fen"])
        srcs = (row["interest_collected_fen"] + row["principal_collected_fen"] + row["call_proceeds_fen"]
                + row["reserve_start_fen"] + row["guarantor_paid_fen"])
        assert srcs == uses


def test_nanshan_guarantor_steps_in_under_stress_and_the_senior_still_loses_nothing(deals):
    res = run_deal(deals["nanshan_gaoxintou_ip_5_2022"], include_periods=False).to_dict()
    by = {s["scenario"]["name"]: s for s in res["scenarios"]}
    assert by["base"]["waterfall"]["guarantor_paid_fen"] == 0
    worst = by["pd_x10_no_recovery"]
    assert worst["waterfall"]["guarantor_paid_fen"] > 0
    assert worst["tranches"]["Senior"]["principal_loss_fen"] == 0
    assert worst["tranches"]["Sub"]["principal_loss_fen"] == 10_300_000_00


def test_monte_carlo_run_reports_pool_and_tranche_statistics_with_standard_errors(deals):
    seen: list[float] = []
    res = run_deal(deals["zgc_tech_leasing_2022_1"], "monte_carlo", n_paths=400, seed=3,
                   stresses=("base", "pd_x2"), progress=seen.append).to_dict()
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3
    mc = res["monte_carlo"]
    json.dumps(mc)
    base, stress = mc["stresses"]["base"], mc["stresses"]["pd_x2"]
    assert base["pool"]["expected_loss_rate_se"] > 0 and base["pool"]["seed"] == 3
    assert stress["pool"]["expected_loss_rate"] > base["pool"]["expected_loss_rate"]
    names = [t["name"] for t in base["tranches"]]
    assert names == ["A", "B", "Sub"]
    assert all(t["implied_rating"] for t in base["tranches"])


def test_bad_deal_json_is_rejected_naming_the_field(deals):
    raw = json.loads(reference_deals()["zgc_tech_leasing_2022_1"].read_text(encoding="utf-8"))
    bad = json.loads(json.dumps(raw))
    bad["tranches"][0]["balance_cny"] = "900000000.00"
    with pytest.raises(ValueError, match=r"tranches: total .* exceeds the pool balance"):
        deal_from_dict(bad)
    bad = json.loads(json.dumps(raw))
    bad["triggers"][0]["tranche"] = "C"
    with pytest.raises(ValueError, match=r"triggers\[0\].tranche: unknown tranche 'C'"):
        deal_from_dict(bad)
    bad = json.loads(json.dumps(raw))
    bad["tranches"][1]["coupon"] = -0.01
    with pytest.raises(ValueError, match=r"tranches\[1\].coupon"):
        deal_from_dict(bad)
    bad = json.loads(json.dumps(raw))
    bad["pool"]["synthetic_loans"]["annual_pd"] = 1.5
    with pytest.raises(ValueError, match="annual_pd"):
        deal_from_dict(bad)


def test_cli_runs_a_reference_deal_and_writes_json(tmp_path, capsys):
    ap = argparse.ArgumentParser(prog="ipfin")
    register(ap.add_subparsers(dest="cmd"))
    out = tmp_path / "run.json"
    args = ap.parse_args(["abs", "run", "nanshan_gaoxintou_ip_5_2022", "--mode", "monte_carlo", "--paths", "200",
                          "--seed", "5", "--summary", "--out", str(out)])
    assert args.func(args) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["mode"] == "monte_carlo" and data["monte_carlo"]["n_paths"] == 200
    args = ap.parse_args(["abs", "run", str(tmp_path / "missing.json")])
    assert args.func(args) == 2
    assert "error" in capsys.readouterr().err


def test_pool_json_round_trips_exactly(deals):
    from securitization.deal import pool_from_dict, pool_to_dict

    for d in deals.values():
        assert pool_from_dict(pool_to_dict(d.pool)) == d.pool
