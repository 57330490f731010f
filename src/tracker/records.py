"""The records a store holds and hands back: runs, events and batches of metric points."""

from __future__ import annotations

import enum
import gc
import operator
import time
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Self, overload

__all__ = [
    "Artifact",
    "ArtifactState",
    "Cell",
    "Evaluation",
    "Event",
    "Lineage",
    "MetricBatch",
    "MetricPoint",
    "Record",
    "Row",
    "RunRecord",
    "RunStatus",
    "Series",
    "effective_status",
    "paused_gc",
]


class RunStatus(enum.StrEnum):
    """The states of a run. ``crashed`` is what readers see of a ``running`` run whose
    process stopped sending heartbeats (killed with SIGKILL, lost its machine)."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"


STALE_HEARTBEATS = 3.0
"""A running run whose last heartbeat is older than this many intervals has crashed..."""
STORE_WAIT_S = 30.0
"""...plus as many intervals again, up to this long: the longest a live writer waits on
a store lock before its heartbeat lands (SQLite's busy timeout). With the default 10 s
heartbeat, a run reads as crashed after 60 s of silence, and a lock held 30 s never
makes a live run look crashed."""


def effective_status(
    status: str, heartbeat_at: float | None, interval: float | None, *, now: float | None = None
) -> str:
    """The status a reader should show: ``crashed`` for a running run gone silent."""
    if status != RunStatus.RUNNING or heartbeat_at is None or not interval:
        return status
    waits = STALE_HEARTBEATS * interval
    stale_after = max(waits, interval + 5.0) + min(waits, STORE_WAIT_S)
    if (time.time() if now is None else now) - heartbeat_at > stale_after:
        return RunStatus.CRASHED.value
    return status


class paused_gc:  # a statement, `with paused_gc():`, so named as one
    """Pause the cyclic garbage collector while many containers are built that hold no
    cycles (tuples of numbers, records read from a store), then resume it if it ran.

    Each few hundred new containers trigger a collection, and each few of those scan
    everything alive: reading 10,000 runs' records took 0.9-1.9 s with it running and
    0.4-0.5 s paused, in one process on the loaded 2-core machine.
    """

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._was_enabled:
            gc.enable()


class Record:
    """Equality, ``repr``, `as_dict` and `replace` from a record class's ``__slots__``.

    What `dataclasses` would generate, written once by hand: reading a metric in a fresh
    process imports this module, and ``dataclasses`` (which imports ``inspect``) would be
    a third of that read's time.
    """

    __slots__: tuple[str, ...] = ()  # each class's fields, in order

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({shown})"

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (the values themselves, not copies)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` made."""
        return type(self)(**(self.as_dict() | changes))


class RunRecord(Record):
    """One run as the store holds it."""

    __slots__ = (  # noqa: RUF023 (field order)
        "run_id",
        "project",
        "name",
        "status",
        "tags",
        "config",
        "summary",
        "environment",
        "framework",
        "error",
        "started_at",
        "ended_at",
        "heartbeat_at",
        "heartbeat_interval",
        "sweep",
    )

    def __init__(
        self,
        run_id: str,
        project: str,
        name: str,
        status: str = RunStatus.RUNNING.value,
        tags: list[str] | None = None,
        config: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        framework: str | None = None,
        error: str | None = None,
        started_at: float = 0.0,
        ended_at: float | None = None,
        heartbeat_at: float | None = None,
        heartbeat_interval: float | None = None,
        sweep: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.project = project
        self.name = name
        self.status = status
        self.tags: list[str] = [] if tags is None else tags
        self.config: dict[str, Any] = {} if config is None else config
        self.summary: dict[str, Any] = {} if summary is None else summary
        self.environment: dict[str, Any] = {} if environment is None else environment
        self.framework = framework
        self.error = error
        self.started_at = started_at
        self.ended_at = ended_at
        self.heartbeat_at = heartbeat_at
        self.heartbeat_interval = heartbeat_interval
        self.sweep = sweep  # the search this run is one trial of (docs/analysis.md)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or to the last heartbeat of an unfinished run."""
        end = self.ended_at or self.heartbeat_at
        return None if end is None else max(0.0, end - self.started_at)

    def _repr_html_(self) -> str:
        """The run as HTML tables, as Jupyter shows it."""
        from tracker.views import run_html  # not at the top: views imports this module

        return run_html(self)


class Event(Record):
    """Something that happened in a run: a checkpoint, an error, a resume."""

    __slots__ = ("kind", "at", "step", "payload")  # noqa: RUF023 (field order)

    def __init__(
        self, kind: str, at: float, step: int | None = None, payload: dict[str, Any] | None = None
    ) -> None:
        self.kind = kind
        self.at = at
        self.step = step
        self.payload: dict[str, Any] = {} if payload is None else payload


class MetricPoint(NamedTuple):
    """One logged value of one metric."""

    key: str
    step: int
    value: float
    timestamp: float


class Series(Sequence[tuple[int, float, float]]):
    """Points of one metric, as three columns: what `Store.history` returns.

    A sequence of ``(step, value, time)`` tuples that holds its points as three packed
    arrays (24 bytes a point, where a list of tuples takes about 140): iterate it, index
    it, slice it (a `Series` again), compare it with another sequence of points, or use
    the columns ``steps``, ``values`` and ``times`` directly (``numpy.frombuffer`` reads
    them without a copy). `tuples` makes a list.
    """

    __slots__ = ("steps", "values", "times")  # noqa: RUF023 (field order)

    def __init__(
        self,
        steps: array[int] | None = None,
        values: array[float] | None = None,
        times: array[float] | None = None,
    ) -> None:
        self.steps: array[int] = array("q") if steps is None else steps
        self.values: array[float] = array("d") if values is None else values
        self.times: array[float] = array("d") if times is None else times

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[tuple[int, float, float]]:
        return zip(self.steps, self.values, self.times, strict=True)

    @overload
    def __getitem__(self, index: int) -> tuple[int, float, float]: ...
    @overload
    def __getitem__(self, index: slice) -> Series: ...
    def __getitem__(self, index: int | slice) -> tuple[int, float, float] | Series:
        if isinstance(index, slice):
            return Series(self.steps[index], self.values[index], self.times[index])
        return self.steps[index], self.values[index], self.times[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Series):
            return (self.steps, self.values, self.times) == (
                other.steps,
                other.values,
                other.times,
            )
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(map(operator.eq, self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        shown = ", ".join(map(repr, self[:3]))
        more = f", ... {len(self) - 3} more" if len(self) > 3 else ""
        return f"Series([{shown}{more}])"

    def tuples(self) -> list[tuple[int, float, float]]:
        """The points as a list of ``(step, value, time)`` tuples.

        The cyclic garbage collector is paused while the list is built: a hundred
        thousand new tuples would otherwise trigger it dozens of times, for nothing to
        collect (tuples of numbers hold no cycles).
        """
        with paused_gc():
            return list(self)


Cell = str | int | float | bool | None
"""One value of a table row."""
Row = dict[str, Cell]
"""One row of a table (completions, generations): column name to value."""


class MetricBatch(Record):
    """The metric points a writer hands to a backend at once, grouped by key.

    ``writer`` (a random id of one writer) and ``seq`` (1, 2, 3... per writer; a retried
    batch keeps its number) identify the batch: a store applies each identified batch
    once, however often it is sent. ``seq`` 0 means no identity.
    """

    __slots__ = ("series", "writer", "seq")  # noqa: RUF023 (field order)

    def __init__(
        self, series: dict[str, Series] | None = None, writer: str = "", seq: int = 0
    ) -> None:
        self.series: dict[str, Series] = {} if series is None else series
        self.writer = writer
        self.seq = seq

    def __len__(self) -> int:
        return sum(len(s) for s in self.series.values())

    def points(self) -> Iterator[MetricPoint]:
        """Every point of the batch, key by key, each key's points in logging order."""
        for key, s in self.series.items():
            for step, value, ts in zip(s.steps, s.values, s.times, strict=True):
                yield MetricPoint(key, step, value, ts)


class ArtifactState(enum.StrEnum):
    """What is known of an artifact's bytes (docs/artifacts.md)."""

    PRESENT = "present"  # hashed (or verified) where its uri says
    GONE = "gone"  # deleted: rotated away by ``save_total_limit``, or by hand
    CHANGED = "changed"  # its bytes differ from its digest now (found by verify)
    UNREADABLE = "unreadable"  # could not be hashed: permission denied, symlink loop, ...
    UNHASHED = "unhashed"  # not hashed yet: recorded at the call; the run ended or was killed
    REMOTE = "remote"  # a reference not on this machine (a hub id, s3://, hf://)


class Artifact(Record):
    """One version of something a run produced (``direction="output"``: a checkpoint, a
    model, an adapter) or used (``"input"``: a base model, a dataset).

    A version is its content: ``digest`` is ``sha256:<hex>`` over its files' bytes and
    relative paths (`tracker.artifacts`), so the same content logged twice is one version;
    ``version`` numbers the distinct contents of one name in one run (1, 2, ...), given
    by the store. ``uri`` is where the bytes are (a path, ``s3://``, a hub id): they are
    never copied. ``metrics`` are the run's latest values when it was saved; ``meta``
    holds what a framework knows besides (revision, dataset split and rows, an error).
    """

    __slots__ = (  # noqa: RUF023 (field order)
        "run_id",
        "name",
        "version",
        "kind",
        "direction",
        "uri",
        "digest",
        "size",
        "files",
        "step",
        "metrics",
        "state",
        "best",
        "created_at",
        "meta",
    )

    def __init__(
        self,
        run_id: str,
        name: str,
        version: int = 0,
        kind: str = "checkpoint",
        direction: str = "output",
        uri: str = "",
        digest: str | None = None,
        size: int | None = None,
        files: int | None = None,
        step: int | None = None,
        metrics: dict[str, float] | None = None,
        state: str = ArtifactState.PRESENT.value,
        best: bool = False,
        created_at: float = 0.0,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.run_id = run_id
        self.name = name
        self.version = version
        self.kind = kind
        self.direction = direction
        self.uri = uri
        self.digest = digest
        self.size = size
        self.files = files
        self.step = step
        self.metrics: dict[str, float] = {} if metrics is None else metrics
        self.state = state
        self.best = best
        self.created_at = created_at
        self.meta: dict[str, Any] = {} if meta is None else meta

    @property
    def identity(self) -> str:
        """What tells versions of one name apart: the digest, else the uri."""
        return self.digest or f"uri:{self.uri}"

    @property
    def kind_label(self) -> str:
        """The kind as ``tracker best`` ranks and lists show it: ``adapter-checkpoint`` for
        a checkpoint that holds a PEFT adapter's weights (``meta["weights"]``), not the
        full model's; otherwise ``kind``."""
        if self.kind == "checkpoint" and self.meta.get("weights") == "adapter":
            return "adapter-checkpoint"
        return self.kind

    def same_content(self, other: Artifact) -> bool:
        """Whether ``other`` is the same bytes: equal digests, or (without) equal uris."""
        if self.digest and other.digest:
            return self.digest == other.digest
        return self.uri == other.uri


class Lineage(Record):
    """Where a run came from and what came of it (`Store.lineage`): its ``inputs`` and
    ``outputs``; ``sources``, the outputs of other runs that are this run's inputs (each
    names its producing run); ``consumers``, the inputs of other runs that are this run's
    outputs (each names the run that used it)."""

    __slots__ = ("run_id", "inputs", "outputs", "sources", "consumers")  # noqa: RUF023

    def __init__(
        self,
        run_id: str,
        inputs: list[Artifact] | None = None,
        outputs: list[Artifact] | None = None,
        sources: list[Artifact] | None = None,
        consumers: list[Artifact] | None = None,
    ) -> None:
        self.run_id = run_id
        self.inputs: list[Artifact] = [] if inputs is None else inputs
        self.outputs: list[Artifact] = [] if outputs is None else outputs
        self.sources: list[Artifact] = [] if sources is None else sources
        self.consumers: list[Artifact] = [] if consumers is None else consumers


class Evaluation(Record):
    """One score of one evaluated version: what a benchmark (lm-evaluation-harness, a
    script) measured of a checkpoint, recorded by the run that evaluated it.

    ``eval_id`` names one evaluation (one task under one set of ``settings``: harness and
    version, few-shot, limit, batch size, chat template, seed); its metrics are one
    record each. The evaluated version is ``uri`` (the path or reference it loaded) and
    ``digest`` (its content, where hashed): readers match it to the version a run logged
    (`tracker.evaluations`), whichever was recorded first. ``value`` is NaN where the
    score was NaN; ``stderr`` is the standard error where the harness gives one.
    ``samples`` is the evaluating run's table of per-sample results, if recorded.
    """

    __slots__ = (  # noqa: RUF023 (field order)
        "run_id",
        "eval_id",
        "task",
        "metric",
        "value",
        "stderr",
        "uri",
        "digest",
        "settings",
        "samples",
        "created_at",
    )

    def __init__(
        self,
        run_id: str,
        eval_id: str,
        task: str,
        metric: str,
        value: float,
        stderr: float | None = None,
        uri: str = "",
        digest: str | None = None,
        settings: dict[str, Any] | None = None,
        samples: str | None = None,
        created_at: float = 0.0,
    ) -> None:
        self.run_id = run_id
        self.eval_id = eval_id
        self.task = task
        self.metric = metric
        self.value = value
        self.stderr = stderr
        self.uri = uri
        self.digest = digest
        self.settings: dict[str, Any] = {} if settings is None else settings
        self.samples = samples
        self.created_at = created_at

    @property
    def name(self) -> str:
        """``task/metric``: how the leaderboard and ``tracker best`` name the score."""
        return f"{self.task}/{self.metric}"
