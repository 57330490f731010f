"""The PostgreSQL store's own promises: secrets kept out, libpq's ways to log in, a
newer schema refused, a read-only role, the extra named when psycopg is missing."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pg_server import PASSWORD, PostgresServer
from tracker import open_store
from tracker.records import RunRecord
from tracker.store import StoreError
from tracker.store.schema import SCHEMA_VERSION

LOG_PROCESS = str(Path(__file__).with_name("log_process.py"))


def test_the_password_is_in_no_uri_repr_or_error(pg: PostgresServer) -> None:
    """A password given in the URI works, and the store's uri, its repr and the error of
    a wrong password never show it."""
    store = open_store(pg.uri)
    assert PASSWORD not in store.uri and PASSWORD not in repr(store)
    assert store.uri == pg.uri_of("tracker", password=False)
    store.close()
    wrong = pg.uri.replace(PASSWORD, "not-the-pw-4711")
    with pytest.raises(StoreError) as caught:
        open_store(wrong)
    assert "not-the-pw-4711" not in str(caught.value)
    assert "password authentication failed" in str(caught.value)
    with pytest.raises(StoreError) as caught:
        open_store(pg.uri_of("tracker", password=False) + "?password=not-the-pw-4711")
    assert "not-the-pw-4711" not in str(caught.value)


def test_libpq_finds_the_password_itself(
    pg: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PGPASSWORD and a password file (~/.pgpass, here through PGPASSFILE) log in a URI
    that has no password."""
    uri = pg.uri_of("tracker", password=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(StoreError, match="password"):
        open_store(uri)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    open_store(uri).close()
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg.port}:tracker:tracker:{PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    assert open_store(uri).runs() == []


def test_a_run_logged_with_a_password_keeps_it_out_of_the_store_and_the_output(
    pg: PostgresServer,
) -> None:
    """TRACKER_URI with a password: nothing the run stored (record, environment, config,
    events) and nothing it printed contains the password."""
    pg.truncate()
    env = {**os.environ, "TRACKER_URI": pg.uri, "TRACKER_SYSTEM_INTERVAL": "0"}
    done = subprocess.run(
        [sys.executable, LOG_PROCESS, "secret", "0", "10", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert PASSWORD not in done.stdout + done.stderr
    ((stored,),) = pg.admin(
        "SELECT (SELECT string_agg(r::text, '') FROM runs r) || "
        "(SELECT coalesce(string_agg(e::text, ''), '') FROM events e)",
        database="tracker",
    )
    assert "secret" in stored
    assert PASSWORD not in stored


def test_a_database_of_a_newer_tracker_is_refused_with_advice(pg: PostgresServer) -> None:
    """A schema version above this tracker's raises a StoreError saying to upgrade."""
    uri = pg.create_database("newer")
    open_store(uri).close()
    assert pg.admin("SELECT version FROM tracker_schema", database="newer") == [(SCHEMA_VERSION,)]
    pg.admin(f"UPDATE tracker_schema SET version = {SCHEMA_VERSION + 1}", database="newer")
    with pytest.raises(StoreError, match="upgrade tracker"):
        open_store(uri)


def test_a_read_only_role_reads_and_cannot_write(pg: PostgresServer) -> None:
    """The read-only role lists and reads runs; a write is a StoreError, not a crash."""
    pg.truncate()
    writer = open_store(pg.uri)
    writer.start_run(RunRecord("ro", "p", "ro", started_at=1.0), resume=False)
    writer.close()
    pg.grant_reader()
    reader = open_store(pg.reader_uri)
    assert [r.run_id for r in reader.runs()] == ["ro"]
    with pytest.raises(StoreError, match="permission denied"):
        reader.start_run(RunRecord("ro2", "p", "ro2", started_at=2.0), resume=False)


def test_without_psycopg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where psycopg is not installed, the ImportError says `pip install 'tracker[postgres]'`."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "tracker.store.postgres", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'tracker\[postgres\]'"):
        importlib.import_module("tracker.store.postgres")


def test_a_lost_connection_is_replaced(pg: PostgresServer) -> None:
    """After its session was terminated, and after a server restart, the store reads at
    once and writes again from the next call on (the writer retries)."""
    pg.truncate()
    store = open_store(pg.uri)
    store.start_run(RunRecord("x", "p", "x", started_at=1.0), resume=False)
    for cut in (pg.terminate_backends, lambda: (pg.stop(), pg.start())):
        cut()
        assert [r.run_id for r in store.runs()] == ["x"]
    pg.terminate_backends()
    with pytest.raises(StoreError, match="connection"):
        store.log_config("x", {"a": 1})
    store.log_config("x", {"a": 1})
    assert store.get_run("x").config == {"a": 1}
