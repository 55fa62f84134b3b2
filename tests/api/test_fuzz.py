"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis).

Every operation gets valid and invalid requests (positive and negative generation), as a bank
officer and as an admin; the answers must contain no server error (5xx) and must conform to the
document: a documented status code, the documented content type and the documented schema.
Deterministic (derandomized). ``IPFIN_FUZZ_EXAMPLES`` sets the examples per operation, mode and
actor (default 2: about two minutes on a loaded 2-core machine, on SQLite as on PostgreSQL);
``make fuzz`` runs it with more. It runs against a database of its own, since an admin fuzzer
changes global things (the pledge policy, users): a SQLite file, or in the PostgreSQL pass
(``pytest -m db`` under ``.ci/with-postgres.sh``) a throw-away database on the same PostgreSQL
server, created, migrated and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

pytestmark = [pytest.mark.slow, pytest.mark.db]  # a database of its own, of the kind the pass tests

import schemathesis  # noqa: E402  (the dev extra)
from schemathesis.core.failures import FailureGroup  # noqa: E402

EXAMPLES = int(os.environ.get("IPFIN_FUZZ_EXAMPLES", "2"))
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")


@pytest.fixture
def fuzz_database(engine: Any, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh database for the fuzzer, of the test database's kind: a SQLite file, or a new
    database on the same PostgreSQL server (dropped afterwards, with any connection left to it)."""
    if engine.dialect.name != "postgresql":
        yield f"sqlite:///{tmp_path / 'fuzz.db'}"
        return
    name = f"ipfin_fuzz_{uuid.uuid4().hex[:10]}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fuzz_app(engine: Any, fuzz_database: str) -> Any:
    """The API on the fuzzer's fresh, migrated database, with an officer and an admin; the test DB is restored after."""
    from sqlmodel import Session

    from api.core.db import get_engine, make_engine, set_engine, upgrade
    from api.core.security import create_access_token, hash_password
    from api.identity.models import Organisation, User
    from api.main import create_app

    previous = get_engine()
    fuzz_engine = make_engine(fuzz_database)
    upgrade(fuzz_engine)
    import api.core.db as db

    db._engine = fuzz_engine  # swap without disposing the test database's engine
    tokens = {}
    with Session(fuzz_engine) as s:
        for kind in ("bank", "admin"):
            org = Organisation(name=f"fuzz {kind}", kind=kind, region_code="500100" if kind == "bank" else None)
            s.add(org)
            s.flush()
            user = User(email=f"{kind}@fuzz.ipfin", role="officer", hashed_password=hash_password("fuzz password 1"),
                        organisation_id=org.id)  # type: ignore[arg-type]
            s.add(user)
            s.commit()
            tokens[kind] = create_access_token(user.id)[0]  # type: ignore[arg-type]
    try:
        yield create_app(migrate=False), tokens, fuzz_engine.dialect.name
    finally:
        db._engine = previous
        set_engine(previous)
        fuzz_engine.dispose()


def _fuzz(strategy: Any, actor: str, token: str, checks: list[Any], requests: Counter[str],
          failures: list[str]) -> None:
    """Run ``EXAMPLES`` generated cases of one operation as one actor, counting answers and failed checks."""
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        requests[str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (Exception, FailureGroup) as exc:  # a check failure: collect them all
            failures.append(f"{actor} {case.method} {case.formatted_path} {response.status_code}: {str(exc)[:600]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, negative mode)
        run()


def test_the_api_survives_fuzzing_and_keeps_its_documented_contract(fuzz_app: Any) -> None:
    from schemathesis import GenerationMode
    from schemathesis.checks import load_all_checks

    load_all_checks()
    import schemathesis.checks as sc

    app, tokens, dialect = fuzz_app
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checks = [getattr(sc, name) for name in CHECKS]
    requests: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    operations = [r.ok() for r in schema.get_all_operations()]
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for actor, token in tokens.items():
                _fuzz(op.as_strategy(generation_mode=mode), actor, token, checks, requests, failures)
    total = sum(requests.values())
    server_errors = sum(n for code, n in requests.items() if code.startswith("5"))
    print(f"\nfuzz on {dialect} ({EXAMPLES} examples): {len(operations)} operations, {total} requests in "
          f"{time.monotonic() - started:.0f} s, {server_errors} server errors, {len(failures)} check failures; "
          f"statuses {dict(sorted(requests.items()))}")
    for f in failures[:40]:
        print("  " + f.replace("\n", " | "))
    assert total >= len(operations)
    assert server_errors == 0
    assert failures == []
