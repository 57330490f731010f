"""What travels from a run to its backends: metric points and typed calls.

The training thread puts a `Point` (one ``log_metrics`` call) or a `Call` into the
writer's `tracker.writer.Channel`; the writer thread groups points into `LogMetrics`
batches and applies each call to every backend with `Call.apply`, a typed method call
the type checker sees (no dispatch by method name).
"""

from __future__ import annotations

from typing import Any

from tracker.records import Artifact, Evaluation, Event, MetricBatch, Record, RunRecord
from tracker.store.base import Backend, KeepsArtifacts, KeepsEvaluations

__all__ = [
    "Call",
    "FinishRun",
    "LogArtifact",
    "LogConfig",
    "LogEvaluations",
    "LogEvent",
    "LogMetrics",
    "LogSummary",
    "LogTable",
    "Point",
    "StartRun",
]

Point = tuple[int, float, dict[str, float]]
"""``(step, unix time, {key: value})``: one ``log_metrics`` call, already checked."""


class StartRun(Record):
    """Create the run, or with ``resume`` continue it."""

    __slots__ = ("record", "resume")

    def __init__(self, record: RunRecord, resume: bool) -> None:
        self.record = record
        self.resume = resume

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.start_run(self.record, resume=self.resume)


class LogConfig(Record):
    """Merge keys into the run's config."""

    __slots__ = ("config",)

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_config(run_id, self.config)


class LogSummary(Record):
    """Merge keys into the run's summary."""

    __slots__ = ("summary",)

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_summary(run_id, self.summary)


class LogEvent(Record):
    """Append an event."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_event(run_id, self.event)


class LogMetrics(Record):
    """Append a batch of points (made by the writer from queued `Point` s)."""

    __slots__ = ("batch",)

    def __init__(self, batch: MetricBatch | None = None) -> None:
        self.batch: MetricBatch = MetricBatch() if batch is None else batch

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_metrics(run_id, self.batch)


class LogTable(Record):
    """Store a table's rows at a step (as the run hands them; the writer cleans them)."""

    __slots__ = ("key", "rows", "step")

    def __init__(self, key: str, step: int, rows: list[Any]) -> None:
        self.key = key
        self.step = step
        self.rows = rows

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_table(run_id, self.key, self.step, self.rows)


class LogArtifact(Record):
    """Record an artifact version, hashed already (`tracker.artifacts`)."""

    __slots__ = ("artifact",)

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend`` (one written before backends had ``log_artifact`` and not
        derived from `BackendBase` is passed over: it keeps no artifacts)."""
        if isinstance(backend, KeepsArtifacts):
            backend.log_artifact(run_id, self.artifact)


class LogEvaluations(Record):
    """Record the scores of one evaluation, its version's digest filled in where this
    process hashed it (`tracker.evaluations`)."""

    __slots__ = ("evaluations",)

    def __init__(self, evaluations: list[Evaluation]) -> None:
        self.evaluations = evaluations

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend`` (one that keeps no evaluations is passed over)."""
        if isinstance(backend, KeepsEvaluations):
            backend.log_evaluations(run_id, self.evaluations)


class FinishRun(Record):
    """Record the run's end."""

    __slots__ = ("ended_at", "error", "status")

    def __init__(self, status: str, ended_at: float, error: str | None) -> None:
        self.status = status
        self.ended_at = ended_at
        self.error = error

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.finish_run(run_id, self.status, self.ended_at, self.error)


Call = (
    StartRun
    | LogConfig
    | LogSummary
    | LogEvent
    | LogMetrics
    | LogTable
    | LogArtifact
    | LogEvaluations
    | FinishRun
)
"""Every call a backend receives, in the order the run made them."""


def points_of(call: Call) -> int:
    """How many metric points ``call`` carries."""
    return len(call.batch) if isinstance(call, LogMetrics) else 0


def describe(call: Call) -> str:
    """A short account of ``call`` for a warning: what it is, not what it holds."""
    if isinstance(call, LogMetrics):
        keys = sorted(call.batch.series)
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        return f"log_metrics ({len(call.batch)} points of {shown})"
    if isinstance(call, LogEvent):
        return f"log_event ({call.event.kind!r})"
    if isinstance(call, LogConfig | LogSummary):
        data = call.config if isinstance(call, LogConfig) else call.summary
        name = "log_config" if isinstance(call, LogConfig) else "log_summary"
        return f"{name} (keys {', '.join(sorted(data)[:5])})"
    if isinstance(call, LogTable):
        return f"log_table ({call.key!r}, step {call.step}, {len(call.rows)} rows)"
    if isinstance(call, LogArtifact):
        return f"log_artifact ({call.artifact.kind} {call.artifact.uri!r})"
    if isinstance(call, LogEvaluations):
        first = call.evaluations[0] if call.evaluations else None
        task = "" if first is None else f"{first.task!r}, "
        return f"log_evaluations ({task}{len(call.evaluations)} scores)"
    if isinstance(call, StartRun):
        return "start_run"
    return f"finish_run ({call.status})"
