"""The SQLite store's own promises: WAL, schema versions and migration, the chunked
layout, files for their owner only."""

from __future__ import annotations

import os
import sqlite3
import stat
from array import array
from pathlib import Path

import pytest

from tracker import CustomTracker, open_store
from tracker.records import MetricBatch, RunRecord, Series
from tracker.store import StoreError
from tracker.store.schema import CHUNK_POINTS, SCHEMA_VERSION, migration
from tracker.store.sqlite import SqliteDialect, SqliteStore


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


def test_the_file_and_its_new_folders_are_private(tmp_path: Path) -> None:
    """The folders the store creates are 0700, the file and its WAL and SHM files 0600."""
    old = os.umask(0o022)
    try:
        path = tmp_path / "team" / "nested" / "t.db"
        store = open_store(f"sqlite:///{path}")
        store.start_run(RunRecord("r", "p", "r", started_at=1.0), resume=False)
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode)
            for p in (path.parent.parent, path.parent, *path.parent.iterdir())
        }
        store.close()
    finally:
        os.umask(old)
    assert modes == {
        "team": 0o700,
        "nested": 0o700,
        "t.db": 0o600,
        "t.db-wal": 0o600,
        "t.db-shm": 0o600,
    }


def test_a_version_1_file_is_migrated_and_its_tail_continued(tmp_path: Path) -> None:
    """A file of schema 1 with a half-full last chunk opens at the current version, and
    new points fill that chunk before starting the next one."""
    path = tmp_path / "v1.db"
    db = sqlite3.connect(path)
    for statement in migration(0, SqliteDialect.types):
        db.execute(statement)
    db.execute("INSERT INTO runs (run_id, project, name, status, started_at) "
               "VALUES ('old', 'p', 'old', 'finished', 1.0)")  # fmt: skip
    steps = array("q", range(CHUNK_POINTS + 100))
    for seq, part in enumerate((steps[:CHUNK_POINTS], steps[CHUNK_POINTS:])):
        db.execute(
            "INSERT INTO metric_chunks VALUES ('old', 'm', ?, ?, ?, ?, 1, ?, ?, ?)",
            (seq, len(part), part[0], part[-1], part.tobytes(),
             array("d", map(float, part)).tobytes(), array("d", part).tobytes()),
        )  # fmt: skip
    last = float(steps[-1])
    db.execute(
        "INSERT INTO metrics VALUES ('old', 'm', ?, ?, ?, ?, 0, ?)",
        (len(steps), steps[-1], last, last, last),
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = SqliteStore(path)
    more = array("q", range(len(steps), 2 * CHUNK_POINTS + 10))
    store.log_metrics(
        "old", MetricBatch({"m": Series(more, array("d", map(float, more)), array("d", more))})
    )
    assert [s for s, _, _ in store.history("old", "m")] == list(range(2 * CHUNK_POINTS + 10))
    assert store.metric_stats("old")["m"].count == 2 * CHUNK_POINTS + 10
    rows = sqlite3.connect(path).execute("SELECT n FROM metric_chunks ORDER BY seq").fetchall()
    assert rows == [(CHUNK_POINTS,), (CHUNK_POINTS,), (10,)]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
