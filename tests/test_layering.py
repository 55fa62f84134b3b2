"""Imports run one way (DESIGN.md §5): the core imports nothing of ours, the domains import the
core (and the few domains listed for them), the API imports domains and core, the dashboard reads
through the API's services, and the application on top (server and command line) may import all.

The test parses every module's imports (top level and inside functions) and fails on a forbidden
direction, naming the module and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("ipfin", "valuation", "pledge", "risk_sharing", "securitization", "api", "dashboard", "ipfin_app")
DOMAINS = ("valuation", "pledge", "risk_sharing", "securitization")

# package → the packages of ours it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "ipfin": set(),
    "valuation": {"ipfin"},
    "pledge": {"ipfin", "valuation"},  # collateral types and their statutory terms
    "risk_sharing": {"ipfin", "pledge", "valuation", "securitization"},  # rule-cost simulator reuses the engines
    "securitization": {"ipfin"},
    "api": {"ipfin", *DOMAINS},
    "dashboard": {"ipfin", "api", *DOMAINS},
    "ipfin_app": set(OURS),
}

# What of api/ the dashboard may use: services and read models, never tables or sessions of its own.
DASHBOARD_API_MODULES = ("api.core.", "api.stats.", "api.identity.service", "api.identity.models")
DASHBOARD_API_SUFFIXES = (".service", ".reports", ".schemas")
DASHBOARD_FORBIDDEN = ("sqlalchemy", "sqlmodel")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def violations(package: str) -> list[str]:
    bad = []
    for path in _modules(package):
        rel = path.relative_to(ROOT)
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in OURS and top != package and top not in ALLOWED[package]:
                bad.append(f"{rel}:{line} imports {name}")
            if package == "dashboard":
                if top in DASHBOARD_FORBIDDEN:
                    bad.append(f"{rel}:{line} queries the database itself ({name}); use an api service")
                if top == "api" and name.count(".") >= 2 and not (
                    name.startswith(DASHBOARD_API_MODULES)
                    or any(s in name for s in DASHBOARD_API_SUFFIXES)
                ):
                    bad.append(f"{rel}:{line} imports {name}; the dashboard reads through api services")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_one_way(package: str) -> None:
    assert violations(package) == []


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The test itself can fail: a domain module importing the API is reported."""
    pkg = tmp_path / "pledge"
    pkg.mkdir()
    (pkg / "bad.py").write_text("def f():\n    from api.pledge import service\n", encoding="utf-8")
    globals()["ROOT"], old = tmp_path, ROOT
    try:
        assert violations("pledge") == [
            "pledge/bad.py:2 imports api.pledge",
            "pledge/bad.py:2 imports api.pledge.service",
        ]
    finally:
        globals()["ROOT"] = old


def test_no_service_module_is_too_long_without_saying_why() -> None:
    """Modules stay under ~600 lines unless their docstring gives the reason (``Long because``)."""
    long = []
    for package in OURS:
        for path in _modules(package):
            text = path.read_text(encoding="utf-8")
            if text.count("\n") > 600 and "Long because" not in (ast.get_docstring(ast.parse(text)) or ""):
                long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert long == []


def test_no_service_function_is_longer_than_80_lines() -> None:
    """Service glue stays readable: no function in api/*/service*.py or the valuation engine above 80 lines."""
    paths = [*sorted((ROOT / "api").rglob("service.py")), ROOT / "valuation" / "engine.py"]
    long = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 80:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} is {n} lines")
    assert long == []
