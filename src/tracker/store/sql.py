"""The store of the SQL engines: one class, `SqlStore`, and the `Dialect` each engine gives it.

Everything a store does (runs, chunked metric rows, their statistics, events, reading
history back) is written once here, in SQL both SQLite and PostgreSQL accept, with ``?``
placeholders. What the engines spell differently is a `Dialect`: how to connect, the
placeholder style, column types, row locks, how a transaction is run and how the schema
version is kept. `tracker.store.sqlite` and `tracker.store.postgres` are a dialect each.

Writes are short transactions that hold no state between them, so any number of
processes may write to one database: an append reads where its metric's tail chunk is
(`tracker.store.schema`) inside its own transaction, and a batch that carries an identity
is stored at most once.
"""

from __future__ import annotations

import base64
import json
import math
import operator
import sys
import threading
from abc import ABC, abstractmethod
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from itertools import repeat
from typing import Any, ClassVar, NamedTuple

from tracker.records import (
    Artifact,
    ArtifactState,
    Evaluation,
    Event,
    MetricBatch,
    Row,
    RunRecord,
    RunStatus,
    Series,
    effective_status,
    paused_gc,
)
from tracker.store.base import (
    CREATED_HERE,
    HISTORY_CHUNK,
    ArtifactQuery,
    Blocks,
    EvaluationQuery,
    History,
    Linked,
    MetricStats,
    RunNotFoundError,
    RunQuery,
    StoreBase,
    StoreError,
    VersionScores,
    merge_artifact,
    placeholder_ident,
    started_concurrently,
)
from tracker.store.order import MISSING, RunOrder, sort_cells
from tracker.store.schema import CHUNK_POINTS, RUN_VALUES_MIGRATION, SCHEMA_VERSION, migration
from tracker.store.series import (
    BLOCK,
    blocks_of,
    chunks,
    finite_range,
    in_step_order,
    pack_blocks,
)

__all__ = ["Dialect", "SortTerms", "SqlStore"]

_CHUNK_ROWS_PER_PAGE = max(1, HISTORY_CHUNK // CHUNK_POINTS)
assert CHUNK_POINTS % BLOCK == 0, "a chunk holds whole blocks"
_RUNS_PER_QUERY = 500  # run ids bound in one `metric_stats_of` query
_SEEDS_PER_QUERY = 10_000  # run ids bound in one `linked_artifacts` query (SQLite: 32,766)
_RUN_COLUMNS = (
    "run_id, project, name, status, framework, tags, config, summary, environment, error, "
    "started_at, ended_at, heartbeat_at, heartbeat_interval, sweep"
)
_RUNS_RUN_COLUMNS = ", ".join(f"runs.{column.strip()}" for column in _RUN_COLUMNS.split(","))
_UPSERT_CHUNK = (
    "INSERT INTO metric_chunks (run_id, key, seq, n, step_min, step_max, ordered, "
    "steps, vals, times) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, key, seq) DO UPDATE SET n = excluded.n, "
    "step_min = excluded.step_min, step_max = excluded.step_max, "
    "ordered = excluded.ordered, steps = excluded.steps, vals = excluded.vals, "
    "times = excluded.times"
)
_UPSERT_BLOCKS = (
    "INSERT INTO chunk_blocks (run_id, key, seq, blocks) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (run_id, key, seq) DO UPDATE SET blocks = excluded.blocks"
)
_UPSERT_STATS = (
    "INSERT INTO metrics (run_id, key, count, last_step, last_value, last_time, "
    "min_value, max_value, tail_seq, tail_n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, key) DO UPDATE SET count = metrics.count + excluded.count, "
    "last_step = excluded.last_step, last_value = excluded.last_value, "
    "last_time = excluded.last_time, "
    "min_value = CASE WHEN metrics.min_value IS NULL OR excluded.min_value < "
    "metrics.min_value THEN excluded.min_value ELSE metrics.min_value END, "
    "max_value = CASE WHEN metrics.max_value IS NULL OR excluded.max_value > "
    "metrics.max_value THEN excluded.max_value ELSE metrics.max_value END, "
    "tail_seq = excluded.tail_seq, tail_n = excluded.tail_n"
)
_ARTIFACT_COLUMNS = (
    "run_id, name, version, kind, direction, uri, digest, size, files, step, metrics, "
    "state, best, created_at, meta"
)
_LINKED_RUNS = (  # `SqlStore.linked_artifacts`: {depth} is ", depth" with a limit, else ""
    "WITH RECURSIVE linked(run_id{depth}) AS ("
    "SELECT run_id{zero} FROM runs WHERE {seeds} "
    "UNION "  # not UNION ALL: a run reached again (a cycle) adds no row, or (with a depth)
    # none at a distance it had, and the distance is bounded: either way the walk ends
    "SELECT other.run_id{next} FROM linked "
    "JOIN artifacts mine ON mine.run_id = linked.run_id AND mine.direction = ? "
    "JOIN artifacts other ON other.direction = ? AND (other.digest = mine.digest "
    "OR (other.uri = mine.uri AND (other.digest IS NULL OR mine.digest IS NULL))){limit}) "
    "SELECT {columns}, runs.name, a.id FROM artifacts a JOIN runs ON runs.run_id = a.run_id "
    "WHERE a.run_id IN (SELECT run_id FROM linked)"  # no ORDER BY: sorted by id in Python
)
_EVALUATION_COLUMNS = (
    "run_id, eval_id, task, metric, value, stderr, uri, digest, settings, samples, created_at"
)
_SCORES_PER_INSERT = 500  # rows of one INSERT of scores (11 parameters each)
_TABLES_OF_A_RUN = (
    "version_scores",
    "evaluations",
    "artifacts",
    "metric_chunks",
    "chunk_blocks",
    "metrics",
    "metric_batches",
    "events",
    "table_rows",
    "tables",
    "run_tags",
    "run_values",
    "runs",
)


class Dialect(ABC):
    """What one SQL engine spells its own way. The SQL itself is `SqlStore`'s."""

    name: ClassVar[str]
    """The engine, as messages name it."""
    types: ClassVar[Mapping[str, str]]
    """Column types by role, filled into `tracker.store.schema`'s statements."""
    for_update: ClassVar[str]
    """What makes a ``SELECT`` lock its rows until the transaction ends (or nothing,
    where a transaction already holds the whole database)."""
    instr: ClassVar[str]
    """The function ``f(text, part)`` giving the position of ``part`` in ``text`` (0: none)."""
    tuning: ClassVar[Mapping[int, Sequence[str]]] = {}
    """Statements of this engine's own run after migration ``i``: physical settings the
    logical schema does not see (how a column is stored), never a table or a column."""
    errors: tuple[type[Exception], ...]
    """The driver's exceptions, reported as `StoreError`."""
    infinity: ClassVar[str]
    """A float literal of +inf."""
    text_order: ClassVar[str] = ""
    """What makes an ``ORDER BY`` of text compare code points, as Python does."""
    by_path: ClassVar[str] = ""
    """What makes a join read ``run_values`` through its index by path (which holds every
    column a sort needs), where the engine would not pick it by itself."""
    runs_per_read: ClassVar[int] = 1
    """Runs whose blocks one query reads (`SqlStore.metric_blocks_of`): many where each
    query is a round trip to a server; one in a file (SQLite read 100 runs' blocks in
    36 ms a run at a time, 62 ms 50 at a time: measured, docs/benchmarks.md)."""

    def sql(self, statement: str) -> str:
        """``statement`` with its ``?`` placeholders in the driver's style."""
        return statement

    def one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` equal to one of ``values`` (at least one), as SQL and its
        parameters: a ``?`` a value here."""
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    @abstractmethod
    def connect(self) -> Any:
        """A new connection (DB-API 2 with ``execute`` on the connection itself)."""

    def broken(self, connection: Any) -> bool:
        """Whether ``connection`` is lost and a new one must be made."""
        return False

    @abstractmethod
    def transaction(self, connection: Any) -> AbstractContextManager[None]:
        """One transaction: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def schema_version(self, db: Db) -> int:
        """The version of the database's schema (0: none yet)."""

    @abstractmethod
    def set_schema_version(self, db: Db, version: int) -> None:
        """Record ``version`` (inside the migration's transaction)."""

    @abstractmethod
    def lock_schema(self, db: Db) -> None:
        """Keep other processes from migrating until this transaction ends."""

    def describe(self, error: Exception) -> str:
        """The driver's error, as a message may show it."""
        return str(error).strip()

    def fetch_blobs(self, connection: Any, statement: str, params: Sequence[Any]) -> list[Any]:
        """The rows of a query whose columns are mostly bytes (the driver's fastest way)."""
        return list(connection.execute(statement, params).fetchall())


class SortTerms(NamedTuple):
    """An ``ORDER BY`` of `tracker.store.order`'s rule: ``joins`` added to ``FROM`` (with
    its ``join_params``), then ``group`` (ascending), then each of ``values`` in the
    order's direction; ``params`` are those of ``group`` and ``values``, in that order."""

    joins: str
    join_params: list[Any]
    group: str
    values: list[str]
    params: list[Any]


class Db:
    """A connection that speaks the store's SQL: ``?`` placeholders, whatever the driver."""

    __slots__ = ("connection", "dialect")

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the cursor holds its rows."""
        return self.connection.execute(self.dialect.sql(statement), params)

    def fetch(self, statement: str, params: Sequence[Any], *, blobs: bool) -> list[Any]:
        """The rows of one query; ``blobs`` where its columns are mostly bytes."""
        if blobs:
            return self.dialect.fetch_blobs(self.connection, self.dialect.sql(statement), params)
        return list(self.execute(statement, params).fetchall())

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters (pipelined where the driver can)."""
        if rows:
            self.connection.cursor().executemany(self.dialect.sql(statement), rows)


class _Tail:
    """A metric's last, still growing chunk, as this process last wrote it."""

    __slots__ = ("seq", "series")

    def __init__(self, seq: int, series: Series | None = None) -> None:
        self.seq = seq
        self.series = series or Series()

    def position(self) -> tuple[int, int, float | None]:
        """Where the tail is: its chunk, its points, its last point's time."""
        series = self.series
        return self.seq, len(series), series.times[-1] if series.times else None


class SqlStore(StoreBase):
    """A store in an SQL database; the engine's `Dialect` supplies what differs."""

    def __init__(self, uri: str, dialect: Dialect) -> None:
        self.uri = uri
        self._dialect = dialect
        self._lock = threading.RLock()
        self._db: Db | None = None
        self._tails: dict[tuple[str, str], _Tail] = {}
        with self._lock, self._errors("open"):
            self._migrate()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    # -- connection, transactions, schema -------------------------------------------------
    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except self._dialect.errors as exc:
            raise StoreError(
                f"cannot {doing} the {self._dialect.name} store {self.uri}: "
                f"{self._dialect.describe(exc)}"
            ) from exc

    def _connection(self) -> Db:
        db = self._db
        if db is None or self._dialect.broken(db.connection):
            if db is not None:
                self._close(db)
            db = self._db = Db(self._dialect.connect(), self._dialect)
        return db

    @contextmanager
    def _transaction(self) -> Iterator[Db]:
        with self._lock, self._errors("write to"):
            db = self._connection()
            with self._dialect.transaction(db.connection):
                yield db

    def _query(
        self, statement: str, params: Sequence[Any] = (), *, blobs: bool = False
    ) -> list[Any]:
        with self._lock, self._errors("read"):
            db = self._connection()
            try:
                return db.fetch(statement, params, blobs=blobs)
            except self._dialect.errors:
                if not self._dialect.broken(db.connection):
                    raise
            # lost since the last call (a server restart, a terminated session): a read
            # changes nothing, so it is simply sent again on a new connection
            return self._connection().fetch(statement, params, blobs=blobs)

    def _migrate(self) -> None:
        if self._checked_version(self._connection()) == SCHEMA_VERSION:
            return
        try:
            with self._transaction() as db:
                self._dialect.lock_schema(db)
                version = self._checked_version(db)  # another process may have migrated
                for step in range(version, SCHEMA_VERSION):
                    for statement in migration(step, self._dialect.types):
                        db.execute(statement)
                    for statement in self._dialect.tuning.get(step, ()):
                        db.execute(statement)
                    if step == RUN_VALUES_MIGRATION:  # the runs held, entered once
                        for run_id, config, summary in db.execute(
                            "SELECT run_id, config, summary FROM runs"
                        ).fetchall():
                            self._write_values(db, run_id, "config", json.loads(config))
                            self._write_values(db, run_id, "summary", json.loads(summary))
                self._dialect.set_schema_version(db, SCHEMA_VERSION)
        except StoreError:
            # Another process migrated while this one waited for the lock, and this
            # transaction did not see it (PostgreSQL's catalog cache is not refreshed by an
            # advisory lock): its tables then already exist. A new look settles it.
            if self._checked_version(self._connection()) != SCHEMA_VERSION:
                raise

    def _checked_version(self, db: Db) -> int:
        version = self._dialect.schema_version(db)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.uri} has schema version {version}, newer than this tracker "
                f"({SCHEMA_VERSION}): upgrade tracker to read it"
            )
        return version

    @staticmethod
    def _close(db: Db) -> None:
        with suppress(Exception):  # a lost connection may fail to close: it is gone anyway
            db.connection.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._db is not None:
                self._close(self._db)
                self._db = None

    # -- writing -------------------------------------------------------------------------
    def start_run(self, run: RunRecord, *, resume: bool) -> None:
        """Create the run, or continue the existing one of that id; never replace it.

        Who creates and who continues is decided by the insert itself, so two processes
        starting one run id at the same moment both keep their points; the one that finds
        the run created already records why it continues (`started_concurrently`).
        """
        self._forget_tails(run.run_id)
        with self._transaction() as db:
            created = db.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 15)}) "
                "ON CONFLICT (run_id) DO NOTHING RETURNING run_id",
                (
                    run.run_id,
                    run.project,
                    run.name,
                    run.status,
                    run.framework,
                    json.dumps(sorted(set(run.tags))),
                    json.dumps(run.config),
                    json.dumps(run.summary),
                    json.dumps(run.environment),
                    run.error,
                    run.started_at,
                    run.ended_at,
                    run.heartbeat_at,
                    run.heartbeat_interval,
                    run.sweep,
                ),
            ).fetchone()
            tags = sorted(set(run.tags))
            if created is not None:
                CREATED_HERE.created(self.uri, run)
                self._write_values(db, run.run_id, "config", run.config)
                self._write_values(db, run.run_id, "summary", run.summary)
            if created is None:
                row = db.execute(
                    f"SELECT tags FROM runs WHERE run_id = ?{self._dialect.for_update}",
                    (run.run_id,),
                ).fetchone()
                tags = sorted(set(json.loads(row[0])) | set(run.tags))
                db.execute(
                    "UPDATE runs SET status = ?, ended_at = NULL, error = NULL, tags = ?, "
                    "environment = ?, heartbeat_at = ?, heartbeat_interval = ?, "
                    "framework = COALESCE(?, framework), sweep = COALESCE(?, sweep) "
                    "WHERE run_id = ?",
                    (
                        RunStatus.RUNNING.value,
                        json.dumps(tags),
                        json.dumps(run.environment),
                        run.heartbeat_at,
                        run.heartbeat_interval,
                        run.framework,
                        run.sweep,
                        run.run_id,
                    ),
                )
                if not resume and not CREATED_HERE.by_this_call(self.uri, run):
                    self._insert_event(db, run.run_id, started_concurrently(run))
            db.executemany(
                "INSERT INTO run_tags (run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(run.run_id, tag) for tag in tags],
            )

    def _merge_json(self, run_id: str, column: str, update: dict[str, Any]) -> None:
        from tracker.values import deep_merge  # not at the top: readers never import uuid

        with self._transaction() as db:
            row = db.execute(
                f"SELECT {column} FROM runs WHERE run_id = ?{self._dialect.for_update}", (run_id,)
            ).fetchone()
            if row is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}")
            merged = deep_merge(json.loads(row[0]), update)
            db.execute(
                f"UPDATE runs SET {column} = ? WHERE run_id = ?", (json.dumps(merged), run_id)
            )
            self._write_values(db, run_id, column, merged)

    @staticmethod
    def _write_values(db: Db, run_id: str, source: str, document: dict[str, Any]) -> None:
        """Enter where each key of the run's config or summary sorts (``run_values``)."""
        db.execute("DELETE FROM run_values WHERE run_id = ? AND source = ?", (run_id, source))
        db.executemany(
            "INSERT INTO run_values (run_id, source, path, grp, num, text) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, source, *cell) for cell in sort_cells(document)],
        )

    def log_config(self, run_id: str, config: dict[str, Any]) -> None:
        """Merge into the run's config."""
        self._merge_json(run_id, "config", config)

    def log_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Merge into the run's summary."""
        self._merge_json(run_id, "summary", summary)

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        """Append points: each metric's growing tail chunk is rewritten, full ones sealed.

        A batch with an identity (``batch.seq > 0``) already stored is skipped whole.
        """
        new = {key: series for key, series in batch.series.items() if series.steps}
        if not new:
            return
        try:
            with self._transaction() as db:
                # one round trip: lock the run against its other writers, claim the
                # batch's identity, find every tail
                db.execute(
                    f"SELECT 1 FROM runs WHERE run_id = ?{self._dialect.for_update}", (run_id,)
                )
                claim = None
                if batch.seq:
                    claim = db.execute(
                        "INSERT INTO metric_batches (run_id, writer, seq) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING RETURNING seq",
                        (run_id, batch.writer, batch.seq),
                    )
                tails = db.execute(
                    "SELECT key, tail_seq, tail_n, last_time FROM metrics WHERE run_id = ?",
                    (run_id,),
                )
                if claim is not None and claim.fetchone() is None:
                    return  # a retry of a batch that is stored already
                stored = {row[0]: (row[1], row[2], row[3]) for row in tails.fetchall()}
                chunk_rows: list[tuple[Any, ...]] = []
                blocks_rows: list[tuple[Any, ...]] = []
                stats_rows: list[tuple[Any, ...]] = []
                for key, series in new.items():
                    tail = self._tail(db, run_id, key, stored.get(key))
                    for chunk, blocks in _append(run_id, key, tail, series):
                        chunk_rows.append(chunk)
                        blocks_rows.append(blocks)
                    lo, hi = finite_range(series.values)
                    stats_rows.append(
                        (
                            run_id,
                            key,
                            len(series),
                            series.steps[-1],
                            series.values[-1],
                            series.times[-1],
                            None if math.isnan(lo) else lo,
                            None if math.isnan(hi) else hi,
                            tail.seq,
                            len(tail.series),
                        )
                    )
                db.executemany(_UPSERT_CHUNK, chunk_rows)
                db.executemany(_UPSERT_BLOCKS, blocks_rows)
                db.executemany(_UPSERT_STATS, stats_rows)
        except BaseException:
            self._forget_tails(run_id)  # what the database holds is read again next time
            raise

    def _tail(self, db: Db, run_id: str, key: str, stored: tuple[int, int, float] | None) -> _Tail:
        """The metric's tail chunk as stored: this process's copy if nobody else wrote
        since, else read back."""
        seq, n, last_time = stored or (0, 0, None)
        if n >= CHUNK_POINTS:  # full: the next point starts a chunk
            seq, n, last_time = seq + 1, 0, None
        tail = self._tails.get((run_id, key))
        if tail is None or tail.position() != (seq, n, last_time if n else None):
            tail = _Tail(seq)
            if n:
                rows = db.execute(
                    "SELECT steps, vals, times FROM metric_chunks "
                    "WHERE run_id = ? AND key = ? AND seq = ?",
                    (run_id, key, seq),
                ).fetchall()
                tail.series = _series(rows, first=0)
            self._tails[(run_id, key)] = tail
        return tail

    def _forget_tails(self, run_id: str) -> None:
        with self._lock:
            for tail_key in [k for k in self._tails if k[0] == run_id]:
                del self._tails[tail_key]

    def log_event(self, run_id: str, event: Event) -> None:
        """Append an event (the same event twice, as a retry sends it, is stored once)."""
        with self._transaction() as db:
            self._insert_event(db, run_id, event)

    @staticmethod
    def _insert_event(db: Db, run_id: str, event: Event) -> None:
        db.execute(
            "INSERT INTO events (run_id, kind, step, at, payload) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (run_id, event.kind, event.step, event.at, json.dumps(event.payload)),
        )

    def log_table(self, run_id: str, key: str, step: int, rows: list[Row]) -> None:
        """Store a step's rows of a table, replacing the step's earlier ones."""
        with self._transaction() as db:
            where = (run_id, key, step)
            new = (
                db.execute(
                    "SELECT 1 FROM table_rows WHERE run_id = ? AND key = ? AND step = ? LIMIT 1",
                    where,
                ).fetchone()
                is None
            )
            if not new:
                db.execute(
                    "DELETE FROM table_rows WHERE run_id = ? AND key = ? AND step = ?", where
                )
            text = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for all rows
            db.executemany(
                "INSERT INTO table_rows (run_id, key, step, idx, row) VALUES (?, ?, ?, ?, ?)",
                [(run_id, key, step, i, text(row)) for i, row in enumerate(rows)],
            )
            db.execute(
                "INSERT INTO tables (run_id, key, steps, last_step) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (run_id, key) DO UPDATE SET "
                "steps = tables.steps + ?, last_step = excluded.last_step",
                (run_id, key, step, 1 if new else 0),
            )

    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        """Add a version (numbered after its name's others), or update the one held."""
        with self._transaction() as db:
            if (
                db.execute(
                    f"SELECT 1 FROM runs WHERE run_id = ?{self._dialect.for_update}", (run_id,)
                ).fetchone()
                is None
            ):
                raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}")
            key = (run_id, artifact.direction, artifact.name)
            row = db.execute(
                f"SELECT id, {_ARTIFACT_COLUMNS} FROM artifacts WHERE run_id = ? AND "
                "direction = ? AND name = ? AND ident = ?",
                (*key, artifact.identity),
            ).fetchone()
            waiting = self._placeholder(db, key, artifact)
            if row is None and waiting is not None:  # its digest is done: complete it
                a, row_id = artifact, waiting
                db.execute(
                    "UPDATE artifacts SET ident = ?, digest = ?, size = ?, files = ?, "
                    "state = ?, best = ?, metrics = ?, meta = ? WHERE id = ?",
                    (
                        a.identity, a.digest, a.size, a.files, a.state, int(a.best),
                        json.dumps(a.metrics), json.dumps(a.meta), row_id,
                    ),
                )  # fmt: skip
            elif row is None:
                version = db.execute(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts "
                    "WHERE run_id = ? AND direction = ? AND name = ?",
                    key,
                ).fetchone()[0]
                a = artifact
                row_id = db.execute(
                    f"INSERT INTO artifacts (ident, {_ARTIFACT_COLUMNS}) VALUES "
                    f"({', '.join('?' * 16)}) RETURNING id",
                    (
                        a.identity,
                        run_id,
                        a.name,
                        version,
                        a.kind,
                        a.direction,
                        a.uri,
                        a.digest,
                        a.size,
                        a.files,
                        a.step,
                        json.dumps(a.metrics),
                        a.state,
                        int(a.best),
                        a.created_at,
                        json.dumps(a.meta),
                    ),
                ).fetchone()[0]
            else:
                row_id, merged = row[0], merge_artifact(_artifact(row[1:]), artifact)
                db.execute(
                    "UPDATE artifacts SET state = ?, best = ?, metrics = ?, meta = ? WHERE id = ?",
                    (
                        merged.state, int(merged.best), json.dumps(merged.metrics),
                        json.dumps(merged.meta), row_id,
                    ),
                )  # fmt: skip
                if waiting is not None:  # the same content, logged again: no second version
                    db.execute("DELETE FROM artifacts WHERE id = ?", (waiting,))
            if artifact.best:
                db.execute(
                    "UPDATE artifacts SET best = 0 WHERE run_id = ? AND kind = ? AND id <> ? "
                    "AND best = 1",
                    (run_id, artifact.kind, row_id),
                )

    @staticmethod
    def _placeholder(db: Db, key: tuple[str, str, str], artifact: Artifact) -> int | None:
        """The id of the ``unhashed`` record ``artifact`` completes (`placeholder_ident`)."""
        ident = placeholder_ident(artifact)
        if ident is None:
            return None
        found = db.execute(
            "SELECT id FROM artifacts WHERE run_id = ? AND direction = ? AND name = ? "
            "AND ident = ? AND digest IS NULL AND state = ?",
            (*key, ident, ArtifactState.UNHASHED.value),
        ).fetchone()
        return None if found is None else int(found[0])

    def log_evaluations(self, run_id: str, evaluations: list[Evaluation]) -> None:
        """Add the scores not held yet (by run, ``eval_id`` and metric); NaN as NULL. The
        new ones are appended to their version's ``version_scores`` row too, in the same
        transaction (a score held already is in it already)."""
        with self._transaction() as db:
            new: list[Evaluation] = []
            for start in range(0, len(evaluations), _SCORES_PER_INSERT):
                part = evaluations[start : start + _SCORES_PER_INSERT]
                added = {
                    (row[0], row[1])
                    for row in db.execute(
                        f"INSERT INTO evaluations ({_EVALUATION_COLUMNS}) VALUES "
                        + ", ".join([f"({', '.join('?' * 11)})"] * len(part))
                        + " ON CONFLICT DO NOTHING RETURNING eval_id, metric",
                        [cell for e in part for cell in _score_row(run_id, e)],
                    ).fetchall()
                }
                for e in part:  # of one score given twice, the first is the one stored
                    if (e.eval_id, e.metric) in added:
                        added.discard((e.eval_id, e.metric))
                        new.append(e)
            by_version: dict[tuple[str, str], list[Evaluation]] = {}
            for e in new:
                by_version.setdefault((e.uri, e.digest or ""), []).append(e)
            db.executemany(
                "INSERT INTO version_scores (run_id, uri, digest, scores) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id, uri, digest) DO UPDATE SET "
                "scores = version_scores.scores || ',' || excluded.scores",
                [  # in key order: two writers of one run lock its rows in the same order
                    (run_id, *version, _pack_scores(by_version[version]))
                    for version in sorted(by_version)
                ],
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
        self._forget_tails(run_id)

    # -- reading -------------------------------------------------------------------------
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
            sweep=row[14],
        )
        record.status = effective_status(
            record.status, record.heartbeat_at, record.heartbeat_interval
        )
        return record

    def _runs_where(self, query: RunQuery) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (empty for none) and its parameters of ``query``'s filters,
        all matched by the database's indexes; a ``running`` or ``crashed`` status
        matches both (they are told apart after reading)."""
        where: list[str] = []
        params: list[Any] = []
        if query.project is not None:
            where.append("project = ?")
            params.append(query.project)
        if query.status is not None:
            crashed = query.status == RunStatus.CRASHED
            where.append("status = ?")
            params.append(RunStatus.RUNNING.value if crashed else query.status)
        for tag in query.tags:
            where.append("runs.run_id IN (SELECT run_id FROM run_tags WHERE tag = ?)")
            params.append(tag)
        if query.framework is not None:
            where.append("framework = ?")
            params.append(query.framework)
        if query.name_contains:
            where.append(f"{self._dialect.instr}(lower(name), lower(?)) > 0")
            params.append(query.name_contains)
        if query.sweep is not None:
            where.append("sweep = ?")
            params.append(query.sweep)
        return (" WHERE " + " AND ".join(where) if where else ""), params

    def select_runs(self, query: RunQuery) -> list[RunRecord]:
        """Runs matching the query, newest first or in its order, filtered and sorted by
        the database; a page (``limit``) is cut by the database too, where the status
        allows it."""
        if query.order is not None:
            return self._sorted_runs(query, query.order)
        where, params = self._runs_where(query)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY started_at DESC"
        if query.limit is not None and query.status_is_stored:
            rows = self._query(sql + " LIMIT ? OFFSET ?", [*params, query.limit, query.offset])
            return [self._record(row) for row in rows]
        found = [self._record(row) for row in self._query(sql, params)]
        if not query.status_is_stored:
            found = [r for r in found if r.status == query.status]
        return query.page(found)

    def _sorted_runs(self, query: RunQuery, order: RunOrder) -> list[RunRecord]:
        """`select_runs` in ``order``."""
        where, params = self._runs_where(query)
        terms = self._order_terms(order)
        params = [*terms.join_params, *params, *terms.params]
        direction = " DESC" if order.descending else ""
        values = [f"{value}{direction}" for value in terms.values]
        ordered = f"FROM runs{terms.joins}{where} ORDER BY " + ", ".join(
            [terms.group, *values, "runs.started_at DESC", "runs.run_id"]
        )
        if query.limit is not None and query.status_is_stored:
            # the page's ids first, then their rows: a sort that carried every run's whole
            # row (config, environment) took twice as long for a page deep in the order
            ids = self._query(
                f"SELECT runs.run_id {ordered} LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            )
            return self._runs_by_id([row[0] for row in ids])
        rows = self._query(f"SELECT {_RUNS_RUN_COLUMNS} {ordered}", params)
        found = [self._record(row) for row in rows]
        if not query.status_is_stored:
            found = [r for r in found if r.status == query.status]
        return query.page(found)

    def _runs_by_id(self, ids: Sequence[str]) -> list[RunRecord]:
        """The runs of ``ids``, in that order."""
        if not ids:
            return []
        term, params = self._dialect.one_of("run_id", ids)
        rows = self._query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE {term}", params)
        found = {record.run_id: record for record in map(self._record, rows)}
        return [found[run_id] for run_id in ids if run_id in found]

    def _order_terms(self, order: RunOrder) -> SortTerms:
        """The ``ORDER BY`` of ``order``'s column (`tracker.store.order`'s rule)."""
        column, dialect = order.column, self._dialect
        if column.source in ("config", "summary"):
            joins = (
                f" LEFT JOIN run_values AS sort_value{dialect.by_path} ON "
                "sort_value.run_id = runs.run_id "
                "AND sort_value.source = ? AND sort_value.path = ?"
            )
            values = ["sort_value.num", f"sort_value.text{dialect.text_order}"]
            group = f"COALESCE(sort_value.grp, {MISSING})"
            return SortTerms(joins, [column.source, column.key], group, values, [])
        if column.source == "metric":
            joins = (
                " LEFT JOIN metrics AS sort_metric ON sort_metric.run_id = runs.run_id "
                "AND sort_metric.key = ?"
            )
            finite = f"abs(sort_metric.last_value) < {dialect.infinity}"
            group = f"CASE WHEN {finite} THEN 0 ELSE {MISSING} END"
            value = f"CASE WHEN {finite} THEN sort_metric.last_value END"  # NaN, inf: no order
            return SortTerms(joins, [column.key], group, [value], [])
        field = f"runs.{column.key}"  # one of RUN_FIELDS, checked by RunColumn.parse
        if column.key == "started_at":
            group = f"CASE WHEN {field} IS NULL THEN {MISSING} ELSE 0 END"
            return SortTerms("", [], group, [field], [])
        group = f"CASE WHEN {field} IS NULL THEN {MISSING} ELSE 1 END"
        return SortTerms("", [], group, [f"{field}{dialect.text_order}"], [])

    def count_runs(self, query: RunQuery) -> int:
        """How many runs match the query's filters, counted by the database (running and
        crashed runs by their heartbeat columns only)."""
        where, params = self._runs_where(query)
        if query.status_is_stored:
            return int(self._query(f"SELECT COUNT(*) FROM runs{where}", params)[0][0])
        rows = self._query(f"SELECT heartbeat_at, heartbeat_interval FROM runs{where}", params)
        stored = RunStatus.RUNNING.value
        return sum(effective_status(stored, r[0], r[1]) == query.status for r in rows)

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
        points = _series(rows)
        return points if raw or _increasing(rows) else in_step_order(points)

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

    def metric_blocks(self, run_id: str, key: str, *, raw: bool = False) -> Blocks:
        """`metric_blocks_of` one run."""
        return next(self.metric_blocks_of([run_id], key, raw=raw))[1]

    def metric_blocks_of(
        self, run_ids: Sequence[str], key: str, *, raw: bool = False
    ) -> Iterator[tuple[str, Blocks]]:
        """Metric ``key``'s `Blocks` of each run, in order, from each chunk's
        ``chunk_blocks`` row (no point is read: every chunk but the last holds
        `CHUNK_POINTS` points, a whole number of blocks), `Dialect.runs_per_read` runs a
        query; from the points where a chunk stored before that table has none, or where a
        resume went back in steps (``history`` then keeps the last point of each step)."""
        ids = list(dict.fromkeys(run_ids))
        step = self._dialect.runs_per_read
        for start in range(0, len(ids), step):
            part = ids[start : start + step]
            rows_of: dict[str, list[Any]] = {run_id: [] for run_id in part}
            for row in self._query(
                "SELECT c.step_min, c.step_max, c.ordered, c.n, b.blocks, c.run_id "
                "FROM metric_chunks c LEFT JOIN chunk_blocks b ON b.run_id = c.run_id "
                "AND b.key = c.key AND b.seq = c.seq WHERE c.key = ? AND c.run_id IN "
                f"({', '.join('?' * len(part))}) ORDER BY c.run_id, c.seq",
                [key, *part],
                blobs=True,
            ):
                rows_of[row[5]].append(row)
            for run_id, rows in rows_of.items():
                if any(row[4] is None for row in rows) or not (raw or _increasing(rows)):
                    yield run_id, blocks_of(self.iter_history(run_id, key, raw=raw))
                else:
                    records = b"".join(bytes(row[4]) for row in rows)
                    yield run_id, Blocks(records, sum(row[3] for row in rows))

    def _chunk_rows(
        self, run_id: str, key: str, *, after: int = -1, limit: int | None = None
    ) -> list[Any]:
        """Stored chunks ``(step_min, step_max, ordered, steps, vals, times, seq)``."""
        sql = (
            "SELECT step_min, step_max, ordered, steps, vals, times, seq FROM metric_chunks "
            "WHERE run_id = ? AND key = ? AND seq > ? ORDER BY seq"
        )
        params: tuple[Any, ...] = (run_id, key, after)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return self._query(sql, params, blobs=True)

    def metric_stats(self, run_id: str) -> dict[str, MetricStats]:
        """Count, last value and range per metric."""
        return self.metric_stats_of([run_id])[run_id]

    def metric_stats_of(self, run_ids: Sequence[str]) -> dict[str, dict[str, MetricStats]]:
        """`metric_stats` of each run, a few hundred runs a query."""
        found: dict[str, dict[str, MetricStats]] = {run_id: {} for run_id in run_ids}
        ids = list(found)
        for start in range(0, len(ids), _RUNS_PER_QUERY):
            term, params = self._dialect.one_of("run_id", ids[start : start + _RUNS_PER_QUERY])
            rows = self._query(
                "SELECT run_id, key, count, last_step, last_value, last_time, min_value, "
                f"max_value FROM metrics WHERE {term} ORDER BY run_id, key",
                params,
            )
            for r in rows:
                found[r[0]][r[1]] = MetricStats(
                    r[2], r[3], _nan(r[4]), r[5], _nan(r[6]), _nan(r[7])
                )
        return found

    def events(self, run_id: str) -> list[Event]:
        """Events in order."""
        rows = self._query(
            "SELECT kind, at, step, payload FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def table_keys(self, run_id: str) -> list[str]:
        """Table names, sorted."""
        rows = self._query("SELECT key FROM tables WHERE run_id = ? ORDER BY key", (run_id,))
        return [row[0] for row in rows]

    def table_steps(self, run_id: str, key: str) -> list[int]:
        """The steps of a table, in order."""
        rows = self._query(
            "SELECT DISTINCT step FROM table_rows WHERE run_id = ? AND key = ? ORDER BY step",
            (run_id, key),
        )
        return [int(row[0]) for row in rows]

    def table_rows(
        self, run_id: str, key: str, *, step: int | None = None, limit: int | None = None
    ) -> list[Row]:
        """A table's rows (of one step), each with its step."""
        where = "run_id = ? AND key = ?"
        params: list[Any] = [run_id, key]
        if step is not None:
            where += " AND step = ?"
            params.append(step)
        sql = f"SELECT step, row FROM table_rows WHERE {where} ORDER BY step, idx"
        if limit is not None:
            sql += f" LIMIT {max(0, int(limit))}"
        rows = self._query(sql, params)
        if not rows:
            return []
        # one parse of all rows, as `_artifacts` does: a sample diff reads 20,000 of them
        parsed = json.loads("[" + ",".join(r[1] for r in rows) + "]")
        with paused_gc():
            return [{"step": int(r[0]), **row} for r, row in zip(rows, parsed, strict=True)]

    def select_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        """Artifacts matching the query, in logging order, found by the indexes."""
        where, params = self._where(query, ("run_id", "kind", "direction", "state", "name"))
        sql = f"SELECT {_ARTIFACT_COLUMNS} FROM artifacts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if query.limit is not None:
            sql += f" LIMIT {max(0, int(query.limit))}"
        return _artifacts(self._query(sql, params))

    def linked_artifacts(
        self, run_ids: Sequence[str], *, upstream: bool, depth: int | None = None
    ) -> Linked:
        """`Store.linked_artifacts` in one recursive query, the same on both engines: the
        links (same digest; without both, same uri) are followed by the digest and uri
        indexes, and with ``depth`` each run is carried with its distance. More than
        `_SEEDS_PER_QUERY` runs to start from (a hub model 50,000 runs used) take one
        query per that many, merged."""
        limited = depth is not None
        mine, other = ("input", "output") if upstream else ("output", "input")
        rows: dict[int, Sequence[Any]] = {}
        for start in range(0, len(run_ids), _SEEDS_PER_QUERY):
            seeds, by_seed = self._dialect.one_of(
                "run_id", run_ids[start : start + _SEEDS_PER_QUERY]
            )
            sql = _LINKED_RUNS.format(
                depth=", depth" if limited else "",
                zero=", 0" if limited else "",
                next=", linked.depth + 1" if limited else "",
                limit=" WHERE linked.depth < ?" if limited else "",
                seeds=seeds,
                columns=", ".join(f"a.{c}" for c in _ARTIFACT_COLUMNS.split(", ")),
            )
            params = [*by_seed, mine, other, *([depth] if limited else [])]
            rows.update((row[-1], row) for row in self._query(sql, params))
        found = [rows[i] for i in sorted(rows)]
        return Linked(_artifacts(found), {r[0]: r[-2] for r in found})

    def select_evaluations(self, query: EvaluationQuery) -> list[Evaluation]:
        """Evaluations matching the query, in recording order, found by the indexes."""
        where, params = self._where(query, ("run_id", "eval_id", "task", "metric"))
        sql = f"SELECT {_EVALUATION_COLUMNS}, id FROM evaluations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if query.refs and query.limit is None:
            # found through two indexes at once: ordered here, not by a temporary B-tree
            # (a third of the time of a leaderboard's 50,000 scores)
            return _evaluations(sorted(self._query(sql, params), key=operator.itemgetter(11)))
        sql += " ORDER BY id"
        if query.limit is not None:
            sql += f" LIMIT {max(0, int(query.limit))}"
        return _evaluations(self._query(sql, params))

    def version_scores(
        self, *, refs: Sequence[str] = (), project: str | None = None
    ) -> list[VersionScores]:
        """`tracker.store.base.version_scores`: one ``version_scores`` row a group."""
        where: list[str] = []
        params: list[Any] = []
        if project is not None:
            where.append("run_id IN (SELECT run_id FROM runs WHERE project = ?)")
            params.append(project)
        if refs:
            self._refs_term(refs, where, params)
        sql = "SELECT run_id, uri, digest, scores FROM version_scores"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return _version_scores(self._query(sql, params))

    def _where(
        self, query: ArtifactQuery | EvaluationQuery, columns: Sequence[str]
    ) -> tuple[list[str], list[Any]]:
        """The WHERE terms and parameters of an artifact or evaluation query: each of
        ``columns`` the query gives, the runs of its ``project``, and its ``refs`` (a
        digest or a uri, by their indexes)."""
        where: list[str] = []
        params: list[Any] = []
        for column in columns:
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.project is not None:
            where.append("run_id IN (SELECT run_id FROM runs WHERE project = ?)")
            params.append(query.project)
        if query.refs:
            self._refs_term(query.refs, where, params)
        return where, params

    def _refs_term(self, refs: Sequence[str], where: list[str], params: list[Any]) -> None:
        """Adds to ``where`` and ``params``: the digest or the uri is one of ``refs``."""
        digest, by_digest = self._dialect.one_of("digest", refs)
        uri, by_uri = self._dialect.one_of("uri", refs)
        where.append(f"({digest} OR {uri})")
        params.extend([*by_digest, *by_uri])

    def delete_run(self, run_id: str) -> None:
        """Remove the run and everything logged to it."""
        self._forget_tails(run_id)
        with self._transaction() as db:  # the run's row is locked first, as every write does
            found = db.execute(
                f"SELECT 1 FROM runs WHERE run_id = ?{self._dialect.for_update}", (run_id,)
            ).fetchone()
            if found is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}")
            self._delete(db, run_id)

    @staticmethod
    def _delete(db: Db, run_id: str) -> None:
        for table in _TABLES_OF_A_RUN:
            db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))


def _artifact(row: Sequence[Any]) -> Artifact:
    """An `Artifact` from a row of ``_ARTIFACT_COLUMNS``."""
    return _artifacts([row])[0]


def _artifacts(rows: Sequence[Sequence[Any]]) -> list[Artifact]:
    """`Artifact` s from rows of ``_ARTIFACT_COLUMNS``. Each JSON column is parsed in one
    call for all rows (a list of them): 10,000 versions list in a third of the time of a
    ``json.loads`` per cell. The garbage collector is paused meanwhile (`paused_gc`)."""
    if not rows:
        return []
    metrics = json.loads("[" + ",".join(row[10] for row in rows) + "]")
    metas = json.loads("[" + ",".join(row[14] for row in rows) + "]")
    with paused_gc():
        return [
            Artifact(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                m,
                r[11],
                bool(r[12]),
                r[13],
                meta,
            )
            for r, m, meta in zip(rows, metrics, metas, strict=True)
        ]


def _evaluations(rows: Sequence[Sequence[Any]]) -> list[Evaluation]:
    """`Evaluation` s from rows of ``_EVALUATION_COLUMNS``. The settings of many scores are
    the same text (one evaluation's, one harness run's): each distinct text is parsed once
    and its dict shared by the records that hold it (the GC paused, `paused_gc`)."""
    parsed = {text: json.loads(text) for text in {row[8] for row in rows}}
    nan = math.nan
    with paused_gc():
        return [
            Evaluation(
                r[0],
                r[1],
                r[2],
                r[3],
                nan if r[4] is None else r[4],
                r[5],
                r[6],
                r[7],
                parsed[r[8]],
                r[9],
                r[10],
            )
            for r in rows
        ]


def _score_row(run_id: str, e: Evaluation) -> tuple[Any, ...]:
    """An ``evaluations`` row of ``_EVALUATION_COLUMNS``: NaN as NULL."""
    return (
        run_id,
        e.eval_id,
        e.task,
        e.metric,
        None if math.isnan(e.value) else e.value,
        None if e.stderr is None or math.isnan(e.stderr) else e.stderr,
        e.uri,
        e.digest,
        json.dumps(e.settings),
        e.samples,
        e.created_at,
    )


def _pack_scores(evaluations: Sequence[Evaluation]) -> str:
    """One batch of a ``version_scores`` row's scores, one JSON array of columns: the
    distinct settings (each as its JSON text), then each score's eval_id, task, metric,
    value, stderr (NaN: none), index into those settings, samples and time. The numbers
    are packed float64 arrays in base64, not JSON numbers: a leaderboard of 50,000 scores
    parses in two thirds of the time. The run, uri and digest are the row's."""
    texts: dict[str, int] = {}
    index = [texts.setdefault(json.dumps(e.settings), len(texts)) for e in evaluations]
    return json.dumps(
        [
            list(texts),
            [e.eval_id for e in evaluations],
            [e.task for e in evaluations],
            [e.metric for e in evaluations],
            _floats([e.value for e in evaluations]),
            _floats([math.nan if e.stderr is None else e.stderr for e in evaluations]),
            index,
            [e.samples for e in evaluations],
            _floats([e.created_at for e in evaluations]),
        ]
    )


def _floats(values: list[float]) -> str:
    return base64.b64encode(_pack(array("d", values))).decode("ascii")


def _unfloats(text: str) -> list[float]:
    return _unpack("d", [base64.b64decode(text)]).tolist()


def _version_scores(rows: Sequence[Sequence[Any]]) -> list[VersionScores]:
    """`VersionScores` from ``version_scores`` rows (run_id, uri, digest, scores): every
    row's batches parsed in one call, each distinct settings text once (its dict shared),
    each batch's records made column-wise, the GC paused (50,000 scores: see paused_gc)."""
    if not rows:
        return []
    settings: dict[str, dict[str, Any]] = {}
    groups: list[VersionScores] = []
    with paused_gc():
        parsed = json.loads("[[" + "],[".join(row[3] for row in rows) + "]]")
        for (run_id, uri, digest, _), batches in zip(rows, parsed, strict=True):
            found: list[Evaluation] = []
            for texts, eval_ids, tasks, metrics, values, errors, index, samples, at in batches:
                shared = [settings[t] if t in settings else _parsed(settings, t) for t in texts]
                found += map(
                    Evaluation,
                    repeat(run_id),
                    eval_ids,
                    tasks,
                    metrics,
                    _unfloats(values),
                    [None if math.isnan(v) else v for v in _unfloats(errors)],
                    repeat(uri),
                    repeat(digest or None),
                    map(shared.__getitem__, index),
                    samples,
                    _unfloats(at),
                )
            groups.append(VersionScores(run_id, uri, digest or None, found))
    return groups


def _parsed(held: dict[str, dict[str, Any]], text: str) -> dict[str, Any]:
    held[text] = json.loads(text)
    return held[text]


def _append(
    run_id: str, key: str, tail: _Tail, new: Series
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Add ``new`` to the tail; the chunk rows to write, each one filled, then the tail,
    each with its ``chunk_blocks`` row."""
    series = tail.series
    series.steps.extend(new.steps)
    series.values.extend(new.values)
    series.times.extend(new.times)
    while len(series) >= CHUNK_POINTS:
        yield _chunk_row(run_id, key, tail.seq, series, CHUNK_POINTS)
        del series.steps[:CHUNK_POINTS], series.values[:CHUNK_POINTS]
        del series.times[:CHUNK_POINTS]
        tail.seq += 1
    if series.steps:
        yield _chunk_row(run_id, key, tail.seq, series, len(series))


def _chunk_row(
    run_id: str, key: str, seq: int, series: Series, n: int
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    steps, values, times = series.steps[:n], series.values[:n], series.times[:n]
    ordered = all(map(operator.lt, steps, steps[1:]))
    chunk = (
        run_id,
        key,
        seq,
        n,
        min(steps),
        max(steps),
        int(ordered),
        _pack(steps),
        _pack(values),
        _pack(times),
    )
    return chunk, (run_id, key, seq, pack_blocks(steps, values, times))


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


def _series(rows: Sequence[Sequence[Any]], first: int = 3) -> Series:
    """The points of chunk rows whose columns ``first`` on are ``steps, vals, times``
    (by default rows ``(step_min, step_max, ordered, steps, vals, times, ...)``)."""
    return Series(
        _unpack("q", [r[first] for r in rows]),
        _unpack("d", [r[first + 1] for r in rows]),
        _unpack("d", [r[first + 2] for r in rows]),
    )


def _increasing(rows: Sequence[Sequence[Any]]) -> bool:
    """Whether chunks (step_min, step_max, ordered, ...) hold strictly increasing steps."""
    last = None
    for step_min, step_max, ordered, *_ in rows:
        if not ordered or (last is not None and step_min <= last):
            return False
        last = step_max
    return True
