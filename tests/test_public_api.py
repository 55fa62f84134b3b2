"""The public Python API a risk analyst calls from a notebook: one name per rule, public citations,
and plain-number functions in each domain package (issue 15)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

import valuation
from ipfin_app.cli import main as ipfin
from risk_sharing.presets import list_presets, load_all_presets, load_preset
from tests.factories import borrower_body, ip_asset_body, patent_number
from valuation.batch import load_requests
from valuation.request import ValuationRequest

EXAMPLES = Path(valuation.__file__).parent / "examples"


def test_a_preset_is_named_by_its_rule_id_everywhere() -> None:
    assert list_presets() == sorted(r.id for r in load_all_presets())
    assert load_preset("chongqing-4222").id == "chongqing-4222"


def test_the_readme_risk_simulate_command_runs_as_written(capsys) -> None:
    assert ipfin(["risk", "simulate", "--preset", "chongqing-4222", "--loss", "8000000.03"]) == 0
    assert "guarantor" in capsys.readouterr().out


def test_every_preset_cites_a_public_source_not_a_development_file() -> None:
    for rule in load_all_presets():
        assert rule.source, rule.id
        assert not re.search(r"/work/|DESIGN\.md|seed \d{3}|\.txt", rule.source), (rule.id, rule.source)
        assert re.search(r"\b(19|20)\d\d\b", rule.source) or "not verified" in rule.source, rule.id


# ------------------------------------------------------------------ examples never go stale

def test_the_shipped_valuation_examples_are_valued_as_of_today() -> None:
    example = json.loads((EXAMPLES / "invention_patent.json").read_text("utf-8"))
    assert "valuation_date" not in example and ValuationRequest.model_validate(example).valuation_date == date.today()
    assert ValuationRequest.model_validate({**example, "valuation_date": "today"}).valuation_date == date.today()
    assert all(r.get("valuation_date", "today") == "today" for r in load_requests(EXAMPLES / "portfolio.csv"))


def test_a_stated_valuation_date_is_kept() -> None:
    example = json.loads((EXAMPLES / "invention_patent.json").read_text("utf-8"))
    stated = ValuationRequest.model_validate({**example, "valuation_date": "2025-12-31"})
    assert stated.valuation_date == date(2025, 12, 31)


# ------------------------------------------------------------------ a 422 names the field

def _bad_check_digit() -> str:
    good = patent_number()
    return good[:-1] + str((int(good[-1]) + 1) % 10 if good[-1].isdigit() else 0)


@pytest.mark.db
def test_a_wrong_patent_check_digit_is_a_422_naming_the_identifier(client, make_user) -> None:
    officer = make_user("bank")
    example = json.loads((EXAMPLES / "invention_patent.json").read_text("utf-8"))
    example["asset"]["identifier"] = _bad_check_digit()
    r = client.post("/api/v1/valuations", json=example, headers=officer.headers)
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [["body", "asset", "identifier"]], r.text
    assert "check digit" in r.json()["detail"][0]["msg"]
    b = client.post("/api/v1/borrowers", json=borrower_body(), headers=officer.headers).json()
    r = client.post("/api/v1/ip-assets", json=ip_asset_body(b["id"], identifier=_bad_check_digit()),
                    headers=officer.headers)
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [["body", "identifier"]], r.text


@pytest.mark.db
def test_a_cross_field_valuation_error_names_the_field(client, make_user) -> None:
    officer = make_user("bank")
    example = json.loads((EXAMPLES / "invention_patent.json").read_text("utf-8"))
    example["asset"]["grant_date"] = "2017-01-01"  # before the filing date
    example["income"]["economic_life_years"] = 40  # beyond the patent's legal term
    for body, loc in ((example, ["body", "asset", "grant_date"]),):
        r = client.post("/api/v1/valuations", json=body, headers=officer.headers)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    example["asset"]["grant_date"] = "2021-06-08"
    r = client.post("/api/v1/valuations", json=example, headers=officer.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "income", "economic_life_years"], r.text


# ------------------------------------------------------------------ plain numbers in, plain results out

def test_each_domain_package_exports_a_documented_surface() -> None:
    import pledge
    import risk_sharing
    import securitization

    for pkg in (valuation, pledge, risk_sharing, securitization):
        assert pkg.__doc__ and ">>>" in pkg.__doc__, pkg.__name__
        for name in pkg.__all__:
            obj = getattr(pkg, name)
            assert obj.__doc__, f"{pkg.__name__}.{name} has no docstring"


def test_every_shipped_valuation_example_values_as_of_today() -> None:
    from valuation.batch import value_many

    requests = [json.loads((EXAMPLES / "invention_patent.json").read_text("utf-8")),
                *load_requests(EXAMPLES / "portfolio.csv")]
    items = value_many(requests, paths=2000, seed=1)
    assert [it.error for it in items] == [None] * len(requests)
