"""Fixtures of the headless-Chromium tests (``test_browser*.py``; the harness is ``browser_harness.py``):
one real server and one Chromium per test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard import browser_harness


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the module's own server (3,000 demo loans on a fresh SQLite file); its temporary
    directory is named after the module (``test_browser_bank`` → ``browser-bank``)."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    with browser_harness.running_server(tmp_path_factory, name) as base:
        yield base


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest, server: str) -> Iterator[Any]:
    """Headless Chromium at the module's ``WINDOW_SIZE`` (default ``browser_harness.WINDOW_SIZE``)."""
    with browser_harness.chromium(getattr(request.module, "WINDOW_SIZE", browser_harness.WINDOW_SIZE)) as driver:
        yield driver
