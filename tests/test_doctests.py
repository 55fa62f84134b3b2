"""The examples in the docstrings run (issue 15): every module of the domain packages and the core
is run through ``doctest``, so a documented example that stops working fails ``make test``."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

PACKAGES = ("ipfin", "valuation", "pledge", "risk_sharing", "securitization")


def _modules() -> list[str]:
    names = []
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        names.append(pkg_name)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg_name}.")]
    return sorted(names)


MODULES = _modules()


def _run(module: ModuleType) -> tuple[int, int, str]:
    import io

    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__):
        runner.run(test, out=out.write)
    return runner.failures, runner.tries, out.getvalue()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    failures, _, report = _run(importlib.import_module(name))
    assert failures == 0, report


def test_the_public_surfaces_have_examples() -> None:
    tried = {p: _run(importlib.import_module(p))[1] for p in PACKAGES if p != "ipfin"}
    assert all(n > 0 for n in tried.values()), tried
