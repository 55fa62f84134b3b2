"""The v1 API router: every domain's routes, in the order their paths must be matched.

Every route gets the error contract documented (:data:`api.core.errors.ERROR_RESPONSES`) and the
strict parameter check (:func:`api.core.deps.strict_params`) in front of it.

FastAPI (≥ 0.16x) matches included routers lazily, trying every route of every router in turn: a
request for ``/stats/overview`` tried about 250 path patterns before its own. Each domain router is
therefore included behind a :class:`_SegmentRouter` that answers "no match" at once for a path whose
first segment after ``/api/v1`` none of its routes has (a set lookup instead of a regex per route).
"""

from typing import Any

from fastapi import APIRouter, Depends
from starlette.routing import Match
from starlette.types import Scope

from api.audit import routes as audit
from api.core import routes as core
from api.core.config import get_settings
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



class _SegmentRouter(APIRouter):
    """One domain router, reached only by paths whose first segment after ``base`` it serves."""

    def __init__(self, inner: APIRouter, base: str, **include: Any) -> None:
        super().__init__()
        self.base = base.rstrip("/") + "/"
        self.segments = frozenset(getattr(r, "path", "/").split("/")[1] for r in inner.routes)
        if any(not seg or "{" in seg for seg in self.segments):
            raise ValueError(f"routes of {inner.prefix or 'a router'}: a first path segment must be fixed text")
        self.include_router(inner, **include)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if not path.startswith(self.base) or path[len(self.base):].split("/", 1)[0] not in self.segments:
            return Match.NONE, {}
        return super().matches(scope)


api_router = APIRouter()
for _router in ROUTERS:
    api_router.include_router(_SegmentRouter(_router, get_settings().api_v1_str, responses=ERROR_RESPONSES,
                                             dependencies=[Depends(strict_params)]))
