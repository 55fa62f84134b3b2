"""The v1 API router: every domain's routes, in the order their paths must be matched."""

from fastapi import APIRouter

from api.audit import routes as audit
from api.core import routes as core
from api.identity import routes as identity
from api.jobs import routes as jobs
from api.pledge import routes as pledge
from api.risk_sharing import routes as risk_sharing
from api.securitization import routes as securitization
from api.stats import routes as stats
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
    risk_sharing.router,
    securitization.router,
    stats.router,
)

api_router = APIRouter()
for _router in ROUTERS:
    api_router.include_router(_router)
