"""The claim-to-payout lag through the API and the command line: ``claim_lag_months`` moves payouts into the year
they are paid, payouts after the horizon come back as pending, and a negative lag is a 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.db

URL = "/api/v1/rule-costs"
TAPE = "loan_id,ead_cny,annual_pd,collateral_cny\n" + "\n".join(f"L{i},1000000,0.2,0" for i in range(20))


def test_a_12_month_lag_leaves_every_payout_of_a_one_year_run_pending(client: Any, make_user: Any) -> None:
    fund = make_user("fund")
    body = {"rule_id": "chongqing-4222", "tape": TAPE, "n_paths": 300, "seed": 2}
    now = client.post(URL, json={**body, "claim_lag_months": 0}, headers=fund.headers)
    late = client.post(URL, json={**body, "claim_lag_months": 12}, headers=fund.headers)
    assert now.status_code == late.status_code == 200, (now.text, late.text)
    for a, b in zip(now.json()["parties"], late.json()["parties"], strict=True):
        assert b["expected_payout_cny"] == a["expected_payout_cny"] > 0  # the same claims, paid later
        assert a["expected_pending_at_horizon_cny"] == 0 and a["expected_payout_by_year_cny"] == [
            a["expected_payout_cny"]]
        assert b["expected_payout_by_year_cny"] == [0.0]
        assert b["expected_pending_at_horizon_cny"] == b["expected_payout_cny"]
        assert b["expected_pending_at_horizon_se_cny"] > 0
    assert (now.json()["claim_lag_months"], late.json()["claim_lag_months"]) == (0, 12)


def test_without_a_lag_the_rule_trigger_delay_plus_two_months_is_assumed(client: Any, make_user: Any) -> None:
    r = client.post(URL, json={"rule_id": "chongqing-4222", "tape": TAPE, "n_paths": 100},
                    headers=make_user("bureau").headers)
    assert r.status_code == 200, r.text
    assert r.json()["claim_lag_months"] == 5  # 90 days overdue → 3 months, + 2 (assumption)


@pytest.mark.parametrize("lag", [-1, 121, 2.5, "soon"])
def test_a_bad_lag_is_422_naming_the_field(client: Any, make_user: Any, lag: Any) -> None:
    r = client.post(URL, json={"rule_id": "chongqing-4222", "tape": TAPE, "claim_lag_months": lag},
                    headers=make_user("fund").headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "claim_lag_months"]


def test_the_command_line_takes_the_lag_and_rejects_a_negative_one(
    client: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from ipfin_app.cli import main

    tape = tmp_path / "book.csv"
    tape.write_text(TAPE, encoding="utf-8")
    assert main(["risk", "cost", "--rule", "chongqing-4222", "--tape", str(tape), "--paths", "200",
                 "--claim-lag-months", "12"]) == 0
    out = capsys.readouterr().out
    assert "paid 12 months after default" in out and "E[pending at horizon end]" in out
    assert main(["risk", "cost", "--rule", "chongqing-4222", "--tape", str(tape), "--claim-lag-months", "-3"]) == 2
    assert "claim_lag_months" in capsys.readouterr().err
