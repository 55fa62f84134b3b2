"""What a rule costs each payer, through the API: the stored book by filter or a CSV tape, small runs in the
request and large ones as jobs, the break-even fee beside the rule's fee cap, and who may run them on what."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from api.early_warning.models import EWRun, EWScore
from api.pledge.models import CollateralValuation, Loan, LoanCollateral
from api.risk_sharing import cost
from risk_sharing.fee import break_even_fee_rate
from tests.factories import create_loan_via_api

pytestmark = pytest.mark.db

URL = "/api/v1/rule-costs"
FEE_URL = "/api/v1/guarantee-fees"
TODAY = date.today()


def _live_loan(client: Any, engine: Any, actor: Any, *, guarantor_id: int | None, amount: str = "5000000.00",
               fee: str | None = "0.012", value_cny: int = 4_000_000, p5_cny: int | None = 2_000_000) -> int:
    """A loan created through the API, then made live (active, fully outstanding, two years to run) with one
    valuation of its pledged patent."""
    kw: dict[str, Any] = {"amount_cny": amount}
    if guarantor_id is not None:
        kw |= {"guarantor_org_id": guarantor_id, "guarantee_fee_rate": fee}
    loan = create_loan_via_api(client, actor.headers, **kw)
    with Session(engine) as s:
        row = s.get(Loan, loan["id"])
        assert row is not None
        row.status = "active"  # type: ignore[assignment]
        row.outstanding_fen = row.amount_fen
        row.origination_date = TODAY - timedelta(days=30)
        row.maturity_date = TODAY + timedelta(days=700)
        s.add(row)
        coll = s.exec(select(LoanCollateral).where(LoanCollateral.loan_id == row.id)).one()
        s.add(CollateralValuation(ip_asset_id=coll.ip_asset_id, value_fen=value_cny * 100,
                                  p5_fen=None if p5_cny is None else p5_cny * 100, valuation_date=TODAY,
                                  source="appraiser"))
        s.commit()
        return int(loan["id"])


def _score(engine: Any, org_id: int, loan_id: int, pd: float) -> None:
    with Session(engine) as s:
        run = EWRun(org_id=org_id, data_cut=TODAY, model_version="test", model_kind="prior", n_loans=1,
                    alert_pd=0.1, coefficients={})
        s.add(run)
        s.flush()
        s.add(EWScore(run_id=run.id, loan_id=loan_id, pd=pd, rank=1, bucket="high", drivers=[]))  # type: ignore[arg-type]
        s.commit()


@pytest.fixture
def book(client: Any, engine: Any, make_user: Any) -> dict[str, Any]:
    """Bank A: three guaranteed live loans (one scored PD 30%), one unguaranteed; bank B: one loan."""
    bank, guarantor, other = make_user("bank"), make_user("guarantor"), make_user("bank")
    ids = [_live_loan(client, engine, bank, guarantor_id=guarantor.org.id) for _ in range(3)]
    plain = _live_loan(client, engine, bank, guarantor_id=None)
    _live_loan(client, engine, other, guarantor_id=None)
    _score(engine, bank.org.id, ids[0], 0.30)
    return {"bank": bank, "guarantor": guarantor, "other": other, "ids": ids, "plain": plain}


def test_a_bank_prices_its_own_book_under_chongqing_with_scores_and_classification_defaults(
    client: Any, book: dict[str, Any]
) -> None:
    r = client.post(URL, json={"rule_id": "chongqing-4222", "book": {}, "n_paths": 400, "seed": 7},
                    headers=book["bank"].headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["n_loans"] == 4  # its own live loans only: bank B's loan is not in the book
    assert out["n_eligible"] == 3  # the unguaranteed loan is outside the scheme (guarantee required)
    assert out["book_sources"] == {"loans": 4, "pd_from_early_warning": 1, "pd_from_classification": 3,
                                   "collateral_valued": 4, "collateral_missing": 0}
    parties = {p["key"]: p for p in out["parties"]}
    assert list(parties) == ["guarantor", "reguarantor", "nfgf", "bank"]
    # no caps under 4:2:2:2: every claim is split 40/20/20/20
    assert parties["guarantor"]["expected_payout_cny"] == pytest.approx(2 * parties["bank"]["expected_payout_cny"],
                                                                       abs=0.02)
    assert parties["guarantor"]["expected_payout_cny"] > 0
    assert [q["level"] for q in parties["nfgf"]["payout_quantiles"]] == [0.95, 0.99, 0.999]
    assert parties["nfgf"]["expected_payout_se_cny"] > 0
    assert out["caps"] == []
    again = client.post(URL, json={"rule_id": "chongqing-4222", "book": {}, "n_paths": 400, "seed": 7},
                        headers=book["bank"].headers)
    assert again.json() == out  # same seed, same answer


def test_the_guarantor_sees_the_loans_it_guarantees_and_the_filter_narrows_them(
    client: Any, book: dict[str, Any]
) -> None:
    r = client.post(URL, json={"rule_id": "chongqing-4222", "book": {"industry": "C"}, "n_paths": 100},
                    headers=book["guarantor"].headers)
    assert r.status_code == 200, r.text
    assert r.json()["n_loans"] == 3
    none = client.post(URL, json={"rule_id": "chongqing-4222", "book": {"industry": "J"}, "n_paths": 100},
                       headers=book["guarantor"].headers)
    assert none.status_code == 422
    assert none.json()["detail"][0]["loc"] == ["body", "book"]


def test_a_tape_runs_without_the_stored_book_and_a_bad_cell_names_its_line(client: Any, make_user: Any) -> None:
    fund = make_user("fund")
    tape = "loan_id,ead_cny,annual_pd,collateral_cny\nA,1000000,0.05,500000\nB,2000000,0.02,0\n"
    r = client.post(URL, json={"rule_id": "chongqing-4222", "tape": tape, "n_paths": 200}, headers=fund.headers)
    assert r.status_code == 200, r.text
    assert r.json()["book_sources"] == {"loans": 2, "from_tape": 2}
    bad = client.post(URL, json={"rule_id": "chongqing-4222", "tape": tape.replace("0.02", "lots"), "n_paths": 200},
                      headers=fund.headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "tape"]
    assert "line 3: annual_pd" in bad.json()["detail"][0]["msg"]
    missing = client.post(URL, json={"rule_id": "chongqing-4222", "tape": "loan_id,ead_cny\nA,1\n"},
                          headers=fund.headers)
    assert missing.status_code == 422 and "collateral_cny" in missing.json()["detail"][0]["msg"]


@pytest.mark.parametrize(("body", "field"), [
    ({"rule_id": "no-such-rule", "tape": "x"}, "rule_id"),
    ({"tape": "x"}, "rule_id"),
    ({"rule_id": "chongqing-4222"}, "book"),
    ({"rule_id": "chongqing-4222", "book": {}, "tape": "x"}, "book"),
    ({"rule_id": "chongqing-4222", "book": {"province_code": "990000"}}, "book.province_code"),
    ({"rule_id": "chongqing-4222", "book": {}, "n_paths": 1}, "n_paths"),
    ({"rule_id": "chongqing-4222", "book": {}, "years": 11}, "years"),
])
def test_bad_requests_are_422_naming_the_field(client: Any, make_user: Any, body: dict[str, Any],
                                               field: str) -> None:
    r = client.post(URL, json=body, headers=make_user("bureau").headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", *field.split(".")]


def test_an_unknown_stored_rule_version_is_404(client: Any, make_user: Any) -> None:
    r = client.post(URL, json={"rule_row_id": 2**31 - 1, "tape": "x"}, headers=make_user("fund").headers)
    assert r.status_code == 404


def test_signed_out_is_401(client: Any) -> None:
    assert client.post(URL, json={"rule_id": "chongqing-4222", "book": {}}).status_code == 401


def test_a_large_run_is_a_job_with_the_same_answer(client: Any, book: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"rule_id": "chongqing-4222", "book": {}, "n_paths": 300, "seed": 3}
    small = client.post(URL, json=body, headers=book["bank"].headers).json()
    monkeypatch.setattr(cost, "SYNC_WORK", 10)
    r = client.post(URL, json=body, headers=book["bank"].headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    for _ in range(200):
        job = client.get(f"/api/v1/jobs/{job_id}", headers=book["bank"].headers).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    assert job["result"] == small
    other = client.get(f"/api/v1/jobs/{job_id}", headers=book["other"].headers)
    assert other.status_code == 404  # another bank never sees the run


def test_break_even_fee_of_a_risky_cohort_exceeds_the_1_5_percent_cap(client: Any, make_user: Any) -> None:
    """PD 20%, nothing recovered, one year, no discounting: each fee party breaks even at PD × LGD × share
    (guarantor 8%, re-guarantor and NFGF 4% each, 16% together) — far above Chongqing's 1.5% cap."""
    rows = "\n".join(f"L{i},1000000,0.2,0,0,1,0.012" for i in range(50))
    tape = "loan_id,ead_cny,annual_pd,collateral_cny,collateral_sigma,term_years,guarantee_fee_rate\n" + rows
    body = {"rule_id": "chongqing-4222", "tape": tape, "n_paths": 4000, "seed": 5, "top": 5,
            "assumptions": {"discount_rate": 0.0, "rho": 0.0}}
    r = client.post(FEE_URL, json=body, headers=make_user("guarantor").headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["fee_cap"] == 0.015
    assert out["fee_parties"] == ["guarantor", "reguarantor", "nfgf"]
    expected = break_even_fee_rate(0.2, 1.0, 0.8)
    assert out["total_break_even_rate"] == pytest.approx(expected, abs=4 * out["total_break_even_rate_se"])
    party = {p["key"]: p for p in out["parties"]}
    g = party["guarantor"]
    assert g["break_even_rate"] == pytest.approx(0.08, abs=4 * g["break_even_rate_se"])
    assert out["under_priced_count"] == 50 and out["under_priced_share"] == 1.0
    assert len(out["under_priced_loans"]) == 5
    worst = out["under_priced_loans"][0]
    assert worst["gap_rate"] == pytest.approx(worst["break_even_rate"] - 0.015)
    assert worst["charged_rate"] == 0.012


def test_insurance_and_subsidies_of_a_programme_rule_come_back_with_the_cost(client: Any, make_user: Any) -> None:
    """The loan + guarantee + insurance preset: the insurer pays at most 3M per loan, the premium is 1%, half
    of the interest is subsidised up to 100k per loan within a 5M budget."""
    tape = ("loan_id,ead_cny,annual_pd,collateral_cny,collateral_sigma,interest_rate,appraisal_fee_cny\n"
            + "\n".join(f"L{i},20000000,0.05,0,0,0.05,30000" for i in range(60)))
    r = client.post(URL, json={"rule_id": "loan-guarantee-insurance", "tape": tape, "n_paths": 300},
                    headers=make_user("fund").headers)
    assert r.status_code == 200, r.text
    out = r.json()
    p = {x["key"]: x for x in out["parties"]}
    # a 20M loss: the insurer's 30% would be 6M, its policy caps it at 3M per loan; the guarantor bears the rest
    assert p["insurer"]["expected_payout_cny"] < 0.5 * 0.30 / 0.40 * p["guarantor"]["expected_payout_cny"]
    prog = out["programme"]
    assert prog["insurer"] == "insurer" and prog["premium_rate"] == 0.01
    assert prog["expected_premium_by_year_cny"] == [12_000_000.0]  # 1% of 60 × 20M
    sub = {s["key"]: s for s in prog["subsidies"]}
    # half of 5% on 20M is 500k, capped at 100k per loan; 60 loans × 100k × 95% surviving the year > 5M budget
    assert sub["interest_subsidy"]["expected_demand_by_year_cny"] == [pytest.approx(5_700_000.0)]
    assert sub["interest_subsidy"]["expected_paid_by_year_cny"] == [5_000_000.0]
    assert sub["interest_subsidy"]["first_exhausted_year"] == 0
    assert sub["appraisal_subsidy"]["expected_demand_by_year_cny"] == [900_000.0]  # 60 × min(15k, 20k)
    assert sub["appraisal_subsidy"]["budget_exhausted_by_year"] == [False]


def test_the_command_line_prints_the_same_run_as_a_table(client: Any, make_user: Any, tmp_path: Any,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from ipfin_app.cli import main

    tape = tmp_path / "book.csv"
    tape.write_text("loan_id,ead_cny,annual_pd,collateral_cny,guarantee_fee_rate\nA,1000000,0.001,500000,0.02\n"
                    "B,2000000,0.30,0,0.012\n", encoding="utf-8")
    assert main(["risk", "cost", "--rule", "chongqing-4222", "--tape", str(tape), "--paths", "300"]) == 0
    out = capsys.readouterr().out
    api = client.post(URL, json={"rule_id": "chongqing-4222", "tape": tape.read_text(), "n_paths": 300, "seed": 1},
                      headers=make_user("fund").headers).json()
    g = api["parties"][0]
    row = next(line for line in out.splitlines() if line.startswith("guarantor"))
    assert row.split()[:3] == ["guarantor", "40%", f"{g['expected_payout_cny']:,.0f}"]
    assert main(["risk", "fee", "--rule", "chongqing-4222", "--tape", str(tape), "--paths", "300"]) == 0
    assert "under-priced by the cap: 1 loans" in capsys.readouterr().out  # B breaks even far above 1.5%
    assert main(["risk", "cost", "--rule", "nope", "--tape", str(tape)]) == 2
    assert "rule_id: unknown rule 'nope'" in capsys.readouterr().err
