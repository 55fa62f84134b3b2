"""Read results cached per data version: computed once, served again until any write is committed.

A bureau's overview costs tens of milliseconds of SQL and Python; eight clients asking for the same
figures on two cores queue behind each other (p99 in the hundreds of milliseconds) although nothing
changed between their requests. A time-based cache would serve stale money figures, so instead each
cached result is keyed by a **data version** that changes whenever any transaction commits a change to
the database, from any process (API workers, jobs, the command line, a SQL console):

- **PostgreSQL:** the transaction snapshot ``pg_current_snapshot()`` (PostgreSQL ≥ 13). Two
  snapshots with the same text see exactly the same committed data in every table: a writer takes a
  transaction id when it first writes (moving ``xmax``) and leaves the in-progress list when it ends.
  Reading it takes no lock and writes nothing, so writers never queue on it.
- **SQLite:** ``PRAGMA data_version`` read on a watcher connection that each process keeps per
  database file and never writes with: its value changes whenever any other connection commits a
  change, in this process or another (the per-connection pragma is blind only to a connection's own
  commits, and the watcher has none).

A result is stored under the version read *before* it is computed: if a write commits while it is
being computed, the result may be fresher than its key, but the next request reads a newer version and
misses. Each process keeps the results of the newest version only, at most :data:`MAX_ENTRIES`, so a
write frees them all; hits are counted for the benchmark and the tests. ``IPFIN_RESULT_CACHE=false``
computes every request (the benchmark's second row).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy.engine import Connection

from api.core.config import get_settings

MAX_ENTRIES = 256
"""Results kept per process for the current data version (oldest used dropped first)."""

_lock = threading.Lock()
_watchers: dict[str, tuple[int, sqlite3.Connection]] = {}  # SQLite: database file → (pid, watcher)
_version: Hashable = None
_entries: OrderedDict[Hashable, Any] = OrderedDict()
stats = {"hits": 0, "misses": 0}


def data_version(conn: Connection) -> Hashable | None:
    """A token equal for two reads exactly when no change was committed between them (see module); None
    inside a transaction that has written (its uncommitted rows must never be served to anyone else),
    for an in-memory SQLite database, or on another backend."""
    url = conn.engine.url  # hashable; rendering it as text on every request costs more than the rest
    if conn.dialect.name == "postgresql":
        snapshot, clean = conn.exec_driver_sql(
            "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned() IS NULL").one()
        return (url, snapshot) if clean else None
    path = conn.engine.url.database
    if (conn.dialect.name != "sqlite" or not path or path == ":memory:" or path.startswith("file:")
            or conn.connection.dbapi_connection.in_transaction):  # type: ignore[union-attr]
        return None  # pysqlite opens a transaction only before a write
    with _lock:
        watcher = _watchers.get(path)
        if watcher is None or watcher[0] != os.getpid():  # one per process: never shared across a fork
            watcher = _watchers[path] = (os.getpid(), sqlite3.connect(path, check_same_thread=False))
        return url, watcher[1].execute("PRAGMA data_version").fetchone()[0]


def cached(conn: Connection, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()``'s result for ``key`` at the current data version, computed at most once per version
    and process. ``key`` must hold everything else the result depends on (caller's scope, parameters,
    today's date)."""
    global _version
    version = data_version(conn) if get_settings().result_cache else None
    if version is None:
        return compute()
    with _lock:
        if version == _version and key in _entries:
            _entries.move_to_end(key)
            stats["hits"] += 1
            return _entries[key]
    value = compute()
    with _lock:
        stats["misses"] += 1
        if version != _version:
            _version = version
            _entries.clear()
        _entries[key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached result (tests that count the statements of a computation)."""
    global _version
    with _lock:
        _version = None
        _entries.clear()
