"""Tenancy matrix (issue 10), generated from the route table.

Every route of the OpenAPI document must declare its policy in ``POLICY`` below (a new route
without one fails ``test_every_route_declares_a_tenancy_policy``). Organisation A (a bank, its
guarantor, a re-guarantor, a fund, a bureau) owns one of everything: borrower, IP asset, loan,
valuation, pool, deal and run, rule family and proposed change, claim with its shares, recovery,
job. Then every route is called as every role of a second organisation of the same kind (B), with
A's ids in the path:

* ``object`` routes (an id in the path) must never answer 2xx to B: 404 (or 403 for a role that may
  never use the route) — whatever the body;
* ``list`` routes must not show any of A's markers (unique names, references, identifiers);
* ``admin`` routes answer 403 to everyone but the platform admin;
* ``shared`` routes are public policy or reference data every signed-in user reads (rules, presets,
  scenarios, the workflow table), ``self``/``public`` routes concern the caller only.

Bodies for POST/PUT come from the route's OpenAPI example when it has one, else ``{}``: a 422 is
no leak, and with a valid body the object check still has to hold.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import date
from typing import Any

import pytest

from tests.factories import borrower_body, ip_asset_body, loan_body
from tests.risk_sharing.api_helpers import defaulted_loan, preset_body

pytestmark = pytest.mark.db

V1 = "/api/v1"

# (method, path) → policy; every route of the API appears here exactly once.
POLICY: dict[tuple[str, str], str] = {
    ("POST", "/auth/logout"): "public",
    ("POST", "/auth/session"): "public",
    ("POST", "/auth/token"): "public",
    ("GET", "/health"): "public",
    ("GET", "/users/me"): "self",
    ("POST", "/users/me/password"): "self",
    ("GET", "/users"): "list",
    ("POST", "/users"): "admin",
    ("POST", "/users/{user_id}/disable"): "admin",
    ("POST", "/users/{user_id}/enable"): "admin",
    ("GET", "/organisations"): "list",
    ("POST", "/organisations"): "admin",
    ("GET", "/organisations/{org_id}"): "shared",  # counterparties: name, kind and region are not secret
    ("GET", "/audit-events"): "list",
    ("GET", "/jobs/{job_id}"): "object",
    # pledge loans
    ("GET", "/borrowers"): "list",
    ("POST", "/borrowers"): "own",
    ("GET", "/borrowers/{borrower_id}"): "object",
    ("GET", "/ip-assets"): "list",
    ("POST", "/ip-assets"): "own",
    ("GET", "/ip-assets/{asset_id}"): "object",
    ("GET", "/ip-assets/{asset_id}/pledge-facts"): "object",
    ("PUT", "/ip-assets/{asset_id}/pledge-facts"): "object",
    ("GET", "/ip-assets/{asset_id}/valuations"): "object",
    ("POST", "/ip-assets/{asset_id}/valuations"): "object",
    ("GET", "/loans"): "list",
    ("POST", "/loans"): "own",
    ("GET", "/loans/{loan_id}"): "object",
    ("GET", "/loans/{loan_id}/buckets"): "object",
    ("POST", "/loans/{loan_id}/charges"): "object",
    ("GET", "/loans/{loan_id}/disposals"): "object",
    ("POST", "/loans/{loan_id}/disposals"): "object",
    ("GET", "/loans/{loan_id}/eligibility"): "object",
    ("GET", "/loans/{loan_id}/events"): "object",
    ("GET", "/loans/{loan_id}/payments"): "object",
    ("POST", "/loans/{loan_id}/payments"): "object",
    ("GET", "/loans/{loan_id}/schedule"): "object",
    ("GET", "/loans/{loan_id}/terms"): "object",
    ("PUT", "/loans/{loan_id}/terms"): "object",
    ("GET", "/loans/{loan_id}/transitions"): "object",
    ("POST", "/loans/{loan_id}/transitions"): "object",
    ("GET", "/alerts"): "list",
    ("GET", "/pledge/loans/export"): "list",
    ("POST", "/pledge/loans/import"): "own",
    ("POST", "/pledge/max-loan"): "own",
    ("POST", "/pledge/monitoring/run"): "own",
    ("GET", "/pledge/policy"): "own",
    ("PUT", "/pledge/policy"): "own",
    ("GET", "/pledge/transitions"): "shared",
    ("PATCH", "/ip-assets/{asset_id}"): "object",
    ("GET", "/ip-assets/{asset_id}/registry"): "object",
    ("GET", "/loans/{loan_id}/lending-terms"): "object",
    ("POST", "/loans/{loan_id}/product"): "object",
    ("POST", "/loans/{loan_id}/reprice"): "object",
    ("GET", "/loans/{loan_id}/restructurings"): "object",
    ("POST", "/loans/{loan_id}/restructurings"): "object",
    ("POST", "/loans/{loan_id}/restructurings/{request_id}/approve"): "object",
    ("POST", "/loans/{loan_id}/restructurings/{request_id}/reject"): "object",
    ("GET", "/pledge/products"): "list",
    ("POST", "/pledge/products"): "own",
    ("GET", "/pledge/products/{product_id}"): "object",
    ("PATCH", "/pledge/products/{product_id}"): "object",
    ("GET", "/pledge/lpr"): "shared",
    ("POST", "/pledge/lpr"): "admin",
    ("GET", "/pledge/calendar/{year}"): "shared",
    ("PUT", "/pledge/calendar/overrides/{day}"): "admin",
    ("DELETE", "/pledge/calendar/overrides/{day}"): "admin",
    ("POST", "/pledge/arrears/run"): "own",
    ("GET", "/pledge/provisions"): "own",
    ("PUT", "/pledge/provisions/rates"): "own",
    # the IP transaction register: market facts every organisation reads; only the recorder edits
    ("GET", "/ip-transactions"): "shared",
    ("POST", "/ip-transactions"): "own",
    ("POST", "/ip-transactions/import"): "own",
    ("GET", "/ip-transactions/export"): "shared",
    ("GET", "/ip-transactions/reports/volumes"): "shared",
    ("GET", "/ip-transactions/{transaction_id}"): "shared",
    ("PATCH", "/ip-transactions/{transaction_id}"): "object",
    ("DELETE", "/ip-transactions/{transaction_id}"): "object",
    # valuation
    ("GET", "/valuations"): "list",
    ("POST", "/valuations"): "own",
    ("GET", "/valuations/{valuation_id}"): "object",
    ("GET", "/valuations/{valuation_id}/report"): "object",
    # risk sharing: rules are public policy; claims belong to their parties
    ("GET", "/risk-rules"): "shared",
    ("POST", "/risk-rules"): "own",
    ("GET", "/risk-rules/presets"): "shared",
    ("POST", "/risk-rules/presets/{name}"): "admin",
    ("GET", "/risk-rules/{rule_row_id}"): "shared",
    ("POST", "/risk-rules/{rule_row_id}/simulate"): "shared",
    ("GET", "/risk-rule-families"): "shared",
    ("GET", "/risk-schemes/{rule_id}"): "shared",
    ("PUT", "/risk-schemes/{rule_id}"): "object",
    ("GET", "/risk-rule-changes"): "list",
    ("GET", "/risk-rule-changes/{change_id}"): "object",
    ("POST", "/risk-rule-changes/{change_id}/approve"): "object",
    ("POST", "/risk-rule-changes/{change_id}/reject"): "object",
    ("GET", "/claims"): "list",
    ("POST", "/claims"): "own",
    ("GET", "/claims/{claim_id}"): "object",
    ("POST", "/claims/{claim_id}/review"): "object",
    ("POST", "/claims/{claim_id}/reject"): "object",
    ("POST", "/claims/{claim_id}/shares/{party_key}/propose"): "object",
    ("POST", "/claims/{claim_id}/shares/{party_key}/approve"): "object",
    ("POST", "/claims/{claim_id}/shares/{party_key}/pay"): "object",
    ("POST", "/claims/{claim_id}/shares/{party_key}/decline"): "object",
    ("GET", "/recoveries"): "list",
    ("POST", "/recoveries"): "own",
    ("GET", "/ledger"): "list",
    ("POST", "/subsidy-applications"): "own",
    ("GET", "/subsidy-applications"): "list",
    ("GET", "/subsidy-applications/{application_id}"): "object",
    ("POST", "/subsidy-applications/{application_id}/propose"): "object",
    ("POST", "/subsidy-applications/{application_id}/approve"): "object",
    ("POST", "/subsidy-applications/{application_id}/send-back"): "object",
    ("POST", "/subsidy-applications/{application_id}/pay"): "object",
    ("GET", "/subsidy-budgets"): "shared",
    ("GET", "/subsidy-ledger"): "list",
    # securitisation
    ("GET", "/pools"): "list",
    ("POST", "/pools"): "own",
    ("POST", "/pools/upload"): "own",
    ("GET", "/pools/{pool_id}"): "object",
    ("GET", "/pools/{pool_id}/strata"): "object",
    ("GET", "/deals"): "list",
    ("POST", "/deals"): "own",
    ("GET", "/deals/{deal_id}"): "object",
    ("GET", "/deals/{deal_id}/runs"): "object",
    ("POST", "/deals/{deal_id}/runs"): "object",
    ("GET", "/deals/{deal_id}/runs/{run_id}"): "object",
    # early warning and collateral stress: a bank's own book; a bureau's region in aggregate
    ("GET", "/early-warning/runs"): "list",
    ("POST", "/early-warning/runs"): "own",
    ("GET", "/early-warning/runs/{ew_run_id}"): "object",
    ("GET", "/early-warning/runs/{ew_run_id}/scores"): "object",
    ("GET", "/early-warning/runs/{ew_run_id}/migration"): "object",
    ("GET", "/early-warning/runs/{ew_run_id}/validation"): "object",
    ("GET", "/early-warning/watchlist"): "list",
    ("GET", "/early-warning/summary"): "list",
    ("GET", "/stress-scenarios"): "shared",
    ("GET", "/stress-runs"): "list",
    ("POST", "/stress-runs"): "own",
    ("GET", "/stress-runs/{stress_run_id}"): "object",
    # rule cost and break-even fee: run on the book the caller may see in aggregate (a bank: its own)
    ("POST", "/rule-costs"): "own",
    ("POST", "/guarantee-fees"): "own",
    # bureau statistics: aggregates within the caller's scope
    ("GET", "/stats/overview"): "list",
    ("GET", "/stats/breakdown"): "list",
    ("GET", "/stats/timeseries"): "list",
}

FOREIGN_KINDS = ("bank", "guarantor", "reguarantor", "fund", "bureau")


ALIASES = {"/early-warning/runs/{run_id}": "/early-warning/runs/{ew_run_id}",
           "/stress-runs/{run_id}": "/stress-runs/{stress_run_id}"}


def _alias(path: str) -> str:
    """Paths whose parameter name is shared by two domains (``run_id``) get a distinct one here."""
    for a, b in ALIASES.items():
        path = path.replace(a, b)
    return path


def _unalias(path: str) -> str:
    for a, b in ALIASES.items():
        path = path.replace(b, a)
    return path


def _routes(app: Any) -> set[tuple[str, str]]:
    spec = app.openapi()
    return {(m.upper(), _alias(p.removeprefix(V1))) for p, ops in spec["paths"].items() for m in ops}


def test_every_route_declares_a_tenancy_policy(app: Any) -> None:
    routes = _routes(app)
    assert sorted(routes - POLICY.keys()) == [], "declare a tenancy policy for the new route(s) in POLICY"
    assert sorted(POLICY.keys() - routes) == [], "POLICY names routes that no longer exist"


@pytest.fixture
def world(client: Any, make_user: Any, engine: Any) -> dict[str, Any]:
    """Organisation A's objects, with unique markers, and B's users of every kind and role."""
    mark = uuid.uuid4().hex[:10]
    mk = make_user
    bank = mk("bank", "officer", region_code="500100")
    bank_checker = mk(bank.org, "approver")
    guarantor = mk("guarantor", "officer")
    reguarantor = mk("reguarantor", "officer")
    fund = mk("fund", "approver")
    fund_maker = mk(fund.org, "officer")
    admin = mk("admin", "approver")
    h = bank.headers
    borrower = client.post(f"{V1}/borrowers", json=borrower_body(name=f"甲方借款人{mark}"), headers=h)
    assert borrower.status_code == 201, borrower.text
    asset_body = ip_asset_body(borrower.json()["id"], title=f"甲方专利{mark}")
    asset = client.post(f"{V1}/ip-assets", json=asset_body, headers=h)
    assert asset.status_code == 201, asset.text
    loan = client.post(f"{V1}/loans", json=loan_body(borrower.json()["id"], [asset.json()["id"]],
                                                     guarantor_org_id=guarantor.org.id,
                                                     guarantee_fee_rate="0.012"), headers=h)
    assert loan.status_code == 201, loan.text
    ids: dict[str, Any] = {"borrower_id": borrower.json()["id"], "asset_id": asset.json()["id"],
                           "loan_id": loan.json()["id"], "org_id": bank.org.id, "user_id": bank.id}
    # a pool and a deal with a run
    from securitization.deal import reference_deals

    nanshan = json.loads(reference_deals()["nanshan_gaoxintou_ip_5_2022"].read_text(encoding="utf-8"))
    pool = client.post(f"{V1}/pools", json={"name": f"甲方资产池{mark}", "assets": nanshan.pop("pool")}, headers=h)
    assert pool.status_code == 201, pool.text
    deal = client.post(f"{V1}/deals", json={"pool_id": pool.json()["id"], "structure": nanshan}, headers=h)
    assert deal.status_code == 201, deal.text
    run = client.post(f"{V1}/deals/{deal.json()['id']}/runs", json={"mode": "deterministic"}, headers=h)
    assert run.status_code in (200, 201), run.text
    ids |= {"pool_id": pool.json()["id"], "deal_id": deal.json()["id"], "run_id": run.json()["id"]}
    # a valuation of the asset
    from tests.valuation.test_api_valuations import body as valuation_body

    vbody = valuation_body(paths=2000, ip_asset_id=ids["asset_id"])
    vbody["asset"] |= {"identifier": asset.json()["identifier"], "filing_date": asset_body["filing_date"],
                       "grant_date": asset_body["grant_date"]}
    val = client.post(f"{V1}/valuations", json=vbody, headers=h)
    assert val.status_code == 201, val.text
    ids["valuation_id"] = val.json()["id"]
    # a background job (monitoring) of A's bank
    job = client.post(f"{V1}/pledge/monitoring/run", json={"background": True}, headers=h)
    assert job.status_code == 202, job.text
    ids["job_id"] = job.json()["job_id"]
    # a rule family administered by A's fund, with a proposed change
    fam = client.post(f"{V1}/risk-rules", json=preset_body("chongqing-4222", effective_from="2021-01-01"),
                      headers=admin.headers)
    assert fam.status_code == 201, fam.text
    rule_id = fam.json()["rule_id"]
    own = client.post(f"{V1}/risk-rules", json=preset_body("guangzhou-fund-2023", effective_from="2021-01-01"),
                      headers=fund_maker.headers)
    assert own.status_code == 201, own.text
    change = client.put(f"{V1}/risk-schemes/{own.json()['rule_id']}", json={"covered_loans_cny": "100000000.00"},
                        headers=fund_maker.headers)
    assert change.status_code == 202, change.text
    ids |= {"rule_id": own.json()["rule_id"], "rule_row_id": fam.json()["id"], "change_id": change.json()["id"],
            "name": "chongqing-4222", "party_key": "reguarantor"}
    # a claim of A's parties on the defaulted loan
    from sqlmodel import Session

    from api.pledge.models import Loan

    with Session(engine) as s:
        row = s.get(Loan, ids["loan_id"])
        row.status, row.default_date, row.outstanding_fen = "default", date(2025, 9, 1), row.amount_fen  # type: ignore
        s.add(row)
        s.commit()
    claim = client.post(f"{V1}/claims", json={
        "rule_id": rule_id, "loan_id": ids["loan_id"], "default_date": "2025-09-01",
        "outstanding_principal_cny": "4000000.00", "documents": ["loan_contract", "default_notice"],
        "party_orgs": {"reguarantor": reguarantor.org.id, "nfgf": fund.org.id}}, headers=h)
    assert claim.status_code == 201, claim.text
    ids["claim_id"] = claim.json()["id"]
    # a subsidy application of A's bank on its loan (appraisal fee recorded), paid by A's fund
    prog = client.post(f"{V1}/risk-rules", json=preset_body("loan-guarantee-insurance"), headers=admin.headers)
    assert prog.status_code == 201, prog.text
    with Session(engine) as s:
        row = s.get(Loan, ids["loan_id"])
        row.appraisal_fee_fen = 1_000_000  # type: ignore[union-attr]
        s.add(row)
        s.commit()
    sub = client.post(f"{V1}/subsidy-applications", json={
        "rule_id": prog.json()["rule_id"], "subsidy_key": "appraisal_subsidy", "loan_id": ids["loan_id"],
        "payer_org_id": fund.org.id}, headers=h)
    assert sub.status_code == 201, sub.text
    ids["application_id"] = sub.json()["id"]
    bank_checker_h = bank_checker.headers
    prod = client.post(f"{V1}/pledge/products", json={"code": f"P{mark}", "name": "知识产权质押贷",
                                                      "fixed_rate": "0.045"}, headers=bank_checker_h)
    assert prod.status_code == 201, prod.text
    tx = client.post(f"{V1}/ip-transactions", json={
        "ref": f"TX-{mark}", "kind": "sale", "price_cny": "1000000.00", "transaction_date": "2025-06-01",
        "ip_type": "invention_patent", "ipc_or_nice_class": "H01M 10/0525", "industry": "C", "region_code": "500100",
        "pricing_method": "agreement", "trading_mode": "agreement", "remaining_life_years": 10}, headers=h)
    assert tx.status_code == 201, tx.text
    ids |= {"product_id": prod.json()["id"], "transaction_id": tx.json()["id"], "request_id": 1,
            "year": date.today().year, "day": f"{date.today().year + 1}-01-02"}
    defaulted_loan(client, engine, h, status="active")  # a live loan to score and stress
    ew = client.post(f"{V1}/early-warning/runs", json={}, headers=h)
    assert ew.status_code == 201, ew.text
    st = client.post(f"{V1}/stress-runs", json={"scenario": "sector_downturn"}, headers=h)
    assert st.status_code == 201, st.text
    ids |= {"ew_run_id": ew.json()["id"], "stress_run_id": st.json()["id"]}
    markers = [mark, loan.json()["reference"], borrower.json()["credit_code"], asset.json()["identifier"]]
    foreign = {}
    for kind in FOREIGN_KINDS:
        region = "330000" if kind == "bureau" else None
        officer = mk(kind, "officer", region_code=region)
        foreign[f"{kind}:officer"] = officer
        foreign[f"{kind}:approver"] = mk(officer.org, "approver")
    # A's own bureau in another province is "foreign" too: the loan is in Chongqing
    return {"ids": ids, "markers": markers, "foreign": foreign, "admin": admin, "bank": bank,
            "bank_checker": bank_checker}


def _example_body(app: Any, method: str, path: str) -> Any:
    op = app.openapi()["paths"][V1 + _unalias(path)][method.lower()]
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
    if "example" in content:
        return content["example"]
    examples = content.get("examples") or (content.get("schema") or {}).get("examples")
    if isinstance(examples, dict) and examples:
        return next(iter(examples.values())).get("value", {})
    if isinstance(examples, list) and examples:
        return examples[0]
    return {} if "requestBody" in op else None


def _fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def _call(client: Any, method: str, url: str, headers: dict[str, str], body: Any) -> Any:
    if method == "GET":
        return client.get(url, headers=headers)
    return client.request(method, url, json=body, headers=headers)


def test_no_route_lets_another_organisation_see_or_touch_a_s_objects(
    app: Any, client: Any, world: dict[str, Any]
) -> None:
    ids, markers = world["ids"], world["markers"]
    _the_owner_does_see_its_objects(client, world)
    leaks: list[str] = []
    cells: Counter[str] = Counter()
    for (method, path), policy in sorted(POLICY.items()):
        if policy in ("public", "self", "shared", "own"):
            continue
        url = V1 + _fill(path, ids)
        body = _example_body(app, method, path)
        for who, actor in world["foreign"].items():
            r = _call(client, method, url, actor.headers, body)
            cells[policy] += 1
            if r.status_code >= 500:
                leaks.append(f"{method} {path} as {who}: {r.status_code} server error")
            elif policy in ("object", "admin") and 200 <= r.status_code < 300:
                leaks.append(f"{method} {path} as {who}: {r.status_code} {r.text[:120]}")
            elif policy == "admin" and r.status_code != 403:
                leaks.append(f"{method} {path} as {who}: {r.status_code}, expected 403")
            elif policy == "list" and any(m in r.text for m in markers):
                leaks.append(f"{method} {path} as {who}: shows organisation A's data")
    print(f"tenancy cells tested: {dict(cells)}; leaks: {len(leaks)}")
    assert leaks == []
    assert sum(cells.values()) >= 8 * len(world["foreign"])


def _the_owner_does_see_its_objects(client: Any, world: dict[str, Any]) -> None:
    """The matrix can fail: A's own bank reads what B may not (so a 404 everywhere would be caught)."""
    ids, h = world["ids"], world["bank"].headers
    for path in ("/loans/{loan_id}", "/borrowers/{borrower_id}", "/ip-assets/{asset_id}", "/pools/{pool_id}",
                 "/deals/{deal_id}", "/valuations/{valuation_id}", "/claims/{claim_id}",
                 "/subsidy-applications/{application_id}"):
        r = client.get(V1 + _fill(path, ids), headers=h)
        assert r.status_code == 200, (path, r.text)
    loans = client.get(f"{V1}/loans", headers=h)
    assert world["markers"][1] in loans.text
