"""A folder of JSON-lines files, one per run (``jsonl:///DIR``): plain text anyone can read.

Each line is one call the writer made, ``{"op": ..., ...}``, appended in order; reading a
run replays its file. Floats that JSON lacks are written as ``NaN``, ``Infinity`` and
``-Infinity``, as Python's `json` module does. Made for portability and for rescuing
data, not for speed: use the SQLite store for large runs.
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from tracker.records import Artifact, Evaluation, Event, MetricBatch, Row, RunRecord, Series
from tracker.store.base import (
    ArtifactQuery,
    EvaluationQuery,
    History,
    Linked,
    MetricStats,
    RunNotFoundError,
    RunQuery,
    StoreBase,
    StoreError,
)
from tracker.store.memory import MemoryStore

__all__ = ["JsonlStore"]


class JsonlStore(StoreBase):
    """Runs as ``DIR/<run_id>.jsonl`` files."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self.uri = f"jsonl:///{self.directory}"
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the JSON-lines store at {self.directory}: {exc}"
            ) from exc

    @classmethod
    def from_uri(cls, uri: str) -> JsonlStore:
        """Open ``jsonl:///DIR`` (``jsonl:///relative`` or ``jsonl:////absolute``)."""
        rest = uri.partition("://")[2]
        if not rest.startswith("/"):
            raise StoreError(f"bad JSON-lines URI {uri!r}: write jsonl:///path/to/folder")
        return cls(rest[1:] or ".")

    # -- writing -------------------------------------------------------------------------
    def _write(self, run_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            handle = self._files.get(run_id)
            if handle is None:
                handle = self._files[run_id] = open(  # noqa: SIM115 - kept open for appends
                    self.directory / f"{run_id}.jsonl", "a", encoding="utf-8"
                )
            handle.write(json.dumps(record) + "\n")
            handle.flush()

    def start_run(self, run: RunRecord, *, resume: bool) -> None:
        """Append the run's start (a file there already is continued, never replaced:
        reading replays both starts, as the other stores keep both writers' points)."""
        self._write(run.run_id, {"op": "start", "resume": resume, "run": run.as_dict()})

    def log_config(self, run_id: str, config: dict[str, Any]) -> None:
        """Append a config update."""
        self._write(run_id, {"op": "config", "config": config})

    def log_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Append a summary update."""
        self._write(run_id, {"op": "summary", "summary": summary})

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        """Append a batch of points, one line per metric, each with the batch's identity
        (``writer``, ``seq``) so a replay into another store can apply the batch once."""
        for key, s in batch.series.items():
            self._write(
                run_id,
                {
                    "op": "metrics",
                    "key": key,
                    "steps": s.steps.tolist(),
                    "values": s.values.tolist(),
                    "times": s.times.tolist(),
                    "writer": batch.writer,
                    "seq": batch.seq,
                },
            )

    def log_event(self, run_id: str, event: Event) -> None:
        """Append an event."""
        self._write(run_id, {"op": "event", "event": event.as_dict()})

    def heartbeat(self, run_id: str, at: float) -> None:
        """Append a heartbeat."""
        self._write(run_id, {"op": "heartbeat", "at": at})

    def log_table(self, run_id: str, key: str, step: int, rows: list[Row]) -> None:
        """Append a step's rows of a table."""
        self._write(run_id, {"op": "table", "key": key, "step": step, "rows": rows})

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        """Append the run's end."""
        self._write(run_id, {"op": "finish", "status": status, "at": ended_at, "error": error})

    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        """Append an artifact version (versions are numbered as the file is replayed)."""
        self._write(run_id, {"op": "artifact", "artifact": artifact.as_dict()})

    def log_evaluations(self, run_id: str, evaluations: list[Evaluation]) -> None:
        """Append an evaluation's scores (a score held already is kept as held)."""
        self._write(run_id, {"op": "evaluation", "scores": [e.as_dict() for e in evaluations]})

    def close(self) -> None:
        """Close the open files."""
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()

    # -- reading -------------------------------------------------------------------------
    def _replay(self, run_ids: Sequence[str] | None = None) -> MemoryStore:
        memory = MemoryStore()
        paths = (
            sorted(self.directory.glob("*.jsonl"))
            if run_ids is None
            else [self.directory / f"{r}.jsonl" for r in run_ids]
        )
        for path in paths:
            if path.exists():
                _replay_file(path, memory)
        return memory

    def select_runs(self, query: RunQuery) -> list[RunRecord]:
        """Runs matching the query, newest first."""
        return self._replay().select_runs(query)

    def get_run(self, run_id: str) -> RunRecord:
        """The run of this id."""
        return self._replay([run_id]).get_run(run_id)

    def find_runs(self, ref: str) -> list[RunRecord]:
        """Runs whose id is or starts with ``ref``, or whose name is ``ref``."""
        return self._replay().find_runs(ref)

    def keys(self, run_id: str) -> list[str]:
        """Metric names, sorted."""
        return self._replay([run_id]).keys(run_id)

    def history(self, run_id: str, key: str, *, raw: bool = False) -> History:
        """Points in step order, last write per step wins (or all, in logging order)."""
        return self._replay([run_id]).history(run_id, key, raw=raw)

    def iter_history(self, run_id: str, key: str, *, raw: bool = False) -> Iterator[Series]:
        """`history` in column chunks (the run's file is replayed whole first)."""
        return self._replay([run_id]).iter_history(run_id, key, raw=raw)

    def metric_stats(self, run_id: str) -> dict[str, MetricStats]:
        """Count, last value and range per metric."""
        return self._replay([run_id]).metric_stats(run_id)

    def events(self, run_id: str) -> list[Event]:
        """Events in order."""
        return self._replay([run_id]).events(run_id)

    def table_keys(self, run_id: str) -> list[str]:
        """Table names, sorted."""
        return self._replay([run_id]).table_keys(run_id)

    def table_steps(self, run_id: str, key: str) -> list[int]:
        """The steps of a table, in order."""
        return self._replay([run_id]).table_steps(run_id, key)

    def table_rows(
        self, run_id: str, key: str, *, step: int | None = None, limit: int | None = None
    ) -> list[Row]:
        """A table's rows (of one step), each with its step."""
        return self._replay([run_id]).table_rows(run_id, key, step=step, limit=limit)

    def select_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        """Artifacts matching the query, in logging order."""
        runs = None if query.run_id is None else [query.run_id]
        return self._replay(runs).select_artifacts(query)

    def linked_artifacts(
        self, run_ids: Sequence[str], *, upstream: bool, depth: int | None = None
    ) -> Linked:
        """`Store.linked_artifacts`, every run replayed once."""
        return self._replay().linked_artifacts(run_ids, upstream=upstream, depth=depth)

    def select_evaluations(self, query: EvaluationQuery) -> list[Evaluation]:
        """Evaluations matching the query, in recording order."""
        runs = None if query.run_id is None else [query.run_id]
        return self._replay(runs).select_evaluations(query)

    def delete_run(self, run_id: str) -> None:
        """Remove the run's file."""
        with self._lock:
            handle = self._files.pop(run_id, None)
            if handle is not None:
                handle.close()
        path = self.directory / f"{run_id}.jsonl"
        if not path.exists():
            raise RunNotFoundError(f"no run with id {run_id!r} in {self.uri}")
        path.unlink()


def _replay_file(path: Path, memory: MemoryStore) -> None:
    run_id = path.stem
    starts: dict[str, RunRecord] = {}  # by line: the same start written again is one call's retry
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a crash: the rest is intact
                continue
            if record.get("op") == "start":  # another process's start is another line
                run = starts.setdefault(line, RunRecord(**record["run"]))
                memory.start_run(run, resume=record["resume"])
                continue
            op = _OPS.get(record.get("op"))
            if op is not None:
                op(memory, run_id, record)


def _metrics(memory: MemoryStore, run_id: str, record: dict[str, Any]) -> None:
    series = Series(
        array("q", record["steps"]), array("d", record["values"]), array("d", record["times"])
    )
    memory.log_metrics(run_id, MetricBatch({record["key"]: series}))


_OPS: dict[Any, Callable[[MemoryStore, str, dict[str, Any]], None]] = {
    "config": lambda m, run_id, r: m.log_config(run_id, r["config"]),
    "summary": lambda m, run_id, r: m.log_summary(run_id, r["summary"]),
    "metrics": _metrics,
    "event": lambda m, run_id, r: m.log_event(run_id, Event(**r["event"])),
    "heartbeat": lambda m, run_id, r: m.heartbeat(run_id, r["at"]),
    "finish": lambda m, run_id, r: m.finish_run(run_id, r["status"], r["at"], r["error"]),
    "table": lambda m, run_id, r: m.log_table(run_id, r["key"], r["step"], r["rows"]),
    "artifact": lambda m, run_id, r: m.log_artifact(run_id, Artifact(**r["artifact"])),
    "evaluation": lambda m, run_id, r: m.log_evaluations(
        run_id, [Evaluation(**e) for e in r["scores"]]
    ),
}
