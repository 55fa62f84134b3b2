"""What a rule will cost each payer, and the break-even guarantee fee, on the caller's book or a tape.

``POST /rule-costs``: per party the expected payout, its 95/99/99.9% quantiles with standard errors, the
expected net cost after recoveries, the probability that each budget, balance or ceiling binds and the
year it first does; the insurer's premium and the subsidies' budgets when the rule has them.
``POST /guarantee-fees``: each party's break-even fee rate beside the rule's fee cap and the loans the cap
under-prices. Funds, re-guarantors, guarantors, bureaus and admins run them on the book they may see in
aggregate, a bank on its own loans (:mod:`api.risk_sharing.cost`). Large runs answer 202 with a job id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status

from api.core.deps import CurrentOrg, CurrentUser, SessionDep, require_role
from api.identity.models import OrgKind
from api.pledge.service import today
from api.risk_sharing import cost
from api.risk_sharing.cost import FeeRequest, RuleCostRequest

router = APIRouter(tags=["risk sharing"])

Payers = Depends(require_role(OrgKind.bank, OrgKind.guarantor, OrgKind.reguarantor, OrgKind.fund, OrgKind.bureau))

EXAMPLE = {"rule_id": "chongqing-4222", "book": {}, "years": 1, "n_paths": 500, "seed": 1}


def _answer(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: RuleCostRequest,
            response: Response) -> dict[str, Any]:
    rule, data = cost.prepare(session, org, body, today())
    if cost.is_large(data, body):
        response.status_code = status.HTTP_202_ACCEPTED
        return {"job_id": cost.submit_job(user, rule, data, body)}
    return cost.run(rule, data, body)


@router.post("/rule-costs", dependencies=[Payers],
             responses={202: {"description": "queued as a background job: {job_id}; poll GET /jobs/{job_id}"}},
             openapi_extra={"requestBody": {"content": {"application/json": {"example": EXAMPLE}}}})
def rule_costs(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: RuleCostRequest,
               response: Response) -> dict[str, Any]:
    """Simulate the rule on the book (module doc of :mod:`api.risk_sharing.cost` for how it is built)."""
    return _answer(session, user, org, body, response)


@router.post("/guarantee-fees", dependencies=[Payers],
             responses={202: {"description": "queued as a background job: {job_id}; poll GET /jobs/{job_id}"}},
             openapi_extra={"requestBody": {"content": {"application/json": {"example": EXAMPLE}}}})
def guarantee_fees(session: SessionDep, user: CurrentUser, org: CurrentOrg, body: FeeRequest,
                   response: Response) -> dict[str, Any]:
    """Break-even fee rate per party and in total over the fee parties, against the rule's fee cap."""
    return _answer(session, user, org, body, response)
