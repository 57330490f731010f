"""The embedded default store: one SQLite file in WAL mode (``sqlite:///PATH``).

Several processes and runs may write to one file at once: each process has its own
connection, writes are short transactions, and a busy database is waited for (30 s).
See `tracker.store.schema` for the layout.
"""

from __future__ import annotations

import json
import math
import operator
import sqlite3
import sys
import threading
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracker.records import Event, MetricBatch, RunRecord, RunStatus, Series, effective_status
from tracker.store.base import HISTORY_CHUNK, History, MetricStats, RunNotFoundError, StoreError
from tracker.store.memory import chunks, in_step_order
from tracker.store.schema import CHUNK_POINTS, MIGRATIONS, SCHEMA_VERSION
from tracker.values import deep_merge

__all__ = ["SqliteStore", "path_from_uri"]

_BUSY_TIMEOUT_S = 30.0
_CHUNK_ROWS_PER_PAGE = max(1, HISTORY_CHUNK // CHUNK_POINTS)
_RUN_COLUMNS = (
    "run_id, project, name, status, framework, tags, config, summary, environment, error, "
    "started_at, ended_at, heartbeat_at, heartbeat_interval"
)


def path_from_uri(uri: str) -> Path:
    """The file of ``sqlite:///relative.db``, ``sqlite:////abs.db`` or a plain path."""
    if uri.startswith("sqlite://"):
        rest = uri[len("sqlite://") :]
        if not rest.startswith("/"):
            raise StoreError(f"bad SQLite URI {uri!r}: write sqlite:///path/to/file.db")
        rest = rest[1:]
        return Path(rest or "tracker.db")
    return Path(uri)


def _pack(values: array[Any]) -> bytes:
    if sys.byteorder != "little":  # pragma: no cover - no big-endian machine here
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _unpack(typecode: str, blobs: Sequence[bytes]) -> array[Any]:
    out: array[Any] = array(typecode)
    for blob in blobs:
        out.frombytes(blob)
    if sys.byteorder != "little":  # pragma: no cover
        out.byteswap()
    return out


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


class _Tail:
    """The last, still growing chunk of one metric of one run."""

    __slots__ = ("seq", "series")

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.series = Series()


class SqliteStore:
    """The SQLite store. Open with `tracker.open_store` or ``SqliteStore(path)``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.uri = f"sqlite:///{self.path}"
        self._lock = threading.RLock()
        self._tails: dict[tuple[str, str], _Tail] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from exc

    @classmethod
    def from_uri(cls, uri: str) -> SqliteStore:
        """Open ``sqlite:///PATH``."""
        return cls(path_from_uri(uri))

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this tracker "
                f"({SCHEMA_VERSION}): upgrade tracker to read it"
            )
        if version == SCHEMA_VERSION:
            return
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process won?
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------
    def start_run(self, run: RunRecord, *, resume: bool) -> None:
        """Create the run, or on resume continue the existing one of that id."""
        with self._transaction() as db:
            row = db.execute("SELECT tags FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
            if row is not None and resume:
                tags = sorted(set(json.loads(row[0])) | set(run.tags))
                db.execute(
                    "UPDATE runs SET status = ?, ended_at = NULL, error = NULL, tags = ?, "
                    "environment = ?, heartbeat_at = ?, heartbeat_interval = ?, "
                    "framework = COALESCE(?, framework) WHERE run_id = ?",
                    (
                        RunStatus.RUNNING.value,
                        json.dumps(tags),
                        json.dumps(run.environment),
                        run.heartbeat_at,
                        run.heartbeat_interval,
                        run.framework,
                        run.run_id,
                    ),
                )
            else:
                if row is not None:
                    self._delete(db, run.run_id)
                tags = sorted(set(run.tags))
                db.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 14)})",
                    (
                        run.run_id,
                        run.project,
                        run.name,
                        run.status,
                        run.framework,
                        json.dumps(tags),
                        json.dumps(run.config),
                        json.dumps(run.summary),
                        json.dumps(run.environment),
                        run.error,
                        run.started_at,
                        run.ended_at,
                        run.heartbeat_at,
                        run.heartbeat_interval,
                    ),
                )
            db.executemany(
                "INSERT INTO run_tags (run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(run.run_id, tag) for tag in tags],
            )

    def _merge_json(self, run_id: str, column: str, update: dict[str, Any]) -> None:
        with self._transaction() as db:
            row = db.execute(f"SELECT {column} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}")
            merged = deep_merge(json.loads(row[0]), update)
            db.execute(
                f"UPDATE runs SET {column} = ? WHERE run_id = ?", (json.dumps(merged), run_id)
            )

    def log_config(self, run_id: str, config: dict[str, Any]) -> None:
        """Merge into the run's config."""
        self._merge_json(run_id, "config", config)

    def log_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Merge into the run's summary."""
        self._merge_json(run_id, "summary", summary)

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        """Append points: each metric's growing last chunk is rewritten, full ones sealed."""
        with self._transaction() as db:
            for key, series in batch.series.items():
                if series.steps:
                    self._append(db, run_id, key, series)

    def _append(self, db: sqlite3.Connection, run_id: str, key: str, new: Series) -> None:
        tail = self._tails.get((run_id, key))
        if tail is None:
            row = db.execute(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM metric_chunks WHERE run_id = ? AND key = ?",
                (run_id, key),
            ).fetchone()
            tail = self._tails[(run_id, key)] = _Tail(row[0])
        series = tail.series
        series.steps.extend(new.steps)
        series.values.extend(new.values)
        series.times.extend(new.times)
        while len(series) >= CHUNK_POINTS:
            self._write_chunk(db, run_id, key, tail.seq, series, CHUNK_POINTS)
            del series.steps[:CHUNK_POINTS], series.values[:CHUNK_POINTS]
            del series.times[:CHUNK_POINTS]
            tail.seq += 1
        if series.steps:
            self._write_chunk(db, run_id, key, tail.seq, series, len(series))
        self._update_stats(db, run_id, key, new)

    @staticmethod
    def _write_chunk(
        db: sqlite3.Connection, run_id: str, key: str, seq: int, series: Series, n: int
    ) -> None:
        steps = series.steps[:n]
        ordered = all(map(operator.lt, steps, steps[1:]))
        db.execute(
            "INSERT INTO metric_chunks (run_id, key, seq, n, step_min, step_max, ordered, "
            "steps, vals, times) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, key, seq) DO UPDATE SET n = excluded.n, "
            "step_min = excluded.step_min, step_max = excluded.step_max, "
            "ordered = excluded.ordered, steps = excluded.steps, vals = excluded.vals, "
            "times = excluded.times",
            (
                run_id,
                key,
                seq,
                n,
                min(steps),
                max(steps),
                int(ordered),
                _pack(steps),
                _pack(series.values[:n]),
                _pack(series.times[:n]),
            ),
        )

    @staticmethod
    def _update_stats(db: sqlite3.Connection, run_id: str, key: str, new: Series) -> None:
        lo, hi = min(new.values), max(new.values)
        if math.isnan(lo) or math.isnan(hi):  # a leading NaN poisons min/max: drop NaNs
            finite = [v for v in new.values if not math.isnan(v)]
            lo, hi = (min(finite), max(finite)) if finite else (math.nan, math.nan)
        db.execute(
            "INSERT INTO metrics (run_id, key, count, last_step, last_value, last_time, "
            "min_value, max_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET count = metrics.count + excluded.count, "
            "last_step = excluded.last_step, last_value = excluded.last_value, "
            "last_time = excluded.last_time, "
            "min_value = CASE WHEN metrics.min_value IS NULL OR excluded.min_value < "
            "metrics.min_value THEN excluded.min_value ELSE metrics.min_value END, "
            "max_value = CASE WHEN metrics.max_value IS NULL OR excluded.max_value > "
            "metrics.max_value THEN excluded.max_value ELSE metrics.max_value END",
            (run_id, key, len(new), new.steps[-1], new.values[-1], new.times[-1], lo, hi),
        )

    def log_event(self, run_id: str, event: Event) -> None:
        """Append an event."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO events (run_id, kind, step, at, payload) VALUES (?, ?, ?, ?, ?)",
                (run_id, event.kind, event.step, event.at, json.dumps(event.payload)),
            )

    def heartbeat(self, run_id: str, at: float) -> None:
        """Record liveness."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (at, run_id))

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        """Record the end."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, ended_at = ?, error = ?, heartbeat_at = ? "
                "WHERE run_id = ?",
                (status, ended_at, error, ended_at, run_id),
            )
        for tail_key in [k for k in self._tails if k[0] == run_id]:
            del self._tails[tail_key]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    # -- reading -------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @staticmethod
    def _record(row: Sequence[Any]) -> RunRecord:
        record = RunRecord(
            run_id=row[0],
            project=row[1],
            name=row[2],
            status=row[3],
            framework=row[4],
            tags=json.loads(row[5]),
            config=json.loads(row[6]),
            summary=json.loads(row[7]),
            environment=json.loads(row[8]),
            error=row[9],
            started_at=row[10],
            ended_at=row[11],
            heartbeat_at=row[12],
            heartbeat_interval=row[13],
        )
        record.status = effective_status(
            record.status, record.heartbeat_at, record.heartbeat_interval
        )
        return record

    def runs(
        self,
        *,
        project: str | None = None,
        status: str | None = None,
        tags: Sequence[str] = (),
        framework: str | None = None,
        name_contains: str | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs matching every filter, newest first."""
        where, params = [], []
        if project is not None:
            where.append("project = ?")
            params.append(project)
        if status is not None:  # crashed and running are told apart after reading
            stored = RunStatus.RUNNING.value if status == RunStatus.CRASHED else status
            where.append("status = ?")
            params.append(stored)
        for tag in tags:
            where.append("run_id IN (SELECT run_id FROM run_tags WHERE tag = ?)")
            params.append(tag)
        if framework is not None:
            where.append("framework = ?")
            params.append(framework)
        if name_contains:
            where.append("instr(lower(name), lower(?)) > 0")
            params.append(name_contains)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC"
        exact = status is None or status not in (RunStatus.RUNNING, RunStatus.CRASHED)
        if limit is not None and exact:
            sql += f" LIMIT {int(limit)}"
        found = [self._record(row) for row in self._query(sql, params)]
        if not exact:
            found = [r for r in found if r.status == status]
        return found if limit is None else found[:limit]

    def get_run(self, run_id: str) -> RunRecord:
        """The run of this id."""
        rows = self._query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}")
        return self._record(rows[0])

    def find_runs(self, ref: str) -> list[RunRecord]:
        """Runs whose id is or starts with ``ref``, or whose name is ``ref``."""
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE substr(run_id, 1, ?) = ? OR name = ? "
            "ORDER BY started_at DESC",
            (len(ref), ref, ref),
        )
        return [self._record(row) for row in rows]

    def keys(self, run_id: str) -> list[str]:
        """Metric names, sorted."""
        rows = self._query("SELECT key FROM metrics WHERE run_id = ? ORDER BY key", (run_id,))
        return [row[0] for row in rows]

    def history(self, run_id: str, key: str, *, raw: bool = False) -> History:
        """Points in step order, last write per step wins (or all, in logging order)."""
        rows = self._chunk_rows(run_id, key)
        series = _series(rows)
        points = series.tuples()
        if raw or _increasing(rows):
            return points
        latest = {p[0]: p for p in points}
        return [latest[step] for step in sorted(latest)]

    def iter_history(self, run_id: str, key: str, *, raw: bool = False) -> Iterator[Series]:
        """`history` in column chunks, read a page of stored chunks at a time. Where a
        resume went back in steps, the points are ordered in memory first."""
        layout = self._query(
            "SELECT step_min, step_max, ordered FROM metric_chunks "
            "WHERE run_id = ? AND key = ? ORDER BY seq",
            (run_id, key),
        )
        if not raw and not _increasing(layout):
            yield from chunks(in_step_order(_series(self._chunk_rows(run_id, key))))
            return
        seq = -1
        while True:
            rows = self._chunk_rows(run_id, key, after=seq, limit=_CHUNK_ROWS_PER_PAGE)
            if not rows:
                return
            seq = rows[-1][6]
            yield _series(rows)

    def _chunk_rows(self, run_id: str, key: str, *, after: int = -1, limit: int = -1) -> list[Any]:
        """Stored chunks ``(step_min, step_max, ordered, steps, vals, times, seq)``."""
        return self._query(
            "SELECT step_min, step_max, ordered, steps, vals, times, seq FROM metric_chunks "
            "WHERE run_id = ? AND key = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, key, after, limit),
        )

    def metric_stats(self, run_id: str) -> dict[str, MetricStats]:
        """Count, last value and range per metric."""
        rows = self._query(
            "SELECT key, count, last_step, last_value, last_time, min_value, max_value "
            "FROM metrics WHERE run_id = ? ORDER BY key",
            (run_id,),
        )
        return {
            r[0]: MetricStats(r[1], r[2], _nan(r[3]), r[4], _nan(r[5]), _nan(r[6])) for r in rows
        }

    def events(self, run_id: str) -> list[Event]:
        """Events in order."""
        rows = self._query(
            "SELECT kind, at, step, payload FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def delete_run(self, run_id: str) -> None:
        """Remove the run and everything logged to it."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}")
            self._delete(db, run_id)

    @staticmethod
    def _delete(db: sqlite3.Connection, run_id: str) -> None:
        for table in ("metric_chunks", "metrics", "events", "run_tags", "runs"):
            db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))


def _series(rows: Sequence[Sequence[Any]]) -> Series:
    """The points of chunk rows ``(step_min, step_max, ordered, steps, vals, times, ...)``."""
    return Series(
        _unpack("q", [r[3] for r in rows]),
        _unpack("d", [r[4] for r in rows]),
        _unpack("d", [r[5] for r in rows]),
    )


def _increasing(rows: Sequence[Sequence[Any]]) -> bool:
    """Whether chunks (step_min, step_max, ordered, ...) hold strictly increasing steps."""
    last = None
    for step_min, step_max, ordered, *_ in rows:
        if not ordered or (last is not None and step_min <= last):
            return False
        last = step_max
    return True
