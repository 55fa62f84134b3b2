"""Helpers for the risk-sharing API tests: rule bodies, defaulted loans, claim bodies."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from api.pledge.models import Loan
from risk_sharing.presets import PRESET_DIR
from tests.factories import create_loan_via_api

TODAY = date.today()
DEFAULT = (TODAY - timedelta(days=200)).isoformat()  # 90 days overdue reached, within the 365-day window


def preset_body(name: str, **update: Any) -> dict[str, Any]:
    """A shipped preset as a rule body, under a fresh family id (tests share one database)."""
    d = json.loads((PRESET_DIR / f"{name}.json").read_text(encoding="utf-8"))
    d["id"] = f"{d['id']}-{uuid.uuid4().hex[:8]}"
    d.update(update)
    return d


def defaulted_loan(client: Any, engine: Any, headers: dict[str, str], *, default_date: str = DEFAULT,
                   status: str = "default", **loan_kw: Any) -> dict[str, Any]:
    """A loan created through the API and put straight into a pledge-workflow state (default by
    default), fully outstanding. The workflow itself is driven end to end in
    ``test_claim_on_a_loan_defaulted_through_the_pledge_workflow_and_recovery_from_its_disposal``."""
    loan = create_loan_via_api(client, headers, **loan_kw)
    with Session(engine) as s:
        row = s.get(Loan, loan["id"])
        assert row is not None
        row.status = status  # type: ignore[assignment]
        row.default_date = date.fromisoformat(default_date) if status != "active" else None
        row.outstanding_fen = row.amount_fen
        s.add(row)
        s.commit()
    return {**loan, "status": status}


def claim_body(s: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = {
        "rule_id": s["rule"]["rule_id"],
        "loan_id": s["loan"]["id"],
        "default_date": DEFAULT,
        "outstanding_principal_cny": "4000000.00",
        "documents": ["loan_contract", "default_notice"],
        "party_orgs": {"reguarantor": s["reguarantor"].org.id, "nfgf": s["fund"].org.id},
    }
    body.update(kw)
    return body


def sign_and_pay(client: Any, make_user: Any, engine: Any, claim_id: int, *, paid_on: str | None = None,
                 keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Every pending share (or those in ``keys``) proposed by a maker of its party, approved by a
    second user (approver) of it and paid: the per-payer flow. Returns the claim as last seen."""
    from api.identity.models import Organisation

    seen: dict[str, Any] = {}
    admin = make_user("admin", "approver")
    claim = client.get(f"/api/v1/claims/{claim_id}", headers=admin.headers).json()
    for p in claim["parties"]:
        if p["status"] != "pending" or (keys is not None and p["party_key"] not in keys):
            continue
        with Session(engine) as s:
            org = s.get(Organisation, p["org_id"])
        maker, checker = make_user(org, "officer"), make_user(org, "approver")
        url = f"/api/v1/claims/{claim_id}/shares/{p['party_key']}"
        for step, who, body in (("propose", maker, None), ("approve", checker, None),
                                ("pay", maker, {"paid_on": paid_on or TODAY.isoformat(),
                                                "reference": f"PAY-{claim_id}-{p['party_key']}"})):
            r = client.post(f"{url}/{step}", json=body, headers=who.headers)
            assert r.status_code == 200, (p["party_key"], step, r.text)
            seen = r.json()
    return seen or claim
