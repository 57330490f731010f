"""The embedded default store: one SQLite file in WAL mode (``sqlite:///PATH``).

Several processes and runs may write to one file at once: each process has its own
connection, writes are short transactions (``BEGIN IMMEDIATE``, so one writer at a time),
and a busy database is waited for (30 s). The file, and the folders the store creates for
it, are readable by their owner only. The store itself is `tracker.store.sql.SqlStore`;
this module is SQLite's dialect of it. See `tracker.store.schema` for the layout.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from tracker.store.base import StoreError
from tracker.store.sql import Db, Dialect, SqlStore

__all__ = ["SqliteDialect", "SqliteStore", "path_from_uri"]

_BUSY_TIMEOUT_S = 30.0


def path_from_uri(uri: str) -> str:
    """The file of ``sqlite:///relative.db``, ``sqlite:////abs.db`` or a plain path."""
    if uri.startswith("sqlite://"):
        rest = uri[len("sqlite://") :]
        if not rest.startswith("/"):
            raise StoreError(f"bad SQLite URI {uri!r}: write sqlite:///path/to/file.db")
        rest = rest[1:]
        return rest or "tracker.db"
    return uri


class SqliteDialect(Dialect):
    """SQLite: a file, ``?`` placeholders, the version in ``PRAGMA user_version``."""

    name = "SQLite"
    types: ClassVar[Mapping[str, str]] = {
        "int": "INTEGER",
        "float": "REAL",
        "blob": "BLOB",
        "serial": "INTEGER PRIMARY KEY",
    }
    for_update = ""  # BEGIN IMMEDIATE already holds the database's write lock
    instr = "instr"
    errors = (sqlite3.Error, OSError)
    infinity = "9e999"  # too large for a double: SQLite reads it as +inf
    # without statistics SQLite probes the primary key, then the row: 30 % slower
    by_path = " INDEXED BY run_values_by_path"

    def __init__(self, path: str) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        """Open the file (created owner-only), in WAL mode."""
        _create_private(self.path)
        db = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextmanager
    def transaction(self, connection: Any) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock is taken at the start."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def schema_version(self, db: Db) -> int:
        """``PRAGMA user_version``."""
        return int(db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, db: Db, version: int) -> None:
        """Set ``PRAGMA user_version``."""
        db.execute(f"PRAGMA user_version = {int(version)}")

    def lock_schema(self, db: Db) -> None:
        """Nothing: ``BEGIN IMMEDIATE`` keeps other writers out already."""


def _create_private(path: str) -> None:
    """Create the folders and the file that do not exist yet, for their owner only (the
    WAL and shared-memory files SQLite adds take the file's permissions)."""
    folder = os.path.dirname(os.path.abspath(path))
    missing = []
    while not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(created, 0o700)
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


class SqliteStore(SqlStore):
    """The SQLite store. Open with `tracker.open_store` or ``SqliteStore(path)``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.expanduser(os.fspath(path))
        super().__init__(f"sqlite:///{self.path}", SqliteDialect(self.path))

    @classmethod
    def from_uri(cls, uri: str) -> SqliteStore:
        """Open ``sqlite:///PATH``."""
        return cls(path_from_uri(uri))
