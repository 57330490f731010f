"""What a backend implements to receive runs, and what a store implements to read them back.

A *backend* is where a run is written: the embedded SQLite store, a JSON-lines folder, a
team's own tracking platform. The writer thread calls it with batches, never the training
thread. A *store* is a backend that can also be read back (`open_store`, the CLI, the UI).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol, TypedDict, Unpack, runtime_checkable

from tracker.lineage import Links, reachable_runs
from tracker.records import (
    Artifact,
    Evaluation,
    Event,
    Lineage,
    MetricBatch,
    Record,
    Row,
    RunRecord,
    RunStatus,
    Series,
)
from tracker.store.order import RunOrder

__all__ = [
    "CREATED_HERE",
    "HISTORY_CHUNK",
    "AmbiguousRunError",
    "ArtifactFilters",
    "ArtifactQuery",
    "Backend",
    "BackendBase",
    "Blocks",
    "CountsRuns",
    "EvaluationFilters",
    "EvaluationQuery",
    "History",
    "KeepsArtifacts",
    "KeepsEvaluations",
    "Linked",
    "ManyStats",
    "MetricStats",
    "RunFilters",
    "RunNotFoundError",
    "RunQuery",
    "Store",
    "StoreBase",
    "StoreError",
    "StoredBlocks",
    "VersionScores",
    "count_runs",
    "merge_artifact",
    "metric_stats_of",
    "placeholder_ident",
    "started_concurrently",
    "version_scores",
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


class Blocks(Record):
    """A metric cut into blocks of `BLOCK` consecutive points, counted from its first
    (`history`'s step order, or with ``raw`` logging order), so that a chart of any width
    can be drawn without reading every point (`tracker.ui.downsample`): ``records`` holds
    one `BLOCK_RECORD` a block (its first and last point's step and time, finite or not;
    how many of its values are not finite; and its first, lowest, highest and last finite
    point, in order, a slot left unused holding a NaN value), and ``count`` the metric's
    number of points (`tracker.store.metric_blocks`)."""

    __slots__ = ("records", "count")  # noqa: RUF023 (field order)

    def __init__(self, records: bytes, count: int) -> None:
        self.records = records
        self.count = count


class RunFilters(TypedDict, total=False):
    """`RunQuery`'s fields as keyword arguments of `Store.runs`."""

    project: str | None
    status: str | None
    tags: Sequence[str]
    framework: str | None
    name_contains: str | None
    sweep: str | None
    order: RunOrder | None
    limit: int | None
    offset: int


class RunQuery(NamedTuple):
    """Which runs `Store.runs` returns: those matching every given filter, newest first
    or in ``order`` (`tracker.store.order`: by a config path, a summary path, a metric's
    final value or a field of the run, the runs without it last).

    ``status`` matches what readers see, so ``status="crashed"`` finds running runs gone
    silent. ``offset`` runs are skipped, then at most ``limit`` returned.
    """

    project: str | None = None
    status: str | None = None
    tags: Sequence[str] = ()
    framework: str | None = None
    name_contains: str | None = None
    sweep: str | None = None
    order: RunOrder | None = None
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


class ArtifactFilters(TypedDict, total=False):
    """`ArtifactQuery`'s fields as keyword arguments of `Store.artifacts`."""

    run_id: str | None
    project: str | None
    kind: str | None
    direction: str | None
    state: str | None
    name: str | None
    refs: Sequence[str]
    limit: int | None


class ArtifactQuery(NamedTuple):
    """Which artifacts `Store.artifacts` returns: those matching every given filter, in
    the order they were logged. ``refs`` matches an artifact whose digest or uri is one
    of them (how lineage finds the same bytes in other runs)."""

    run_id: str | None = None
    project: str | None = None
    kind: str | None = None
    direction: str | None = None
    state: str | None = None
    name: str | None = None
    refs: Sequence[str] = ()
    limit: int | None = None

    def matches(self, artifact: Artifact, project: str | None = None) -> bool:
        """Whether ``artifact`` (of a run of ``project``) passes every filter."""
        return (
            (self.run_id is None or artifact.run_id == self.run_id)
            and (self.project is None or project == self.project)
            and (self.kind is None or artifact.kind == self.kind)
            and (self.direction is None or artifact.direction == self.direction)
            and (self.state is None or artifact.state == self.state)
            and (self.name is None or artifact.name == self.name)
            and (not self.refs or artifact.digest in self.refs or artifact.uri in self.refs)
        )


class Linked(NamedTuple):
    """What `Store.linked_artifacts` returns: the artifact versions of the runs reached, in
    logging order, and the name of each run they belong to, by id."""

    artifacts: list[Artifact]
    names: dict[str, str]


class EvaluationFilters(TypedDict, total=False):
    """`EvaluationQuery`'s fields as keyword arguments of `Store.evaluations`."""

    run_id: str | None
    project: str | None
    eval_id: str | None
    task: str | None
    metric: str | None
    refs: Sequence[str]
    limit: int | None


class EvaluationQuery(NamedTuple):
    """Which evaluations `Store.evaluations` returns: those matching every given filter,
    in the order they were recorded. ``run_id`` and ``project`` are the evaluating run's;
    ``refs`` matches an evaluation whose digest or uri is one of them (how a checkpoint
    finds its evaluations, `tracker.evaluations`)."""

    run_id: str | None = None
    project: str | None = None
    eval_id: str | None = None
    task: str | None = None
    metric: str | None = None
    refs: Sequence[str] = ()
    limit: int | None = None

    def matches(self, evaluation: Evaluation, project: str | None = None) -> bool:
        """Whether ``evaluation`` (by a run of ``project``) passes every filter."""
        e = evaluation
        return (
            (self.run_id is None or e.run_id == self.run_id)
            and (self.project is None or project == self.project)
            and (self.eval_id is None or e.eval_id == self.eval_id)
            and (self.task is None or e.task == self.task)
            and (self.metric is None or e.metric == self.metric)
            and (not self.refs or e.digest in self.refs or e.uri in self.refs)
        )


def merge_artifact(stored: Artifact, new: Artifact) -> Artifact:
    """What a store keeps when ``new`` is a version it holds (same run, direction, name
    and `Artifact.identity`): the stored version, with the new state and best mark, the
    new metrics where none were stored, and the keys of the new meta it lacks (an
    error); what it holds stays (one file used as the train and the eval set is one
    version, its role the first use's). Every store applies this one rule."""
    return stored.replace(
        state=new.state,
        best=new.best,
        metrics=stored.metrics or new.metrics,
        meta={**new.meta, **stored.meta},
    )


def placeholder_ident(artifact: Artifact) -> str | None:
    """The `Artifact.identity` of the record ``artifact`` completes, if it has a digest:
    the same uri's version logged ``unhashed`` before its digest was done. A store
    turns that record into this version (keeping its number), or drops it when the
    version is held already, so that a crash while hashing leaves the version, and a
    finished hash leaves no trace of the wait."""
    return f"uri:{artifact.uri}" if artifact.digest else None


@runtime_checkable
class KeepsArtifacts(Protocol):
    """A backend that records artifacts: every `Backend` written since they exist (and
    every `BackendBase`); one written before is passed over."""

    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        """Record an artifact version (an output or an input of the run)."""


@runtime_checkable
class KeepsEvaluations(Protocol):
    """A backend that records evaluations (every `BackendBase`; one written before they
    existed is passed over)."""

    def log_evaluations(self, run_id: str, evaluations: list[Evaluation]) -> None:
        """Record the scores of one evaluation (`tracker.records.Evaluation`) made by run
        ``run_id``; a score held already (same run, ``eval_id`` and metric) is kept as
        held, so that a retried or synced call changes nothing."""


@runtime_checkable
class Backend(Protocol):
    """Receives one process's runs. Subclass `BackendBase` and override what you need.

    Calls come from the writer thread, in order. ``log_config`` and ``log_summary`` carry
    the keys that changed (merge them: nested dicts merge, later values win). An exception
    is never lost: the writer keeps the call and retries it.
    """

    def start_run(self, run: RunRecord, *, resume: bool) -> None:
        """Create ``run``, or continue the run of that id if it exists (expected with
        ``resume``); never replace it. A store decides which atomically, and records
        `started_concurrently` where it continues a run it was not told to resume."""

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

    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        """Record a version the run produced or used. A version already held (same
        direction, name and `Artifact.identity`) is updated (`merge_artifact`), not
        added; a new one gets the next ``version`` of its name, or completes the
        ``unhashed`` record of its uri (`placeholder_ident`). ``best`` is one version per
        run and kind: marking one unmarks the others."""

    def close(self) -> None:
        """Release connections and files."""


class _CreatedHere:
    """Which call of this process's `Backend.start_run` created each run, by store and
    run id: that same call sent again (the insert was committed, its answer lost) finds
    the run it created itself and is no other process. Start times cannot tell them apart:
    two processes woken together start one run id at the very same ``time.time()`` (3 % of
    tries of `tests/store/test_sql.py`'s race on 2 cores). The call is its record object,
    kept (an ``id()`` alone is reused once the record is freed, and a later call of this
    process would pass for a retry); the latest `KEPT` creations, as a retry follows its
    call within seconds."""

    KEPT = 256

    def __init__(self) -> None:
        self._calls: OrderedDict[tuple[str, str], RunRecord] = OrderedDict()
        self._lock = threading.Lock()  # the writers of several runs create at once

    def created(self, uri: str, run: RunRecord) -> None:
        """``run``'s record (held by its writer while it may be sent again) created it."""
        with self._lock:
            self._calls[uri, run.run_id] = run
            self._calls.move_to_end((uri, run.run_id))
            if len(self._calls) > self.KEPT:
                self._calls.popitem(last=False)

    def by_this_call(self, uri: str, run: RunRecord) -> bool:
        """Whether the existing run was created by this very call (a retry of it)."""
        with self._lock:
            return self._calls.get((uri, run.run_id)) is run


CREATED_HERE = _CreatedHere()
"""The runs this process created (`_CreatedHere`), shared by the stores that decide."""


def started_concurrently(run: RunRecord) -> Event:
    """The ``resumed`` event of a process that started ``run`` (not resuming it) and found
    it created already: another process started the same run id at the same moment."""
    return Event(
        "resumed",
        run.started_at,
        None,
        {
            "reason": "another process started this run id at the same moment; "
            "this process continues the same run (both keep their points)"
        },
    )


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

    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        """Record an artifact version (default: nothing)."""

    def log_evaluations(self, run_id: str, evaluations: list[Evaluation]) -> None:
        """Record an evaluation's scores (default: nothing)."""

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

    def artifacts(
        self, query: ArtifactQuery | None = None, /, **filters: Unpack[ArtifactFilters]
    ) -> list[Artifact]:
        """Artifact versions matching an `ArtifactQuery` (or its fields as keywords),
        in the order they were logged."""
        ...

    def lineage(self, run_id: str) -> Lineage:
        """The run's inputs and outputs, the runs its inputs came from and the runs that
        used its outputs."""
        ...

    def linked_artifacts(
        self, run_ids: Sequence[str], *, upstream: bool, depth: int | None = None
    ) -> Linked:
        """Every artifact version of ``run_ids`` and of the runs they lead to within
        ``depth`` links (all without; a cycle ends): upstream, the runs that produced their
        inputs, then those runs' inputs' producers, ...; downstream, the runs that used
        their outputs, and on (`tracker.lineage`)."""
        ...

    def evaluations(
        self, query: EvaluationQuery | None = None, /, **filters: Unpack[EvaluationFilters]
    ) -> list[Evaluation]:
        """Evaluations matching an `EvaluationQuery` (or its fields as keywords), in the
        order they were recorded."""
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

    def artifacts(
        self, query: ArtifactQuery | None = None, /, **filters: Unpack[ArtifactFilters]
    ) -> list[Artifact]:
        """Artifacts matching ``query`` (or the same filters as keywords), in logging order."""
        return self.select_artifacts((query or ArtifactQuery())._replace(**filters))

    def select_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        """Artifacts matching ``query`` (each store's own; default: a store that keeps none)."""
        return []

    def evaluations(
        self, query: EvaluationQuery | None = None, /, **filters: Unpack[EvaluationFilters]
    ) -> list[Evaluation]:
        """Evaluations matching ``query`` (or the same filters as keywords), in order."""
        return self.select_evaluations((query or EvaluationQuery())._replace(**filters))

    def select_evaluations(self, query: EvaluationQuery) -> list[Evaluation]:
        """Evaluations matching ``query`` (each store's own; default: a store that keeps
        none)."""
        return []

    def lineage(self, run_id: str) -> Lineage:
        """The run's inputs and outputs, and the same bytes in other runs: the outputs
        its inputs are (``sources``) and the inputs its outputs became (``consumers``)."""
        mine = self.select_artifacts(ArtifactQuery(run_id=run_id))
        inputs = [a for a in mine if a.direction == "input"]
        outputs = [a for a in mine if a.direction == "output"]
        return Lineage(
            run_id,
            inputs,
            outputs,
            self._others(run_id, inputs, "output"),
            self._others(run_id, outputs, "input"),
        )

    def linked_artifacts(
        self, run_ids: Sequence[str], *, upstream: bool, depth: int | None = None
    ) -> Linked:
        """`Store.linked_artifacts` from every artifact at once, walked in Python (the SQL
        stores walk in one recursive query instead)."""
        every = self.select_artifacts(ArtifactQuery())
        reached = reachable_runs(Links(every), run_ids, upstream=upstream, depth=depth)
        reached_set = set(reached)
        names = {r.run_id: r.name for r in self.select_runs(RunQuery()) if r.run_id in reached_set}
        found = [a for a in every if a.run_id in names]
        return Linked(found, {a.run_id: names[a.run_id] for a in found})

    def _others(self, run_id: str, mine: list[Artifact], direction: str) -> list[Artifact]:
        """Artifacts of other runs, of ``direction``, with the same bytes as one of ``mine``."""
        refs = sorted({ref for a in mine for ref in (a.digest, a.uri) if ref})
        if not refs:
            return []
        found = self.select_artifacts(ArtifactQuery(direction=direction, refs=refs))
        return [a for a in found if a.run_id != run_id and any(a.same_content(m) for m in mine)]


@runtime_checkable
class ManyStats(Protocol):
    """A store that reads the statistics of many runs at once (the SQL stores: one query
    instead of one a run, which a server's round trips make worth it)."""

    def metric_stats_of(self, run_ids: Sequence[str]) -> dict[str, dict[str, MetricStats]]:
        """`Store.metric_stats` of each run."""
        ...


def metric_stats_of(store: Store, run_ids: Sequence[str]) -> dict[str, dict[str, MetricStats]]:
    """`Store.metric_stats` of each run, in one query where the store can (`ManyStats`);
    an id of no run has no metrics (as the SQL stores' one query finds it)."""
    if isinstance(store, ManyStats):
        return store.metric_stats_of(run_ids)
    return {run_id: _stats_or_none(store, run_id) for run_id in run_ids}


def _stats_or_none(store: Store, run_id: str) -> dict[str, MetricStats]:
    try:
        return store.metric_stats(run_id)
    except RunNotFoundError:
        return {}


@runtime_checkable
class CountsRuns(Protocol):
    """A store that counts the runs a `RunQuery` matches without reading them (the SQL
    stores), so that a paged list says how many pages there are at the cost of a page."""

    def count_runs(self, query: RunQuery) -> int:
        """How many runs match ``query``'s filters; its ``limit`` and ``offset`` aside."""
        ...


def count_runs(store: Store, query: RunQuery) -> int:
    """How many runs match ``query``'s filters (its ``limit`` and ``offset`` aside), counted
    by the store where it can (`CountsRuns`), else by reading them."""
    if isinstance(store, CountsRuns):
        return store.count_runs(query)
    return len(store.runs(query._replace(limit=None, offset=0)))


@runtime_checkable
class StoredBlocks(Protocol):
    """A store that keeps each chunk's `Blocks` beside its points (the SQL stores), so
    that a chart of a long metric reads an eighth of its bytes instead of every point,
    the blocks of all of a chart's runs in one query (a server's round trips)."""

    def metric_blocks_of(
        self, run_ids: Sequence[str], key: str, *, raw: bool = False
    ) -> Iterator[tuple[str, Blocks]]:
        """Metric ``key``'s `Blocks` of each run, as `tracker.store.metric_blocks_of`
        gives them."""
        ...


class VersionScores(Record):
    """The scores one run recorded of one evaluated version (as the evaluations name it:
    ``uri`` and ``digest``), in the order they were stored: what a leaderboard matches to
    a checkpoint once, not once a score."""

    __slots__ = ("run_id", "uri", "digest", "evaluations")  # noqa: RUF023 (field order)

    def __init__(
        self, run_id: str, uri: str, digest: str | None, evaluations: list[Evaluation]
    ) -> None:
        self.run_id = run_id
        self.uri = uri
        self.digest = digest
        self.evaluations = evaluations


@runtime_checkable
class GroupsScores(Protocol):
    """A store that keeps each run's scores of a version together (the SQL stores: one row
    a run and version instead of one a score), so that a leaderboard of 1,000 versions x 50
    tasks reads 1,000 rows."""

    def version_scores(
        self, *, refs: Sequence[str] = (), project: str | None = None
    ) -> list[VersionScores]:
        """`tracker.store.base.version_scores`, read by the store."""
        ...


def version_scores(
    store: Store, *, refs: Sequence[str] = (), project: str | None = None
) -> list[VersionScores]:
    """The scores (`Store.evaluations`) of the versions whose digest or uri is one of
    ``refs`` (where given) that the runs of ``project`` recorded (where given), grouped by
    run and version: kept together by the store where it can (`GroupsScores`), else
    grouped here."""
    if isinstance(store, GroupsScores):
        return store.version_scores(refs=refs, project=project)
    groups: dict[tuple[str, str, str | None], VersionScores] = {}
    for e in store.evaluations(refs=refs, project=project):
        key = (e.run_id, e.uri, e.digest)
        group = groups.get(key)
        if group is None:
            group = groups[key] = VersionScores(e.run_id, e.uri, e.digest, [])
        group.evaluations.append(e)
    return list(groups.values())
