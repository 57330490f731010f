"""What travels from a run to its backends: metric points and typed calls.

The training thread puts a `Point` (one ``log_metrics`` call) or a `Call` into the
writer's `tracker.writer.Channel`; the writer thread groups points into `LogMetrics`
batches and applies each call to every backend with `Call.apply`, a typed method call
the type checker sees (no dispatch by method name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.records import Artifact, Event, MetricBatch, RunRecord
from tracker.store.base import Backend

__all__ = [
    "Call",
    "FinishRun",
    "LogArtifact",
    "LogConfig",
    "LogEvent",
    "LogMetrics",
    "LogSummary",
    "LogTable",
    "Point",
    "StartRun",
]

Point = tuple[int, float, dict[str, float]]
"""``(step, unix time, {key: value})``: one ``log_metrics`` call, already checked."""


@dataclass(slots=True)
class StartRun:
    """Create the run, or with ``resume`` continue it."""

    record: RunRecord
    resume: bool

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.start_run(self.record, resume=self.resume)


@dataclass(slots=True)
class LogConfig:
    """Merge keys into the run's config."""

    config: dict[str, Any]

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_config(run_id, self.config)


@dataclass(slots=True)
class LogSummary:
    """Merge keys into the run's summary."""

    summary: dict[str, Any]

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_summary(run_id, self.summary)


@dataclass(slots=True)
class LogEvent:
    """Append an event."""

    event: Event

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_event(run_id, self.event)


@dataclass(slots=True)
class LogMetrics:
    """Append a batch of points (made by the writer from queued `Point` s)."""

    batch: MetricBatch = field(default_factory=MetricBatch)

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_metrics(run_id, self.batch)


@dataclass(slots=True)
class LogTable:
    """Store a table's rows at a step (as the run hands them; the writer cleans them)."""

    key: str
    step: int
    rows: list[Any]

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.log_table(run_id, self.key, self.step, self.rows)


@dataclass(slots=True)
class LogArtifact:
    """Record an artifact version, hashed already (`tracker.artifacts`)."""

    artifact: Artifact

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend`` (one written before backends had ``log_artifact`` and not
        derived from `BackendBase` is passed over: it keeps no artifacts)."""
        log_artifact = getattr(backend, "log_artifact", None)
        if log_artifact is not None:
            log_artifact(run_id, self.artifact)


@dataclass(slots=True)
class FinishRun:
    """Record the run's end."""

    status: str
    ended_at: float
    error: str | None

    def apply(self, backend: Backend, run_id: str) -> None:
        """Send to ``backend``."""
        backend.finish_run(run_id, self.status, self.ended_at, self.error)


Call = (
    StartRun | LogConfig | LogSummary | LogEvent | LogMetrics | LogTable | LogArtifact | FinishRun
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
    if isinstance(call, StartRun):
        return "start_run"
    return f"finish_run ({call.status})"
