"""The stores every test here runs on: each built-in one, PostgreSQL on a throwaway server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from pg_server import PostgresServer, pg  # noqa: E402, F401  (pg: the session's server)

BUILT_IN = ["sqlite", "jsonl", "memory", "postgres", "pgbouncer"]
"""Every built-in store; ``pgbouncer`` is PostgreSQL through PgBouncer in transaction mode."""


@pytest.fixture(params=BUILT_IN)
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URI of each built-in store, empty."""
    if request.param in ("postgres", "pgbouncer"):
        server: PostgresServer = request.getfixturevalue("pg")
        server.truncate()
        return server.uri if request.param == "postgres" else server.bouncer_uri
    return {
        "sqlite": f"sqlite:///{tmp_path}/t.db",
        "jsonl": f"jsonl:///{tmp_path}/runs",
        "memory": f"memory://store-{id(request)}",
    }[request.param]
