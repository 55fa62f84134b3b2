"""Reference deals as data, the run_deal entry point and the ``ipfin abs`` CLI."""

import argparse
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfin.money import cny_to_fen, fen_to_cny
from ipfin_app.commands.securitization import register
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
    # progress after the deterministic stage and after every batch of chunks of each stress
    assert seen == sorted(seen) and seen[0] == 0.1 and seen[-1] == pytest.approx(1.0) and len(seen) > 3
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


def test_residual_holder_gets_principal_plus_excess_spread_and_its_yield_at_par(deals):
    """The 次级 class has no coupon: its holder's cash is principal + 剩余收益, and the yield at par is the IRR of
    exactly those flows (checked by repricing them at that yield)."""
    from securitization.analytics import tranche_analytics
    from securitization.waterfall import collections_from_months, run_waterfall

    deal = deals["zgc_tech_leasing_2022_1"]
    res = run_deal(deal, include_periods=True).to_dict()["scenarios"][0]
    sub = res["tranches"]["Sub"]
    rows = res["periods"]
    assert sub["residual_paid_fen"] == sum(r["residual_paid_fen"] for r in rows) > 0
    assert sub["holder_received_fen"] == sub["residual_paid_fen"] + sub["principal_paid_fen"]
    h = sub["holder_analytics_at_par"]
    assert h["yield_rate"] > deal.structure.tranches[0].coupon  # excess spread makes the equity the best payer
    from securitization.projection import project_pool

    proj = project_pool(deal.pool, deal.scenarios[:1])
    s = deal.structure
    wf = run_waterfall(s, collections_from_months(proj.interest[0], proj.principal_collections[0], proj.losses[0],
                                                  proj.defaults[0], proj.balance[0], proj.initial_balance,
                                                  s.payment_months))
    flows = [(r.payment_date, r.residual_paid, r.principal_paid["Sub"]) for r in wf.rows]
    again = tranche_analytics(flows, 600_000_000, s.closing_date, yield_rate=h["yield_rate"])
    assert again.price == pytest.approx(100.0, abs=1e-8)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["pool"]["synthetic_loans"].update(n=10**8), r"pool.synthetic_loans.n: must be a whole number"),
        (lambda d: d["pool"]["synthetic_loans"].update(term_months=10**9), "term_months"),
        (lambda d: d["pool"]["synthetic_loans"].update(recovery_lag_months=10**8), "recovery_lag_months"),
        (lambda d: d["pool"].update(loans=[{"loan_id": "x"}]), r"pool.loans\[0\].balance_cny: required"),
        (lambda d: d.update(scenarios=[{"name": f"s{k}"} for k in range(21)]), "scenarios: at most 20"),
        (lambda d: d.update(credit={"rho": "high"}), "credit.rho: must be a number"),
        (lambda d: d.update(credit={"correlation": 0.2}), "credit: must be an object"),
        (lambda d: d.update(fees=[1]), "deal: malformed input"),
    ],
)
def test_oversized_or_malformed_deals_are_rejected_before_anything_is_built(mutate, message):
    raw = json.loads(reference_deals()["zgc_tech_leasing_2022_1"].read_text(encoding="utf-8"))
    mutate(raw)
    with pytest.raises(ValueError, match=message):
        deal_from_dict(raw)


def test_cli_runs_every_shipped_reference_deal(tmp_path):
    ap = argparse.ArgumentParser(prog="ipfin")
    register(ap.add_subparsers(dest="cmd"))
    for name in reference_deals():
        out = tmp_path / f"{name}.json"
        args = ap.parse_args(["abs", "run", name, "--summary", "--out", str(out)])
        assert args.func(args) == 0
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["mode"] == "deterministic" and len(data["scenarios"]) == 3


def test_cli_reports_a_malformed_deal_file_as_an_error_not_a_traceback(tmp_path, capsys):
    raw = json.loads(reference_deals()["zgc_tech_leasing_2022_1"].read_text(encoding="utf-8"))
    raw["credit"] = {"rho": None}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    ap = argparse.ArgumentParser(prog="ipfin")
    register(ap.add_subparsers(dest="cmd"))
    args = ap.parse_args(["abs", "run", str(path)])
    assert args.func(args) == 2
    assert "credit.rho" in capsys.readouterr().err


def test_pricing_a_tranche_at_a_price_gives_back_the_yield_that_prices_it_there(deals):
    deal = deals["zgc_tech_leasing_2022_1"]
    at_coupon = run_deal(deal, include_periods=False).to_dict()["scenarios"][1]["tranches"]["A"]
    price = at_coupon["analytics_at_coupon_yield"]["price"]
    res = run_deal(deal, include_periods=False, pricing={"A": {"price": price}, "B": {"yield_rate": 0.05},
                                                         "Sub": {"price": 100.0}}).to_dict()
    a = res["scenarios"][1]["tranches"]["A"]["analytics_at_pricing"]
    assert a["request"] == {"price": price} and a["yield_rate"] == pytest.approx(0.028, abs=1e-9)
    b = res["scenarios"][1]["tranches"]["B"]
    assert b["analytics_at_pricing"]["price"] < b["analytics_at_coupon_yield"]["price"]  # 5% > 3% coupon
    sub = res["scenarios"][1]["tranches"]["Sub"]  # the residual is priced on principal + excess spread
    assert sub["analytics_at_pricing"]["yield_rate"] == pytest.approx(sub["holder_analytics_at_par"]["yield_rate"])


@pytest.mark.parametrize(
    ("pricing", "message"),
    [
        ({"C": {"price": 99.0}}, "pricing.C: unknown tranche"),
        ({"A": {"price": 99.0, "yield_rate": 0.03}}, "exactly one"),
        ({"A": {"spread": 0.01}}, "exactly one"),
        ({"A": {"price": float("nan")}}, r"pricing.A.price: must be a finite number"),
        ({"A": {"price": -5.0}}, r"pricing.A.price: must be in"),
    ],
)
def test_bad_pricing_requests_name_the_tranche(deals, pricing, message):
    with pytest.raises(ValueError, match=message):
        run_deal(deals["zgc_tech_leasing_2022_1"], include_periods=False, pricing=pricing)


def test_cli_prices_a_tranche_at_a_yield(tmp_path, capsys):
    ap = argparse.ArgumentParser(prog="ipfin")
    register(ap.add_subparsers(dest="cmd"))
    out = tmp_path / "p.json"
    args = ap.parse_args(["abs", "run", "nanshan_gaoxintou_ip_5_2022", "--summary", "--yield-of", "Senior=0.045",
                          "--out", str(out)])
    assert args.func(args) == 0
    senior = json.loads(out.read_text(encoding="utf-8"))["scenarios"][0]["tranches"]["Senior"]
    assert senior["analytics_at_pricing"]["yield_rate"] == 0.045
    assert senior["analytics_at_pricing"]["price"] < senior["analytics_at_coupon_yield"]["price"]
    args = ap.parse_args(["abs", "run", "nanshan_gaoxintou_ip_5_2022", "--price-of", "Mezz=99"])
    assert args.func(args) == 2 and "pricing.Mezz: unknown tranche" in capsys.readouterr().err


@st.composite
def _random_deals(draw):
    n = draw(st.integers(1, 12))
    term = draw(st.integers(1, 48))
    pool = {"synthetic_loans": {
        "n": n, "total_cny": f"{draw(st.integers(100_000, 10**9))}.{draw(st.integers(0, 99)):02d}",
        "annual_rate": draw(st.floats(0, 0.2)), "term_months": term,
        "schedule": draw(st.sampled_from(["annuity", "equal_principal", "bullet"])),
        "annual_pd": draw(st.floats(0, 0.5)), "recovery_rate": draw(st.floats(0, 1)),
        "recovery_lag_months": draw(st.integers(0, 12)), "age_months": draw(st.integers(0, term - 1)),
    }}
    senior_share = draw(st.integers(1, 95))
    scen = {"name": "s", "cpr": draw(st.floats(0, 0.5)), "pd_multiplier": draw(st.floats(0, 5)),
            "recovery_multiplier": draw(st.floats(0, 1)), "advancing": draw(st.booleans())}
    return pool, senior_share, scen, draw(st.sampled_from([1, 3, 6, 12])), draw(st.sampled_from(["sequential",
                                                                                                  "pro_rata"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_random_deals())
def test_random_pools_run_end_to_end_with_every_fen_of_collections_accounted_for(case):
    """Projection → fen collections → waterfall: per period sources = uses, and over the deal the trust pays out
    exactly the pool collections (no reserve or guarantor here) plus nothing else."""
    from securitization.deal import pool_from_dict

    pool_spec, senior_pct, scen, months, mode = case
    pool = pool_from_dict(pool_spec)
    senior = pool.balance_fen * senior_pct // 100
    raw = {"name": "R", "closing_date": "2025-01-15", "payment_months": months, "principal_mode": mode,
           "tranches": [{"name": "A", "balance_cny": str(fen_to_cny(senior)), "coupon": 0.03, "seniority": 1},
                        {"name": "Sub", "balance_cny": str(fen_to_cny(pool.balance_fen - senior)), "coupon": 0.0,
                         "seniority": 2, "residual": True}],
           "fees": [{"name": "servicer", "kind": "rate", "annual_rate": 0.001}],
           "scenarios": [scen], "pool": pool_spec}
    res = run_deal(deal_from_dict(raw)).to_dict()["scenarios"][0]
    cash_in = cash_out = 0
    for row in res["periods"]:
        srcs = row["interest_collected_fen"] + row["principal_collected_fen"] + row["call_proceeds_fen"]
        uses = (sum(row["fees_paid_fen"].values()) + sum(row["interest_paid_fen"].values())
                + sum(row["principal_paid_fen"].values()) + row["residual_paid_fen"])
        assert srcs + row["reserve_start_fen"] + row["guarantor_paid_fen"] == uses + row["reserve_end_fen"]
        cash_in += srcs
        cash_out += uses
    assert cash_in == cash_out
    for name, t in res["tranches"].items():
        assert 0 <= t["principal_loss_fen"] <= cny_to_fen(t["balance_cny"]), name
