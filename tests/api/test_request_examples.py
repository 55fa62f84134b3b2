"""Every request body in the OpenAPI document carries an example, and that example is a valid request
for its route (issue 15): it is validated against the route's own request model, so an example that
drifts from its schema fails here. Examples that reference no stored object are also sent to the API."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from api.core.config import get_settings
from api.core.docs import add_request_examples, request_schema_name
from api.core.examples import deal_structure, operation_examples, risk_rule_definition, schema_examples
from api.router import ROUTERS
from ipfin.validation import is_valid_credit_code, is_valid_patent_number
from risk_sharing.rules import rule_from_dict
from securitization.deal import deal_from_dict

pytestmark = pytest.mark.db

BODY_ROUTES = [(method, route) for router in ROUTERS for route in router.routes
               if isinstance(route, APIRoute) and route.body_field is not None for method in sorted(route.methods)]
FILE_UPLOAD = "multipart/form-data"


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def _media(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    content = spec["paths"][get_settings().api_v1_str + path][method.lower()]["requestBody"]["content"]
    return dict(content)


def _example(media: dict[str, Any]) -> Any:
    examples = media.get("examples") or {}
    assert len(examples) == 1, f"expected one example, found {sorted(examples)}"
    return next(iter(examples.values()))["value"]


@pytest.mark.parametrize(("method", "route"), BODY_ROUTES, ids=[f"{m} {r.path}" for m, r in BODY_ROUTES])
def test_the_example_in_the_docs_is_a_valid_request_for_its_route(spec: dict[str, Any], method: str,
                                                                  route: APIRoute) -> None:
    assert route.body_field is not None
    model = TypeAdapter(route.body_field.field_info.annotation)
    for media_type, media in _media(spec, method, route.path).items():
        if media_type == FILE_UPLOAD:
            continue  # a CSV/Excel upload: Swagger UI offers a file chooser, no JSON to show
        example = _example(media)
        try:
            model.validate_python(copy.deepcopy(example))
        except ValidationError as exc:
            pytest.fail(f"the {media_type} example of {method} {route.path} does not validate:\n{exc}")


def test_the_routes_checked_are_every_operation_with_a_body(spec: dict[str, Any]) -> None:
    """The walk over the routers misses nothing the document shows (a nested router would be caught here)."""
    prefix = get_settings().api_v1_str
    documented = {f"{m.upper()} {p.removeprefix(prefix)}" for p, ops in spec["paths"].items()
                  for m, op in ops.items() if "requestBody" in op}
    assert documented == {f"{m} {r.path}" for m, r in BODY_ROUTES}


def test_every_example_in_the_registry_is_used_by_a_route(spec: dict[str, Any]) -> None:
    """No stale entries: each schema and operation example belongs to a current request body."""
    prefix = get_settings().api_v1_str
    names, operations = set(), set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for media in op.get("requestBody", {}).get("content", {}).values():
                names.add(request_schema_name(media.get("schema", {})))
                operations.add(f"{method.upper()} {path.removeprefix(prefix)}")
    assert set(schema_examples()) - names == set()
    assert set(operation_examples()) - operations == set()


def test_the_hook_reports_a_body_it_has_no_example_for() -> None:
    spec = {"paths": {"/api/v1/widgets": {"post": {"requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/WidgetCreate"}}}}}},
        "/api/v1/widgets/import": {"post": {"requestBody": {"content": {
            FILE_UPLOAD: {"schema": {"$ref": "#/components/schemas/Body_import"}}}}}}}}
    assert add_request_examples(copy.deepcopy(spec), {}, {}, "/api/v1") == ["POST /api/v1/widgets"]
    filled = copy.deepcopy(spec)
    assert add_request_examples(filled, {"WidgetCreate": {"name": "示例"}}, {}, "/api/v1") == []
    media = filled["paths"]["/api/v1/widgets"]["post"]["requestBody"]["content"]["application/json"]
    assert media["examples"]["example"]["value"] == {"name": "示例"}


def test_an_example_that_drifts_from_its_schema_is_caught(spec: dict[str, Any]) -> None:
    """The check above can fail: a loan maturing before it starts, a patent number with a wrong check digit."""
    loans = next(r for m, r in BODY_ROUTES if m == "POST" and r.path == "/loans")
    assets = next(r for m, r in BODY_ROUTES if m == "POST" and r.path == "/ip-assets")
    loan = _example(_media(spec, "POST", "/loans")["application/json"])
    asset = _example(_media(spec, "POST", "/ip-assets")["application/json"])
    bad_loan = {**loan, "maturity_date": loan["origination_date"]}
    bad_asset = {**asset, "identifier": asset["identifier"][:-1] + str((int(asset["identifier"][-1]) + 1) % 10)}
    for route, body in ((loans, bad_loan), (assets, bad_asset)):
        assert route.body_field is not None
        with pytest.raises(ValidationError):
            TypeAdapter(route.body_field.field_info.annotation).validate_python(body)


def test_identifiers_in_the_examples_carry_correct_check_characters() -> None:
    ex = schema_examples()
    assert is_valid_credit_code(ex["BorrowerCreate"]["credit_code"])
    assert all(is_valid_credit_code(c) for c in ex["PledgeIPFactsUpdate"]["registered_owners"])
    assert is_valid_patent_number(ex["IPAssetCreate"]["identifier"])
    assert is_valid_patent_number(ex["MaxLoanRequest"]["collateral"][0]["asset_id"])


def test_example_dates_count_from_the_day_the_document_is_built() -> None:
    later = date(2031, 3, 10)
    ex = schema_examples(later)
    assert ex["LoanCreate"]["origination_date"] == "2031-03-10" and ex["LoanCreate"]["maturity_date"] == "2032-03-10"
    assert ex["PaymentCreate"]["paid_on"] == "2031-03-10"
    assert ex["LprFixingCreate"]["effective_date"] == "2031-02-20"  # the latest 20th: LPR publication day
    assert ex["ValuationCreate"]["valuation_date"] == "2031-03-10"
    assert date.fromisoformat(ex["IPAssetCreate"]["annual_fee_paid_until"]) > later
    assert date.fromisoformat(ex["CollateralValuationCreate"]["valuation_date"]) < later
    assert operation_examples(later)["POST /risk-rules"]["effective_from"] == "2031-04-01"
    assert schema_examples(date(2028, 2, 29))["LoanCreate"]["maturity_date"] == "2029-02-28"


def test_free_form_bodies_pass_their_domain_parser() -> None:
    """A rule definition and a deal structure are plain JSON to pydantic; their own parsers check them."""
    today = date.today()
    rule = rule_from_dict(risk_rule_definition(today))
    assert rule.id == "yubei-ip-4222" and sum(p.share for p in rule.parties) == 100
    deal_file = Path(__file__).parents[2] / "securitization" / "deals" / "nanshan_gaoxintou_ip_5_2022.json"
    pool = json.loads(deal_file.read_text("utf-8"))["pool"]
    deal = deal_from_dict({**deal_structure(today), "pool": pool})
    assert [t.name for t in deal.structure.tranches] == ["Senior", "Sub"]
    assert today < deal.structure.closing_date <= today + timedelta(days=31)


# ------------------------------------------------------------------ sent to the API

SELF_CONTAINED = [  # examples that reference no stored object: (method, path, org kind, role, status)
    ("POST", "/organisations", "admin", "officer", 201),
    ("POST", "/borrowers", "bank", "officer", 201),
    ("POST", "/valuations", "bank", "officer", 201),
    ("POST", "/pledge/max-loan", "bank", "officer", 200),
    ("POST", "/ip-transactions", "bank", "officer", 201),
    ("POST", "/risk-rules", "fund", "officer", 201),
]


@pytest.mark.parametrize(("method", "path", "kind", "role", "expected"), SELF_CONTAINED,
                         ids=[f"{m} {p}" for m, p, *_ in SELF_CONTAINED])
def test_a_self_contained_example_is_accepted_by_the_api(client: TestClient, spec: dict[str, Any], make_user: Any,
                                                         method: str, path: str, kind: str, role: str,
                                                         expected: int) -> None:
    actor = make_user(kind, role)
    body = _example(_media(spec, method, path)["application/json"])
    r = client.request(method, get_settings().api_v1_str + path, json=body, headers=actor.headers)
    assert r.status_code == expected, r.text


def test_the_borrower_asset_and_loan_examples_chain_into_a_draft_loan(client: TestClient, spec: dict[str, Any],
                                                                      make_user: Any, make_org: Any) -> None:
    """With its placeholder ids replaced by real ones, each step's example is accepted as it stands."""
    bank, guarantor = make_user("bank", "officer"), make_org("guarantor")
    api = get_settings().api_v1_str

    def post(path: str, **ids: Any) -> dict[str, Any]:
        body = {**_example(_media(spec, "POST", path)["application/json"]), **ids}
        r = client.post(api + path, json=body, headers=bank.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    borrower = post("/borrowers")
    asset = post("/ip-assets", borrower_id=borrower["id"])
    loan = post("/loans", borrower_id=borrower["id"], collateral_ip_asset_ids=[asset["id"]],
                guarantor_org_id=guarantor.id)
    assert loan["status"] == "draft" and loan["amount_fen"] == 500_000_000
