"""The records a store holds and hands back: runs, events and batches of metric points."""

from __future__ import annotations

import enum
import gc
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "Cell",
    "Event",
    "MetricBatch",
    "MetricPoint",
    "Row",
    "RunRecord",
    "RunStatus",
    "Series",
    "effective_status",
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


@dataclass(slots=True)
class RunRecord:
    """One run as the store holds it."""

    run_id: str
    project: str
    name: str
    status: str = RunStatus.RUNNING.value
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    framework: str | None = None
    error: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None
    heartbeat_at: float | None = None
    heartbeat_interval: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or to the last heartbeat of an unfinished run."""
        end = self.ended_at or self.heartbeat_at
        return None if end is None else max(0.0, end - self.started_at)


@dataclass(slots=True)
class Event:
    """Something that happened in a run: a checkpoint, an error, a resume."""

    kind: str
    at: float
    step: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


class MetricPoint(NamedTuple):
    """One logged value of one metric."""

    key: str
    step: int
    value: float
    timestamp: float


@dataclass(slots=True)
class Series:
    """Points of one metric in logging order, as three columns."""

    steps: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))
    times: array[float] = field(default_factory=lambda: array("d"))

    def __len__(self) -> int:
        return len(self.steps)

    def tuples(self) -> list[tuple[int, float, float]]:
        """The points as ``(step, value, time)`` tuples, in column order.

        The cyclic garbage collector is paused while the list is built: a hundred
        thousand new tuples would otherwise trigger it dozens of times, for nothing to
        collect (tuples of numbers hold no cycles). This halves the time to read a metric.
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            return list(zip(self.steps, self.values, self.times, strict=True))
        finally:
            if paused:
                gc.enable()


Cell = str | int | float | bool | None
"""One value of a table row."""
Row = dict[str, Cell]
"""One row of a table (completions, generations): column name to value."""


@dataclass(slots=True)
class MetricBatch:
    """The metric points a writer hands to a backend at once, grouped by key.

    ``writer`` (a random id of one writer) and ``seq`` (1, 2, 3... per writer; a retried
    batch keeps its number) identify the batch: a store applies each identified batch
    once, however often it is sent. ``seq`` 0 means no identity.
    """

    series: dict[str, Series] = field(default_factory=dict)
    writer: str = ""
    seq: int = 0

    def __len__(self) -> int:
        return sum(len(s) for s in self.series.values())

    def points(self) -> Iterator[MetricPoint]:
        """Every point of the batch, key by key, each key's points in logging order."""
        for key, s in self.series.items():
            for step, value, ts in zip(s.steps, s.values, s.times, strict=True):
                yield MetricPoint(key, step, value, ts)
