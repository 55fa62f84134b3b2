"""Rules as validated data: bad rules fail with errors naming the field; versions don't overlap."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from risk_sharing.engine import select_version
from risk_sharing.presets import load_preset
from risk_sharing.rules import (
    PartyRole,
    Rule,
    check_new_version,
    check_versions,
    load_rule,
    rule_from_dict,
    rule_to_dict,
)


def rule_dict(**kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": "test-4222",
        "name": "test 4:2:2:2",
        "version": 1,
        "effective_from": "2021-01-01",
        "parties": [
            {"key": "guarantor", "role": "guarantor", "share": "40"},
            {"key": "reguarantor", "role": "reguarantor", "share": "20"},
            {"key": "nfgf", "role": "nfgf", "share": "20"},
            {"key": "bank", "role": "bank", "share": "20"},
        ],
        "residual_bearer": "guarantor",
    }
    d.update(kw)
    return d


def test_valid_rule_loads_with_exact_decimal_shares() -> None:
    r = rule_from_dict(rule_dict())
    assert [p.share for p in r.parties] == [Decimal(40), Decimal(20), Decimal(20), Decimal(20)]
    assert r.compensator_keys == ("reguarantor", "nfgf")  # bank keeps its part, guarantor is residual


def test_shares_not_summing_to_100_name_the_parties_field() -> None:
    d = rule_dict()
    d["parties"][3]["share"] = "19.99"
    with pytest.raises(ValidationError, match=r"parties: shares must sum to exactly 100.*99\.99"):
        rule_from_dict(d)


def test_shares_summing_to_100_with_decimals_are_accepted() -> None:
    d = rule_dict()
    d["parties"][0]["share"] = "33.33"
    d["parties"][1]["share"] = "33.33"
    d["parties"][2]["share"] = "13.34"
    d["parties"][3]["share"] = "20"
    assert sum(p.share for p in rule_from_dict(d).parties) == 100


def test_float_shares_that_do_not_add_up_exactly_are_not_fudged() -> None:
    """0.1 + 0.2 style binary noise must not slip through: shares are parsed as exact decimals."""
    d = rule_dict()
    d["parties"][0]["share"] = 40.0000001
    with pytest.raises(ValidationError, match="parties: shares must sum to exactly 100"):
        rule_from_dict(d)


def test_negative_share_is_rejected_naming_the_share() -> None:
    d = rule_dict()
    d["parties"][0]["share"] = "60"
    d["parties"][1]["share"] = "-20"
    with pytest.raises(ValidationError) as err:
        rule_from_dict(d)
    assert "parties.1.share" in str(err.value)
    assert "negative" in str(err.value)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc"])
def test_non_finite_share_is_rejected(bad: str) -> None:
    d = rule_dict()
    d["parties"][0]["share"] = bad
    with pytest.raises(ValidationError, match=r"parties\.0\.share"):
        rule_from_dict(d)


def test_unknown_party_role_is_rejected() -> None:
    d = rule_dict()
    d["parties"][2]["role"] = "central_bank"
    with pytest.raises(ValidationError) as err:
        rule_from_dict(d)
    assert "parties.2.role" in str(err.value)


def test_duplicate_party_keys_are_rejected() -> None:
    d = rule_dict()
    d["parties"][2]["key"] = "reguarantor"
    with pytest.raises(ValidationError, match="duplicate party key"):
        rule_from_dict(d)


def test_negative_cap_is_rejected_naming_the_cap() -> None:
    with pytest.raises(ValidationError) as err:
        rule_from_dict(rule_dict(caps={"base_per_loan_cny": "-1"}))
    assert "caps.base_per_loan_cny" in str(err.value)


def test_cap_with_sub_fen_precision_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"caps\.compensation_per_loan_cny"):
        rule_from_dict(rule_dict(caps={"compensation_per_loan_cny": "1.001"}))


def test_party_cap_on_unknown_party_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"caps\.party_year_cny: 'fund' is not a party key"):
        rule_from_dict(rule_dict(caps={"party_year_cny": {"fund": "100"}}))


def test_party_cap_on_the_residual_bearer_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"caps\.party_year_cny: 'guarantor' is not a compensating party"):
        rule_from_dict(rule_dict(caps={"party_year_cny": {"guarantor": "100"}}))


def test_fee_cap_above_one_is_rejected_as_a_fraction() -> None:
    with pytest.raises(ValidationError, match=r"eligibility.max_guarantee_fee_rate"):
        rule_from_dict(rule_dict(eligibility={"max_guarantee_fee_rate": "1.5"}))


def test_residual_bearer_defaults_to_the_only_bank() -> None:
    d = rule_dict()
    del d["residual_bearer"]
    assert rule_from_dict(d).residual_bearer == "bank"


def test_residual_bearer_is_required_without_a_single_bank() -> None:
    d = rule_dict()
    del d["residual_bearer"]
    d["parties"][3]["role"] = "government"
    with pytest.raises(ValidationError, match="residual_bearer: required"):
        rule_from_dict(d)


def test_unknown_residual_bearer_is_rejected() -> None:
    with pytest.raises(ValidationError, match="residual_bearer: 'insurer' is not a party key"):
        rule_from_dict(rule_dict(residual_bearer="insurer"))


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="shares_total"):
        rule_from_dict(rule_dict(shares_total=100))


def test_effective_to_before_effective_from_is_rejected() -> None:
    with pytest.raises(ValidationError, match="effective_to"):
        rule_from_dict(rule_dict(effective_to="2020-12-31"))


def test_priority_recovery_names_known_parties() -> None:
    with pytest.raises(ValidationError, match=r"recovery\.priority: 'fund' is not a party key"):
        rule_from_dict(rule_dict(recovery={"kind": "priority", "priority": ["fund"]}))
    with pytest.raises(ValidationError, match="priority"):
        rule_from_dict(rule_dict(recovery={"kind": "priority"}))


def test_rule_round_trips_through_a_db_json_column() -> None:
    r = load_preset("guangzhou-fund-2023")
    stored = json.loads(json.dumps(rule_to_dict(r)))
    assert rule_from_dict(stored) == r


def test_rule_loads_from_yaml_and_json_files(tmp_path: Any) -> None:
    y = tmp_path / "r.yaml"
    y.write_text(yaml.safe_dump(rule_dict()), encoding="utf-8")
    j = tmp_path / "r.json"
    j.write_text(json.dumps(rule_dict()), encoding="utf-8")
    assert load_rule(y) == load_rule(j)
    assert load_rule(y).party("nfgf").role is PartyRole.NFGF
    bad = tmp_path / "r.txt"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="path: unsupported"):
        load_rule(bad)


def _version(v: int, start: str, end: str | None) -> Rule:
    return rule_from_dict(rule_dict(version=v, effective_from=start, effective_to=end))


def test_overlapping_versions_of_a_rule_family_are_rejected() -> None:
    with pytest.raises(ValueError, match="versions 1 and 2 overlap"):
        check_versions([_version(1, "2021-01-01", "2023-06-30"), _version(2, "2023-06-30", None)])


def test_open_ended_version_followed_by_another_overlaps() -> None:
    with pytest.raises(ValueError, match="overlap"):
        check_new_version([_version(1, "2021-01-01", None)], _version(2, "2024-01-01", None))


def test_duplicate_version_numbers_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate version"):
        check_versions([_version(1, "2021-01-01", "2021-12-31"), _version(1, "2022-01-01", None)])


def test_later_version_must_have_a_higher_number() -> None:
    with pytest.raises(ValueError, match="must have a higher number"):
        check_versions([_version(2, "2021-01-01", "2021-12-31"), _version(1, "2022-01-01", None)])


def test_version_in_force_at_origination_applies() -> None:
    v1 = _version(1, "2021-01-01", "2023-12-31")
    v2 = _version(2, "2024-01-01", None)
    assert select_version([v2, v1], date(2023, 12, 31)).version == 1
    assert select_version([v2, v1], date(2024, 1, 1)).version == 2
    with pytest.raises(ValueError, match="origination_date: no version"):
        select_version([v1, v2], date(2020, 12, 31))


def test_select_version_refuses_mixed_families() -> None:
    other = rule_from_dict(rule_dict(id="other"))
    with pytest.raises(ValueError, match="one rule family"):
        select_version([_version(1, "2021-01-01", None), other], date(2022, 1, 1))
