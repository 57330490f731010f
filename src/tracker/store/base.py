"""What a backend implements to receive runs, and what a store implements to read them back.

A *backend* is where a run is written: the embedded SQLite store, a JSON-lines folder, a
team's own tracking platform. The writer thread calls it with batches, never the training
thread. A *store* is a backend that can also be read back (`open_store`, the CLI, the UI).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol, TypedDict, Unpack, runtime_checkable

from tracker.records import Event, MetricBatch, Record, Row, RunRecord, RunStatus, Series

__all__ = [
    "HISTORY_CHUNK",
    "AmbiguousRunError",
    "Backend",
    "BackendBase",
    "Extremes",
    "History",
    "ManyStats",
    "MetricStats",
    "RunFilters",
    "RunNotFoundError",
    "RunQuery",
    "Store",
    "StoreBase",
    "StoreError",
    "StoredExtremes",
    "metric_stats_of",
]

History = Series
"""A metric's points: a sequence of ``(step, value, timestamp)`` tuples held as columns."""

HISTORY_CHUNK = 65_536
"""Most points in one chunk that `Store.iter_history` yields."""


class StoreError(RuntimeError):
    """A store could not be opened or read."""


class RunNotFoundError(StoreError, KeyError):
    """No run matches the given id, id prefix or name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "run not found"


class AmbiguousRunError(StoreError):
    """A run reference (id prefix or name) matches several runs."""

    def __init__(self, ref: str, candidates: Sequence[RunRecord]) -> None:
        self.ref = ref
        self.candidates = list(candidates)
        shown = ", ".join(f"{r.run_id} ({r.name}, {r.project})" for r in self.candidates[:10])
        more = f" and {len(self.candidates) - 10} more" if len(self.candidates) > 10 else ""
        super().__init__(
            f"{ref!r} matches {len(self.candidates)} runs: {shown}{more}; name one by its id"
        )


class MetricStats(Record):
    """What a store knows of a metric without reading its points."""

    __slots__ = ("count", "last_step", "last_value", "last_time", "min", "max")  # noqa: RUF023

    def __init__(
        self,
        count: int,
        last_step: int,
        last_value: float,
        last_time: float,
        min: float,
        max: float,
    ) -> None:
        self.count = count
        self.last_step = last_step
        self.last_value = last_value
        self.last_time = last_time
        self.min = min
        self.max = max


class Extremes(Record):
    """A metric cut down to what an overview chart of it needs: of every slice of about a
    thousand points (a stored chunk), its first, lowest, highest and last finite point,
    in order; with the metric's number of points and how many of them are not finite
    (NaN, inf), which ``points`` leaves out (`tracker.store.metric_extremes`)."""

    __slots__ = ("points", "count", "nonfinite")  # noqa: RUF023 (field order)

    def __init__(self, points: Series, count: int, nonfinite: int) -> None:
        self.points = points
        self.count = count
        self.nonfinite = nonfinite


class RunFilters(TypedDict, total=False):
    """`RunQuery`'s fields as keyword arguments of `Store.runs`."""

    project: str | None
    status: str | None
    tags: Sequence[str]
    framework: str | None
    name_contains: str | None
    sweep: str | None
    limit: int | None
    offset: int


class RunQuery(NamedTuple):
    """Which runs `Store.runs` returns: those matching every given filter, newest first.

    ``status`` matches what readers see, so ``status="crashed"`` finds running runs gone
    silent. ``offset`` runs are skipped, then at most ``limit`` returned.
    """

    project: str | None = None
    status: str | None = None
    tags: Sequence[str] = ()
    framework: str | None = None
    name_contains: str | None = None
    sweep: str | None = None
    limit: int | None = None
    offset: int = 0

    @property
    def status_is_stored(self) -> bool:
        """Whether ``status`` can be matched against the stored status: ``running`` and
        ``crashed`` are told apart only by the heartbeat's age, after reading."""
        return self.status is None or self.status not in (RunStatus.RUNNING, RunStatus.CRASHED)

    def matches(self, run: RunRecord) -> bool:
        """Whether ``run`` (with its effective status) passes every filter."""
        return (
            (self.project is None or run.project == self.project)
            and (self.status is None or run.status == self.status)
            and set(self.tags) <= set(run.tags)
            and (self.framework is None or run.framework == self.framework)
            and (self.name_contains is None or self.name_contains.lower() in run.name.lower())
            and (self.sweep is None or run.sweep == self.sweep)
        )

    def page(self, runs: Sequence[RunRecord]) -> list[RunRecord]:
        """The ``offset`` / ``limit`` window of ``runs``."""
        end = None if self.limit is None else self.offset + self.limit
        return list(runs[self.offset : end])


@runtime_checkable
class Backend(Protocol):
    """Receives one process's runs. Subclass `BackendBase` and override what you need.

    Calls come from the writer thread, in order. ``log_config`` and ``log_summary`` carry
    the keys that changed (merge them: nested dicts merge, later values win). An exception
    is never lost: the writer keeps the call and retries it.
    """

    def start_run(self, run: RunRecord, *, resume: bool) -> None:
        """Create ``run``, or with ``resume`` continue the run of that id if it exists."""

    def log_config(self, run_id: str, config: dict[str, Any]) -> None:
        """Merge ``config`` into the run's config."""

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        """Append a batch of metric points (``batch.points()`` yields them one by one)."""

    def log_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Merge ``summary`` into the run's summary."""

    def log_event(self, run_id: str, event: Event) -> None:
        """Append an event (checkpoint, error, resume) to the run."""

    def heartbeat(self, run_id: str, at: float) -> None:
        """Record that the run's process is alive at ``at``."""

    def log_table(self, run_id: str, key: str, step: int, rows: list[Row]) -> None:
        """Store the rows of table ``key`` at ``step``, replacing that step's earlier rows
        (cells are text, numbers, bools or ``None``: `tracker.tables`)."""

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        """Record the run's end."""

    def close(self) -> None:
        """Release connections and files."""


class BackendBase:
    """A `Backend` whose methods do nothing: override the ones your platform needs."""

    def start_run(self, run: RunRecord, *, resume: bool) -> None:
        """Create or continue a run (default: nothing)."""

    def log_config(self, run_id: str, config: dict[str, Any]) -> None:
        """Merge config (default: nothing)."""

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        """Append metric points (default: nothing)."""

    def log_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Merge summary values (default: nothing)."""

    def log_event(self, run_id: str, event: Event) -> None:
        """Append an event (default: nothing)."""

    def heartbeat(self, run_id: str, at: float) -> None:
        """Record liveness (default: nothing)."""

    def log_table(self, run_id: str, key: str, step: int, rows: list[Row]) -> None:
        """Store a table's rows at a step (default: nothing)."""

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        """Record the end (default: nothing)."""

    def close(self) -> None:
        """Release resources (default: nothing)."""


@runtime_checkable
class Store(Backend, Protocol):
    """A backend that can be read back."""

    uri: str

    def runs(
        self, query: RunQuery | None = None, /, **filters: Unpack[RunFilters]
    ) -> list[RunRecord]:
        """Runs matching a `RunQuery`, newest first: ``runs(RunQuery(project="p"))``, or
        its fields as keywords, ``runs(project="p")``."""
        ...

    def get_run(self, run_id: str) -> RunRecord:
        """The run of this exact id; `RunNotFoundError` if there is none."""
        ...

    def find_runs(self, ref: str) -> list[RunRecord]:
        """Runs whose id is or starts with ``ref``, or whose name is ``ref``, newest first.
        `tracker.store.resolve_run` picks one of them."""
        ...

    def keys(self, run_id: str) -> list[str]:
        """The metric names the run has, sorted."""
        ...

    def history(self, run_id: str, key: str, *, raw: bool = False) -> History:
        """A metric's points in step order, one per step: where a step was logged more
        than once (a resume that went back), the point logged last wins. With ``raw``,
        every point ever logged, in logging order."""
        ...

    def iter_history(self, run_id: str, key: str, *, raw: bool = False) -> Iterator[Series]:
        """The points `history` returns, as column chunks of at most `HISTORY_CHUNK`
        points, read from the store chunk by chunk where it can: a metric of millions of
        points is exported without being held whole."""
        ...

    def metric_stats(self, run_id: str) -> dict[str, MetricStats]:
        """Count, last value and range of each metric of the run."""
        ...

    def events(self, run_id: str) -> list[Event]:
        """The run's events in the order they happened."""
        ...

    def table_keys(self, run_id: str) -> list[str]:
        """The names of the run's tables, sorted."""
        ...

    def table_steps(self, run_id: str, key: str) -> list[int]:
        """The steps at which table ``key`` has rows, in order."""
        ...

    def table_rows(
        self, run_id: str, key: str, *, step: int | None = None, limit: int | None = None
    ) -> list[Row]:
        """The rows of table ``key`` (at ``step`` only, when given), each with its
        ``step``, in step order then logging order; at most ``limit`` of them."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Remove a run and everything logged to it."""
        ...


class StoreBase(BackendBase):
    """What every built-in store shares: `Store.runs` reduced to `select_runs`."""

    def runs(
        self, query: RunQuery | None = None, /, **filters: Unpack[RunFilters]
    ) -> list[RunRecord]:
        """Runs matching ``query`` (or the same filters as keywords), newest first."""
        return self.select_runs((query or RunQuery())._replace(**filters))

    def select_runs(self, query: RunQuery) -> list[RunRecord]:
        """Runs matching ``query``, newest first (each store's own)."""
        raise NotImplementedError


@runtime_checkable
class ManyStats(Protocol):
    """A store that reads the statistics of many runs at once (the SQL stores: one query
    instead of one a run, which a server's round trips make worth it)."""

    def metric_stats_of(self, run_ids: Sequence[str]) -> dict[str, dict[str, MetricStats]]:
        """`Store.metric_stats` of each run."""
        ...


def metric_stats_of(store: Store, run_ids: Sequence[str]) -> dict[str, dict[str, MetricStats]]:
    """`Store.metric_stats` of each run, in one query where the store can (`ManyStats`)."""
    if isinstance(store, ManyStats):
        return store.metric_stats_of(run_ids)
    return {run_id: store.metric_stats(run_id) for run_id in run_ids}


@runtime_checkable
class StoredExtremes(Protocol):
    """A store that keeps each chunk's `Extremes` beside its points (the SQL stores), so
    that an overview of a metric reads a few numbers a chunk instead of every point."""

    def metric_extremes(self, run_id: str, key: str, *, raw: bool = False) -> Extremes:
        """The metric's `Extremes`, as `tracker.store.metric_extremes` gives them."""
        ...
