"""Copying runs between stores, and delivering what a run could not write: `tracker sync`.

Two kinds of source:

* **A store** (`copy_runs`): each run is compared with the target and only what the
  target lacks is copied: the run's record when it has none, then per metric the points
  past the target's count (in logging order), the table steps it lacks, the events past
  its count, its artifact versions (each a merge, so sending one again changes nothing:
  lineage follows, since it is found by digest and uri), its evaluations (a score held
  already is kept, so sending one again changes nothing), and the
  config, summary and end (merges, so sending them again changes nothing). Each batch is
  one transaction in the target, so a sync that is killed leaves a consistent prefix, and
  the next one goes on from there; a second sync copies nothing.
* **Unsent files** (`deliver_unsent`): the rescue files and spools that a run left in its
  unsent folders (`tracker.rescue.rescue_dirs`) while its store was unreachable. They
  are replayed call by call; every metric batch keeps its identity (writer, number), so
  a batch the store already has is not stored twice. A file is removed once delivered;
  one that failed `TRIES` times is moved to ``failed/`` beside it, no longer retried.
"""

from __future__ import annotations

import json
import logging
import sys
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tracker.records import (
    Artifact,
    Evaluation,
    Event,
    MetricBatch,
    Record,
    Row,
    RunRecord,
    Series,
)
from tracker.store.base import Backend, KeepsEvaluations, RunNotFoundError, Store

__all__ = [
    "TRIES",
    "SyncReport",
    "copy_runs",
    "deliver_in_background",
    "deliver_unsent",
    "unsent_files",
]

log = logging.getLogger("tracker")

Progress = Callable[[int], None]
"""Called with the number of points just copied."""


class SyncReport(Record):
    """What a sync did."""

    __slots__ = ("events", "files", "points", "runs")

    def __init__(self, runs: int = 0, points: int = 0, events: int = 0, files: int = 0) -> None:
        self.runs = runs
        self.points = points
        self.events = events
        self.files = files


def _count(progress: Progress | None, n: int) -> None:
    if progress is not None and n:
        progress(n)


# -- store to store --------------------------------------------------------------------------
def missing_points(source: Store, target: Store, run_ids: Sequence[str]) -> int:
    """How many points ``target`` lacks of the runs ``run_ids`` of ``source``."""
    total = 0
    for run_id in run_ids:
        have = _stats_or_empty(target, run_id)
        for key, stats in source.metric_stats(run_id).items():
            total += max(0, stats.count - have.get(key, 0))
    return total


def _stats_or_empty(store: Store, run_id: str) -> dict[str, int]:
    try:
        return {key: s.count for key, s in store.metric_stats(run_id).items()}
    except RunNotFoundError:
        return {}


def copy_runs(
    source: Store, target: Store, run_ids: Sequence[str], progress: Progress | None = None
) -> SyncReport:
    """Copy what ``target`` lacks of each run of ``run_ids`` in ``source``."""
    report = SyncReport()
    for run_id in run_ids:
        points, events = copy_run(source, target, run_id, progress)
        report.runs += 1
        report.points += points
        report.events += events
    return report


def copy_run(
    source: Store, target: Store, run_id: str, progress: Progress | None = None
) -> tuple[int, int]:
    """Copy what ``target`` lacks of run ``run_id``; the points and events copied."""
    record = source.get_run(run_id)
    try:
        existing: RunRecord | None = target.get_run(run_id)
    except RunNotFoundError:
        existing = None
    if existing is None:
        target.start_run(record.replace(status="running", ended_at=None), resume=False)
    else:
        if record.config:
            target.log_config(run_id, record.config)
        if record.summary:
            target.log_summary(run_id, record.summary)
    have = _stats_or_empty(target, run_id)
    points = 0
    for key, stats in source.metric_stats(run_id).items():
        skip = have.get(key, 0)
        if skip >= stats.count:
            continue
        for chunk in _points_after(source.iter_history(run_id, key, raw=True), skip):
            target.log_metrics(run_id, MetricBatch({key: chunk}))
            points += len(chunk)
            _count(progress, len(chunk))
    for key in source.table_keys(run_id):
        held = set(target.table_steps(run_id, key)) if existing is not None else set()
        for step in source.table_steps(run_id, key):
            if step not in held:
                rows = source.table_rows(run_id, key, step=step)
                target.log_table(run_id, key, step, [_without_step(r) for r in rows])
    events = source.events(run_id)
    known = len(target.events(run_id)) if existing is not None else 0
    for event in events[known:]:
        target.log_event(run_id, event)
    for artifact in source.artifacts(run_id=run_id):
        target.log_artifact(run_id, artifact)
    _copy_evaluations(source, target, run_id)
    if record.ended_at is not None:
        target.finish_run(run_id, record.status, record.ended_at, record.error)
    elif record.heartbeat_at is not None:
        target.heartbeat(run_id, record.heartbeat_at)
    return points, max(0, len(events) - known)


def _copy_evaluations(source: Store, target: Store, run_id: str) -> None:
    """Send the run's evaluations, one call each (a score held already stays as held)."""
    by_eval: dict[str, list[Evaluation]] = {}
    for evaluation in source.evaluations(run_id=run_id):
        by_eval.setdefault(evaluation.eval_id, []).append(evaluation)
    if by_eval and isinstance(target, KeepsEvaluations):
        for scores in by_eval.values():
            target.log_evaluations(run_id, scores)


def _without_step(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != "step"}


def _points_after(chunks: Iterable[Series], skip: int) -> Iterator[Series]:
    """The points of ``chunks`` past the first ``skip``."""
    for chunk in chunks:
        n = len(chunk)
        if skip >= n:
            skip -= n
            continue
        if skip:
            yield Series(chunk.steps[skip:], chunk.values[skip:], chunk.times[skip:])
            skip = 0
        else:
            yield chunk


# -- unsent files ----------------------------------------------------------------------------
def unsent_files(dirs: Iterable[Path], targets: Collection[str] | None = None) -> list[Path]:
    """The rescue and spool files in ``dirs`` (only those meant for one of ``targets``,
    when given: store URIs as the files name them, passwords hidden), oldest first."""
    found: list[Path] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in [*directory.glob("*.jsonl"), *directory.glob("*.spool")]:
            if targets is None or _target_of(path) in targets:
                found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime)


def _target_of(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8") as handle:
            first = json.loads(handle.readline() or "{}")
    except (OSError, ValueError):
        return None
    uri = first.get("target") if isinstance(first, dict) else None
    return uri if isinstance(uri, str) else None


def deliver_unsent(
    paths: Iterable[Path], target: Backend, progress: Progress | None = None
) -> SyncReport:
    """Replay each unsent file into ``target`` and remove it once delivered. A file that
    fails stays, for the next sync, and the error is logged; after `TRIES` failures (in
    any process: counted in ``<file>.tries`` beside it) it is moved to ``failed/`` under
    its folder, with one warning saying where it is and how to deliver it, so that it
    neither blocks nor nags every later run."""
    report = SyncReport()
    for path in paths:
        try:
            points = _replay(path, target, progress)
        except Exception as exc:  # this file stays for the next sync; the others go on
            why = f"{type(exc).__name__}: {exc}"
            log.warning("tracker: could not deliver %s (%s)", path, why)
            _count_failure(path, why)
            continue
        path.unlink(missing_ok=True)
        _tries_file(path).unlink(missing_ok=True)
        report.files += 1
        report.points += points
    return report


TRIES = 3
"""Failed deliveries after which an unsent file is moved to ``failed/``."""


def _tries_file(path: Path) -> Path:
    return path.with_name(path.name + ".tries")


def _count_failure(path: Path, why: str) -> None:
    """Count one failed delivery of ``path``; at `TRIES`, move it to ``failed/``."""
    tries = _tries_file(path)
    try:
        count = int(tries.read_text(encoding="ascii") or 0) + 1 if tries.exists() else 1
        if count < TRIES:
            tries.write_text(str(count), encoding="ascii")
            return
        failed = path.parent / "failed"
        failed.mkdir(mode=0o700, exist_ok=True)
        moved = failed / path.name
        path.replace(moved)
        tries.unlink(missing_ok=True)
    except (OSError, ValueError) as exc:
        log.debug("tracker: could not count the failed delivery of %s (%s)", path, exc)
        return
    log.warning(
        "tracker: %s could not be delivered %d times (%s); it is moved to %s and no longer "
        "retried. Read it with `tracker runs --store jsonl:///%s`; once the cause is fixed, "
        "move it back to %s and `tracker sync` (or the next run) delivers it",
        path.name,
        TRIES,
        why,
        moved,
        failed,
        path.parent,
    )


def deliver_in_background(uris: Sequence[str], dirs: Sequence[Path], skip_run: str) -> None:
    """Deliver, on a daemon thread, the unsent files that earlier runs left for these
    stores (a new run's start does this: an outage's leftovers reach the store with the
    next run of that machine). Never raises; what fails stays for the next time."""
    import threading

    from tracker.store.registry import open_backend, redact_uri

    def deliver() -> None:
        for uri in uris:
            files = [
                p for p in unsent_files(dirs, {redact_uri(uri)}) if not p.name.startswith(skip_run)
            ]
            if not files:
                continue
            try:
                backend = open_backend(uri)
            except Exception:
                continue  # still unreachable: next time
            try:
                done = deliver_unsent(files, backend)
                if done.files:
                    log.warning(
                        "tracker: delivered %d points that earlier runs could not write to %s",
                        done.points,
                        redact_uri(uri),
                    )
            finally:
                backend.close()

    if any(unsent_files(dirs, {redact_uri(uri)}) for uri in uris):
        threading.Thread(target=deliver, name="tracker-unsent", daemon=True).start()


def _replay(path: Path, target: Backend, progress: Progress | None) -> int:
    run_id = path.stem  # a rescue file: <run_id>.jsonl; a spool names its run inside
    points = 0
    pending: list[dict[str, Any]] = []  # the lines of one metric batch

    def send_batch() -> None:
        nonlocal points
        if not pending:
            return
        batch = MetricBatch(
            {
                line["key"]: Series(
                    array("q", line["steps"]), array("d", line["values"]), array("d", line["times"])
                )
                for line in pending
            },
            writer=pending[0].get("writer", ""),
            seq=pending[0].get("seq", 0),
        )
        target.log_metrics(run_id, batch)
        points += len(batch)
        _count(progress, len(batch))
        pending.clear()

    with path.open(encoding="utf-8") as handle:
        for text in handle:
            try:
                line = json.loads(text)
            except ValueError:  # a line cut short by a crash: the rest is intact
                continue
            op = line.get("op", "spooled" if "series" in line else None)
            if op is None and "run_id" in line:  # a spool's first line
                run_id = line["run_id"]
                continue
            if op == "metrics":
                identity = (line.get("writer"), line.get("seq"))
                if pending and (identity[1] in (None, 0) or identity != _identity(pending[0])):
                    send_batch()
                pending.append(line)
                continue
            send_batch()
            if op == "spooled":
                for key, (steps, values, times) in line["series"].items():
                    pending.append(
                        {
                            "key": key,
                            "steps": steps,
                            "values": values,
                            "times": times,
                            "writer": line["writer"],
                            "seq": line["seq"],
                        }
                    )
                send_batch()
            elif op is not None:
                _apply(op, line, run_id, target)
        send_batch()
    return points


def _identity(line: dict[str, Any]) -> tuple[Any, Any]:
    return line.get("writer"), line.get("seq")


def _apply(op: str, line: dict[str, Any], run_id: str, target: Backend) -> None:
    if op == "start":
        record = RunRecord(**line["run"])
        if isinstance(target, Store):
            try:
                target.get_run(run_id)
                return  # the store has the run: continuing it would mark it running again
            except RunNotFoundError:
                pass
        target.start_run(record, resume=False)
    elif op == "config":
        target.log_config(run_id, line["config"])
    elif op == "summary":
        target.log_summary(run_id, line["summary"])
    elif op == "event":
        target.log_event(run_id, Event(**line["event"]))
    elif op == "heartbeat":
        target.heartbeat(run_id, line["at"])
    elif op == "finish":
        target.finish_run(run_id, line["status"], line["at"], line["error"])
    elif op == "table":
        target.log_table(run_id, line["key"], line["step"], line["rows"])
    elif op == "artifact":
        target.log_artifact(run_id, Artifact(**line["artifact"]))
    elif op == "evaluation" and isinstance(target, KeepsEvaluations):
        target.log_evaluations(run_id, [Evaluation(**e) for e in line["scores"]])


def stderr_progress(total: int) -> Progress | None:
    """A progress bar on standard error when it is a terminal, else ``None``."""
    if not sys.stderr.isatty() or total <= 0:
        return None
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        width = 30
        filled = min(width, width * done // total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} points")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return step
