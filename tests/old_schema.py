"""SQLite files of an older schema version, for the tests of a migration."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracker.store.schema import MIGRATIONS, migration
from tracker.store.sqlite import SqliteDialect

__all__ = ["OLD_RUN", "migration_that", "sqlite_file_at"]

OLD_RUN: Mapping[str, Any] = {
    "run_id": "old", "project": "p", "name": "old", "status": "finished", "started_at": 1.0,
}  # fmt: skip
"""A finished run as an older file holds it."""


def migration_that(does: str) -> int:
    """The first migration one of whose statements contains ``does``
    (``CREATE TABLE evaluations``): the version a file before it is at."""
    return next(i for i, steps in enumerate(MIGRATIONS) if any(does in s for s in steps))


def sqlite_file_at(
    path: Path, version: int, runs: Sequence[Mapping[str, Any]] = (OLD_RUN,)
) -> Path:
    """A SQLite store file at schema ``version`` (the migrations before it run, as the
    tracker of that version left it) holding ``runs`` (each a ``runs`` row by column)."""
    db = sqlite3.connect(path)
    for step in range(version):
        for statement in migration(step, SqliteDialect.types):
            db.execute(statement)
    for run in runs:
        columns, marks = ", ".join(run), ", ".join("?" * len(run))
        db.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(run.values()))
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()
    return path
