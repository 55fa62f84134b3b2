"""The v1 API router: core routes plus each domain's ``api/routes/<domain>.py`` when present."""

from importlib import import_module
from importlib.util import find_spec

from fastapi import APIRouter

from api.routes import audit_events, auth, borrowers, health, ip_assets, jobs, loans, organisations, static, users

DOMAIN_ROUTE_MODULES = ("valuations", "pledge", "risk_sharing", "securitization", "stats")

api_router = APIRouter()
for module in (health, auth, users, organisations, borrowers, ip_assets, loans, audit_events, jobs, static):
    api_router.include_router(module.router)
for name in DOMAIN_ROUTE_MODULES:
    if find_spec(f"api.routes.{name}") is not None:
        api_router.include_router(import_module(f"api.routes.{name}").router)
