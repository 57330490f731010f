"""The SQLite store's own promises: WAL, schema versions, the chunked layout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tracker import CustomTracker, open_store
from tracker.store import StoreError
from tracker.store.schema import CHUNK_POINTS, SCHEMA_VERSION
from tracker.store.sqlite import SqliteStore


def test_a_new_file_is_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    """Opening creates the schema and records its version; journal mode is WAL."""
    SqliteStore(tmp_path / "t.db").close()
    db = sqlite3.connect(tmp_path / "t.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_file_from_a_newer_tracker_is_refused_with_advice(tmp_path: Path) -> None:
    """A schema newer than this tracker raises a StoreError saying to upgrade."""
    db = sqlite3.connect(tmp_path / "t.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="upgrade tracker"):
        SqliteStore(tmp_path / "t.db")


def test_points_are_stored_in_chunks(tmp_path: Path) -> None:
    """A long metric is a handful of rows of packed arrays, not a row per point."""
    uri = f"sqlite:///{tmp_path}/t.db"
    with CustomTracker(project="p", store=uri) as run:
        for step in range(5 * CHUNK_POINTS + 10):
            run.log_metrics({"loss": step}, step=step)
    rows = sqlite3.connect(tmp_path / "t.db").execute(
        "SELECT n FROM metric_chunks WHERE run_id = ? AND key = 'loss' ORDER BY seq", (run.run_id,)
    )
    assert [n for (n,) in rows] == [CHUNK_POINTS] * 5 + [10]
    assert len(open_store(uri).history(run.run_id, "loss")) == 5 * CHUNK_POINTS + 10


def test_bad_uris_say_how_to_write_them() -> None:
    """sqlite:// without the third slash is a clear error."""
    with pytest.raises(StoreError, match="sqlite:///path"):
        open_store("sqlite://relative.db")


def test_plain_paths_open_sqlite(tmp_path: Path) -> None:
    """A bare file path is an SQLite store."""
    store = open_store(str(tmp_path / "plain.db"))
    assert isinstance(store, SqliteStore)
