"""The v1 API router: every domain's routes, in the order their paths must be matched.

Every route gets the error contract documented (:data:`api.core.errors.ERROR_RESPONSES`) and the
strict parameter check (:func:`api.core.deps.strict_params`) in front of it.
"""

from fastapi import APIRouter, Depends

from api.audit import routes as audit
from api.core import routes as core
from api.core.deps import strict_params
from api.core.errors import ERROR_RESPONSES
from api.early_warning import routes as early_warning
from api.identity import routes as identity
from api.jobs import routes as jobs
from api.pledge import products_routes as pledge_products
from api.pledge import routes as pledge
from api.risk_sharing import cost_routes as risk_sharing_cost
from api.risk_sharing import routes as risk_sharing
from api.risk_sharing import subsidy_routes as risk_sharing_subsidies
from api.securitization import routes as securitization
from api.stats import routes as stats
from api.transactions import routes as transactions
from api.valuation import routes as valuation

ROUTERS = (
    core.health_router,
    identity.auth_router,
    identity.users_router,
    identity.organisations_router,
    pledge.borrowers_router,
    pledge.ip_assets_router,
    pledge.loans_router,
    audit.router,
    jobs.router,
    core.static_router,
    valuation.router,
    pledge.router,
    pledge_products.router,
    risk_sharing.router,
    risk_sharing_cost.router,
    risk_sharing_subsidies.router,
    securitization.router,
    stats.router,
    early_warning.router,
    early_warning.stress_router,
    transactions.router,
)

api_router = APIRouter()
for _router in ROUTERS:
    api_router.include_router(_router, responses=ERROR_RESPONSES, dependencies=[Depends(strict_params)])
