"""Every route is reached through its domain's first path segment (issue 17, API throughput).

:mod:`api.router` puts each domain router behind a check of the first path segment after
``/api/v1``, so a request is not matched against every pattern of every router. These tests pin
that nothing became unreachable and that misses still answer as before: every documented
operation is routed to its own handler, an unknown path is a 404 and a known path with another
method a 405.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter
from starlette.routing import Match

from api.router import _SegmentRouter

pytestmark = pytest.mark.db


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def test_every_documented_operation_reaches_a_handler(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operations = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    assert len(operations) > 100
    app = client.app
    for method, path in operations:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        route = next((r for r in app.routes if r.matches(_scope(method, concrete))[0] == Match.FULL), None)
        assert route is not None, (method, path)


def test_an_unknown_path_is_a_404_and_another_method_a_405(client: Any, make_user: Any) -> None:
    bank = make_user("bank")
    assert client.get("/api/v1/no-such-thing", headers=bank.headers).status_code == 404
    assert client.get("/api/v1/loans-but-not-quite", headers=bank.headers).status_code == 404
    assert client.delete("/api/v1/stats/overview", headers=bank.headers).status_code == 405


def test_a_router_whose_first_segment_is_a_parameter_is_refused() -> None:
    inner = APIRouter()
    inner.add_api_route("/{anything}", lambda anything: anything)
    with pytest.raises(ValueError, match="first path segment"):
        _SegmentRouter(inner, "/api/v1")
