"""An in-process store: ``memory://NAME``. Every opening of one name shares its runs.

Made for tests (`tracker.testing`), and the reader of the JSON-lines store.
"""

from __future__ import annotations

import copy
import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

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
)
from tracker.store.base import (
    CREATED_HERE,
    ArtifactQuery,
    EvaluationQuery,
    History,
    MetricStats,
    RunNotFoundError,
    RunQuery,
    StoreBase,
    merge_artifact,
    placeholder_ident,
    started_concurrently,
)
from tracker.store.order import sort_runs
from tracker.store.series import chunks, in_step_order, stats_of
from tracker.values import deep_merge

__all__ = ["MemoryStore"]


@dataclass
class _RunData:
    record: RunRecord
    metrics: dict[str, tuple[array[int], array[float], array[float]]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    tables: dict[str, dict[int, list[Row]]] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    evaluations: dict[tuple[str, str], Evaluation] = field(default_factory=dict)


class MemoryStore(StoreBase):
    """Runs held in this process's memory."""

    _shared: ClassVar[dict[str, dict[str, _RunData]]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str = "") -> None:
        self.uri = f"memory://{name}"
        self._lock = threading.RLock()
        if name:
            with self._shared_lock:
                self._runs = self._shared.setdefault(name, {})
        else:
            self._runs = {}

    @classmethod
    def from_uri(cls, uri: str) -> MemoryStore:
        """Open ``memory://NAME``."""
        return cls(uri.partition("://")[2])

    # -- writing -------------------------------------------------------------------------
    def start_run(self, run: RunRecord, *, resume: bool) -> None:
        """Create the run, or continue the existing one of that id; never replace it."""
        with self._lock:
            data = self._runs.get(run.run_id)
            if data is None:
                self._runs[run.run_id] = _RunData(copy.deepcopy(run))
                CREATED_HERE.created(self.uri, run)
                return
            old = data.record
            if not resume and not CREATED_HERE.by_this_call(self.uri, run):
                data.events.append(started_concurrently(run))
            old.status = RunStatus.RUNNING.value
            old.ended_at = None
            old.error = None
            old.heartbeat_at = run.heartbeat_at
            old.heartbeat_interval = run.heartbeat_interval
            old.tags = sorted(set(old.tags) | set(run.tags))
            old.environment = copy.deepcopy(run.environment)
            old.framework = run.framework or old.framework
            old.sweep = run.sweep or old.sweep

    def _data(self, run_id: str) -> _RunData:
        try:
            return self._runs[run_id]
        except KeyError:
            raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}") from None

    def log_config(self, run_id: str, config: dict[str, Any]) -> None:
        """Merge into the config."""
        with self._lock:
            record = self._data(run_id).record
            record.config = deep_merge(record.config, copy.deepcopy(config))

    def log_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Merge into the summary."""
        with self._lock:
            record = self._data(run_id).record
            record.summary = deep_merge(record.summary, copy.deepcopy(summary))

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        """Append points."""
        with self._lock:
            metrics = self._data(run_id).metrics
            for key, series in batch.series.items():
                columns = metrics.setdefault(key, (array("q"), array("d"), array("d")))
                columns[0].extend(series.steps)
                columns[1].extend(series.values)
                columns[2].extend(series.times)

    def log_event(self, run_id: str, event: Event) -> None:
        """Append an event."""
        with self._lock:
            self._data(run_id).events.append(copy.deepcopy(event))

    def heartbeat(self, run_id: str, at: float) -> None:
        """Record liveness."""
        with self._lock:
            self._data(run_id).record.heartbeat_at = at

    def log_table(self, run_id: str, key: str, step: int, rows: list[Row]) -> None:
        """Keep a step's rows, replacing the step's earlier ones."""
        with self._lock:
            steps = self._data(run_id).tables.setdefault(key, {})
            steps[step] = copy.deepcopy(rows)

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        """Record the end."""
        with self._lock:
            record = self._data(run_id).record
            record.status, record.ended_at, record.error = status, ended_at, error
            record.heartbeat_at = ended_at

    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        """Add a version, or update the one held (`merge_artifact`)."""
        with self._lock:
            held = self._data(run_id).artifacts
            new = copy.deepcopy(artifact)
            new.run_id = run_id
            same = [
                i for i, a in enumerate(held) if a.direction == new.direction and a.name == new.name
            ]
            index = next((i for i in same if held[i].identity == new.identity), None)
            ident = placeholder_ident(new)
            waiting = next(
                (
                    i
                    for i in same
                    if ident is not None
                    and held[i].identity == ident
                    and held[i].state == ArtifactState.UNHASHED
                ),
                None,
            )
            if index is None and waiting is not None:  # its digest is done: complete it
                placeholder = held[waiting]
                new.version, new.created_at, new.step = (
                    placeholder.version,
                    placeholder.created_at,
                    placeholder.step,
                )
                held[waiting] = new
            elif index is None:
                new.version = 1 + max((held[i].version for i in same), default=0)
                held.append(new)
            else:
                held[index] = new = merge_artifact(held[index], new)
                if waiting is not None:  # the same content, logged again: no second version
                    del held[waiting]
            if new.best:
                for other in held:
                    if other is not new and other.kind == new.kind:
                        other.best = False

    def log_evaluations(self, run_id: str, evaluations: list[Evaluation]) -> None:
        """Add the scores not held yet (by ``eval_id`` and metric)."""
        with self._lock:
            held = self._data(run_id).evaluations
            for evaluation in evaluations:
                new = copy.deepcopy(evaluation)
                new.run_id = run_id
                held.setdefault((new.eval_id, new.metric), new)

    def close(self) -> None:
        """Nothing to release."""

    # -- reading -------------------------------------------------------------------------
    def select_runs(self, query: RunQuery) -> list[RunRecord]:
        """Runs matching the query, newest first."""
        with self._lock:
            found = [self._public(d.record) for d in self._runs.values()]
        found = [r for r in found if query.matches(r)]
        if query.order is None:
            found.sort(key=lambda r: r.started_at, reverse=True)
        else:
            found = sort_runs(found, query.order, self._final)
        return query.page(found)

    def _final(self, run_id: str, key: str) -> float | None:
        """The last value of the run's metric ``key`` (``None``: it has none)."""
        with self._lock:
            columns = self._data(run_id).metrics.get(key)
            return None if columns is None else stats_of(*columns).last_value

    @staticmethod
    def _public(record: RunRecord) -> RunRecord:
        public = copy.deepcopy(record)
        public.status = effective_status(
            record.status, record.heartbeat_at, record.heartbeat_interval
        )
        return public

    def get_run(self, run_id: str) -> RunRecord:
        """The run of this id."""
        with self._lock:
            return self._public(self._data(run_id).record)

    def find_runs(self, ref: str) -> list[RunRecord]:
        """Runs whose id is or starts with ``ref``, or whose name is ``ref``."""
        with self._lock:
            found = [
                self._public(d.record)
                for run_id, d in self._runs.items()
                if run_id.startswith(ref) or d.record.name == ref
            ]
        return sorted(found, key=lambda r: r.started_at, reverse=True)

    def keys(self, run_id: str) -> list[str]:
        """Metric names, sorted."""
        with self._lock:
            return sorted(self._data(run_id).metrics)

    def history(self, run_id: str, key: str, *, raw: bool = False) -> History:
        """Points in step order, last write per step wins (or all, in logging order)."""
        with self._lock:
            columns = self._data(run_id).metrics.get(key)
            if columns is None:
                return Series()
            steps, values, times = columns
            points = Series(steps[:], values[:], times[:])
        return points if raw else in_step_order(points)

    def iter_history(self, run_id: str, key: str, *, raw: bool = False) -> Iterator[Series]:
        """`history` in column chunks."""
        with self._lock:
            columns = self._data(run_id).metrics.get(key)
            if columns is None:
                return
            steps, values, times = columns
            series = Series(steps[:], values[:], times[:])
        yield from chunks(series if raw else in_step_order(series))

    def metric_stats(self, run_id: str) -> dict[str, MetricStats]:
        """Count, last value and range per metric."""
        with self._lock:
            metrics = self._data(run_id).metrics
            return {key: stats_of(*columns) for key, columns in metrics.items()}

    def events(self, run_id: str) -> list[Event]:
        """Events in order."""
        with self._lock:
            return copy.deepcopy(self._data(run_id).events)

    def table_keys(self, run_id: str) -> list[str]:
        """Table names, sorted."""
        with self._lock:
            return sorted(self._data(run_id).tables)

    def table_steps(self, run_id: str, key: str) -> list[int]:
        """The steps of a table, in order."""
        with self._lock:
            return sorted(self._data(run_id).tables.get(key, {}))

    def table_rows(
        self, run_id: str, key: str, *, step: int | None = None, limit: int | None = None
    ) -> list[Row]:
        """A table's rows (of one step), each with its step."""
        with self._lock:
            steps = self._data(run_id).tables.get(key, {})
            chosen = sorted(steps) if step is None else [step] if step in steps else []
            rows = [{"step": s, **row} for s in chosen for row in steps[s]]
        return rows if limit is None else rows[: max(0, limit)]

    def _runs_of(self, run_id: str | None) -> list[_RunData]:
        """The run ``run_id`` (none if unknown), or every run in start order; the lock held."""
        if run_id is not None:
            return [self._runs[run_id]] if run_id in self._runs else []
        return sorted(self._runs.values(), key=lambda d: d.record.started_at)

    def select_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        """Artifacts matching the query, in logging order (runs in start order)."""
        with self._lock:
            runs = self._runs_of(query.run_id)
            found = [
                copy.deepcopy(a)
                for d in runs
                for a in d.artifacts
                if query.matches(a, d.record.project)
            ]
        return found if query.limit is None else found[: max(0, query.limit)]

    def select_evaluations(self, query: EvaluationQuery) -> list[Evaluation]:
        """Evaluations matching the query, in recording order (runs in start order)."""
        with self._lock:
            runs = self._runs_of(query.run_id)
            found = [
                copy.deepcopy(e)
                for d in runs
                for e in d.evaluations.values()
                if query.matches(e, d.record.project)
            ]
        return found if query.limit is None else found[: max(0, query.limit)]

    def delete_run(self, run_id: str) -> None:
        """Forget the run."""
        with self._lock:
            self._data(run_id)
            del self._runs[run_id]
