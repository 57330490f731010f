"""The background writer: the only thread that talks to backends.

The run talks to it through a `Channel`: ``put_point`` for a ``log_metrics`` call, ``put``
for any other `tracker.calls.Call`. The channel owns the rules of the training thread's
side: the writer is woken early as the queue grows (`WAKE_AT`), the logging thread waits
for one flush past `HIGH_WATER` (backpressure, only for floods), never waits on a writer
stuck in a hung store (`STALL_S`), and drops calls, counted, once ``max_pending`` are
queued.

Every ``flush_interval`` seconds the writer drains the channel, groups points into one
numbered `LogMetrics` batch per flush, adds the derived efficiency figures once
(`tracker.system.efficiency`), cleans tables' rows once (`tracker.tables`), merges a
flush's summaries into one, and hands every backend its calls (`tracker.delivery`).
It keeps each metric's last value, so that an artifact request (`tracker.artifacts`),
met in order with the points, gets the run's metrics at that moment before it goes to
the writer's `tracker.artifacts.ArtifactRecorder`, and so that the run's end writes them
into the summary (where ``log_summary`` gave no value of that name). Whatever a backend
or a batch raises, the thread goes on.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tracker.artifacts import (
    ArtifactRecorder,
    ArtifactRequest,
    ArtifactWork,
    FolderWatch,
    LookAtWatches,
    WatchFolder,
)
from tracker.calls import Call, FinishRun, LogMetrics, LogSummary, LogTable, Point, points_of
from tracker.delivery import Delivery
from tracker.records import MetricBatch, Record, RunRecord, Series
from tracker.store.base import Backend
from tracker.system.efficiency import Figures
from tracker.tables import clean_rows
from tracker.values import INT64_MAX, INT64_MIN, Redactor, deep_merge

__all__ = ["HIGH_WATER", "STALL_S", "WAKE_AT", "Channel", "WriteReport", "Writer", "group"]

log = logging.getLogger("tracker")

WAKE_AT = 1024
"""Every this many queued calls, the writer is woken before its interval is up."""
HIGH_WATER = 2 * WAKE_AT
"""Queued calls past which the logging thread waits for the writer's next flush."""
STALL_S = 0.5
"""A flush slower than this means a stuck store: the logging thread stops waiting."""


class WriteReport(Record):
    """What `Writer.close` could not do."""

    __slots__ = (
        "dropped_points",
        "failed_backends",
        "rescue_file",
        "set_aside_points",
        "unwritten_points",
    )

    def __init__(
        self,
        unwritten_points: int = 0,
        dropped_points: int = 0,
        set_aside_points: int = 0,
        rescue_file: Path | None = None,
        failed_backends: list[str] | None = None,
    ) -> None:
        self.unwritten_points = unwritten_points
        self.dropped_points = dropped_points
        self.set_aside_points = set_aside_points
        self.rescue_file = rescue_file
        self.failed_backends: list[str] = list() if failed_backends is None else failed_backends

    @property
    def complete(self) -> bool:
        """Whether every point reached every backend."""
        return not (
            self.unwritten_points
            or self.dropped_points
            or self.set_aside_points
            or self.failed_backends
        )


class _Sync:
    """A marker: the writer sets ``done`` once everything queued before it was sent."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Channel:
    """The queue between the run (any thread) and its writer thread."""

    def __init__(self, max_pending: int) -> None:
        self._items: deque[Point | Call | ArtifactWork | _Sync] = deque()
        self._max_pending = max_pending
        self._wake = threading.Event()
        self._flushed = threading.Event()
        self._stalled = False
        self.dropped_calls = 0

    def __len__(self) -> int:
        return len(self._items)

    def put_point(self, point: Point) -> None:
        """Queue one ``log_metrics`` call (the hot path: a length check and an append)."""
        items = self._items
        queued = len(items)
        if queued >= WAKE_AT and not self._make_room(queued):
            self.dropped_calls += 1
            return
        items.append(point)

    def put(self, call: Call | ArtifactWork) -> None:
        """Queue any other call; these are never dropped."""
        self._items.append(call)

    def _make_room(self, queued: int) -> bool:
        if queued % WAKE_AT == 0:
            self._wake.set()
        if queued <= HIGH_WATER:
            return True
        if queued > self._max_pending:
            return False
        if not self._stalled:  # wait for one flush, unless the writer is stuck
            self._flushed.clear()
            self._wake.set()
            if not self._flushed.wait(STALL_S):
                self._stalled = True
        return True

    def sync(self, timeout: float) -> bool:
        """Wait until everything queued before this call has been handed to the backends."""
        marker = _Sync()
        self._items.append(marker)
        self._wake.set()
        return marker.done.wait(max(0.0, timeout))

    def wake(self) -> None:
        """Have the writer flush now."""
        self._wake.set()

    # -- the writer's side ----------------------------------------------------------------
    def wait(self, timeout: float) -> None:
        """Sleep until woken or ``timeout`` seconds pass."""
        self._wake.wait(timeout)
        self._wake.clear()

    def take(self) -> list[Point | Call | ArtifactWork | _Sync]:
        """Everything queued so far, oldest first."""
        items = self._items
        return [items.popleft() for _ in range(len(items))]

    def flushed(self) -> None:
        """A flush is done: a waiting logging thread goes on."""
        self._stalled = False
        self._flushed.set()

    def queued_points(self) -> int:
        """Points still queued (for a report when the writer is stuck)."""
        return sum(len(item[2]) for item in list(self._items) if isinstance(item, tuple))


def _oldest_first(
    found: list[tuple[float, FolderWatch, str]],
) -> list[tuple[float, FolderWatch, str]]:
    """Folders found written, by the time after which a point came after their save."""
    return sorted(found, key=lambda f: (f[0], f[2]))


class Writer:
    """Moves a run's queued calls to its backends on a daemon thread."""

    def __init__(
        self,
        record: RunRecord,
        backends: list[tuple[str, Callable[[str], Backend]]],
        *,
        flush_interval: float,
        heartbeat_interval: float,
        max_pending: int,
        max_pending_points: int,
        spool_bytes: int,
        rescue_dirs: Sequence[Path],
        figures: Figures | None = None,
        redactor: Redactor | None = None,
        on_batch: Callable[[MetricBatch], None] | None = None,
        environment: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.record = record
        self._environment = environment  # gathered on this thread, before the first write
        self.channel = Channel(max_pending)
        self._id = os.urandom(8).hex()
        self._seq = 0
        self._figures = figures
        self._redactor = redactor  # tables' rows (the artifacts' records: the recorder's)
        self._warned_tables: set[str] = set()
        self._on_batch = on_batch  # looks at each batch on this thread (NaN alerts); never raises
        self._rescue_dirs = list(rescue_dirs)
        self._deliveries = [
            Delivery(
                uri,
                factory,
                record,
                max_pending_points=max_pending_points,
                spool_bytes=spool_bytes,
                spool_name=f"{record.run_id}-{self._id}-{i}",
                dirs=self._rescue_dirs,
            )
            for i, (uri, factory) in enumerate(backends)
        ]
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._stopping = False
        self._last_heartbeat = 0.0
        self._lost_points = 0
        self._warned_crash = False
        self._thread = threading.Thread(target=self._loop, name="tracker-writer", daemon=True)
        self._last: dict[str, float] = {}  # each metric's last value (system/ left out)
        self._summarized: set[str] = set()  # the summary keys log_summary gave
        self._step = -1  # the step of the last metric point taken
        self._watches: list[FolderWatch] = []
        self.artifacts = ArtifactRecorder(
            record.run_id, self.channel.put, _same if redactor is None else redactor.redact
        )

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def _loop(self) -> None:
        self._gather_environment()
        while not self._stopping:
            self.channel.wait(self._flush_interval)
            self._flush_safely()
            self.channel.flushed()

    def _gather_environment(self) -> None:
        """Fill the record's environment (once): on this thread, so that the training
        thread's `start` never waits for a ``git status`` in a large repository."""
        gather, self._environment = self._environment, None
        if gather is None:
            return
        try:
            self.record.environment = gather()
        except Exception as exc:  # the run goes on without it
            log.warning("tracker: could not capture the run's environment: %r", exc)

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:  # a bug of ours must not end the thread: say it once, go on
            if not self._warned_crash:
                self._warned_crash = True
                log.exception("tracker: the writer hit an unexpected error; it goes on")

    def flush(self) -> None:
        """Send everything queued so far (called on the writer thread)."""
        self._gather_environment()  # done already, unless the thread never ran
        calls: list[Call] = []
        points: list[Point] = []
        summary: dict[str, object] | None = None  # a flush's summaries merge into one
        markers: list[_Sync] = []
        items = self.channel.take()
        # the folders are looked at after the points are taken: one saved between a point
        # taken here and the next is seen now, not after that next point (logged a step late)
        watched = self._written()
        for item in items:
            if isinstance(item, tuple):
                if watched and item[1] > watched[0][0]:  # saved before this point
                    if points:
                        calls.append(self._batch(points))
                        points = []
                    watched = self._submit_found(watched, before=item[1])
                points.append(item)
                self._step = item[0]
            elif isinstance(item, LogSummary):
                self._summarized.update(item.summary)
                summary = item.summary if summary is None else deep_merge(summary, item.summary)
            elif isinstance(item, _Sync):
                markers.append(item)
            elif isinstance(item, ArtifactWork):
                if points:  # the metrics at the request are those logged before it
                    calls.append(self._batch(points))
                    points = []
                watched = self._request(item, watched)
            else:
                if points:
                    calls.append(self._batch(points))
                    points = []
                if isinstance(item, FinishRun):
                    summary = self._with_last_values(summary)
                if summary is not None:
                    calls.append(LogSummary(summary))
                    summary = None
                calls.append(item)
        if points:
            calls.append(self._batch(points))
        if summary is not None:
            calls.append(LogSummary(summary))
        calls = [self._prepare(call) for call in calls]
        now = time.time()
        heartbeat = now - self._last_heartbeat >= self._heartbeat_interval
        if heartbeat:
            self._last_heartbeat = now
        for delivery in self._deliveries:
            delivery.add(calls)
            delivery.deliver(time.monotonic())
            if heartbeat:
                delivery.heartbeat(now)
        for marker in markers:
            marker.done.set()

    def _written(self) -> list[tuple[float, FolderWatch, str]]:
        """What the folder watches found written, oldest first."""
        return _oldest_first([(t, w, path) for w in self._watches for t, path in w.written()])

    def _submit_found(
        self, watched: list[tuple[float, FolderWatch, str]], before: float
    ) -> list[tuple[float, FolderWatch, str]]:
        """Log the folders in ``watched`` written before ``before`` (so complete then) at
        the last step taken, with the metrics as then; the rest, still to be complete."""
        while watched and before > watched[0][0]:
            _, watch, path = watched.pop(0)
            watch.done.add(path)
            step = self._step if self._step >= 0 else None
            self.artifacts.submit(
                ArtifactRequest(
                    path, "output", watch.kind, at=time.time(), step=step,
                    metrics=dict(self._last), existed=True,
                )
            )  # fmt: skip
        return watched

    def _request(
        self, item: ArtifactWork, watched: list[tuple[float, FolderWatch, str]]
    ) -> list[tuple[float, FolderWatch, str]]:
        """Hand an artifact request or change on (a watch is kept here; at the run's end,
        what the watches found is logged); the folders watched, less one requested by name."""
        if isinstance(item, WatchFolder):  # looked at now: the points after it may follow a save
            watch = FolderWatch(item.folder, item.pattern, item.kind, item.at)
            self._watches.append(watch)
            return _oldest_first([*watched, *((t, watch, path) for t, path in watch.written())])
        if isinstance(item, LookAtWatches):  # the run ends: what was written is complete
            return self._submit_found(self._written(), before=math.inf)
        if isinstance(item, ArtifactRequest):
            for watch in self._watches:
                watch.done.add(item.ref)
            if item.metrics is None and item.direction == "output":
                item.metrics = dict(self._last)  # the metrics at the request: those before it
            watched = [found for found in watched if found[2] != item.ref]
        self.artifacts.submit(item)
        return watched

    def _with_last_values(self, summary: dict[str, object] | None) -> dict[str, object] | None:
        """The summary written with the run's end: each metric's last value, as W&B's
        ``run.summary`` holds it (``system/`` left out), under what ``log_summary`` gave
        in this session. One call at the end, from what `_batch` keeps anyway."""
        last = {k: v for k, v in self._last.items() if k not in self._summarized}
        if not last:
            return summary
        return {**last, **(summary or {})}

    def _batch(self, points: list[Point]) -> LogMetrics:
        self._seq += 1
        try:
            batch = group(points)
        except (OverflowError, TypeError, ValueError):  # the run checks; this is a backstop
            batch = group(_checked(points))
            self._lost_points += sum(len(p[2]) for p in points) - len(batch)
        batch.writer, batch.seq = self._id, self._seq
        last = self._last
        for key, series in batch.series.items():
            if not key.startswith("system/"):
                last[key] = series.values[-1]
        if self._on_batch is not None:
            self._on_batch(batch)
        return LogMetrics(batch)

    def _prepare(self, call: Call) -> Call:
        """What the backends get of ``call``, made once for all of them: metric batches
        and summaries with the derived figures, tables' rows cleaned and redacted."""
        figures = self._figures
        if isinstance(call, LogMetrics) and figures is not None:
            derived = figures.metrics(call.batch)
            if derived:
                batch = call.batch
                return LogMetrics(
                    MetricBatch({**batch.series, **derived}, writer=batch.writer, seq=batch.seq)
                )
        elif isinstance(call, LogSummary) and figures is not None:
            extra = figures.summary(call.summary)
            if extra:
                return LogSummary({**call.summary, **extra})
        elif isinstance(call, LogTable):
            rows, skipped = clean_rows(call.rows, self._redactor)
            if skipped and call.key not in self._warned_tables:
                self._warned_tables.add(call.key)
                log.warning(
                    "tracker: table %s: %d entries that are not rows (mappings) skipped "
                    "(warned once per table)",
                    call.key,
                    skipped,
                )
            return LogTable(call.key, call.step, rows)
        return call

    def settle_artifacts(self, timeout: float) -> None:
        """Wait (up to ``timeout`` seconds) until the artifacts requested so far are
        hashed and queued as calls; what is not hashed by then is queued ``unhashed``."""
        deadline = time.monotonic() + timeout
        self.channel.put(LookAtWatches())
        self.channel.sync(timeout)  # every request queued so far reaches the recorder
        if not self.artifacts.settle(deadline - time.monotonic()):
            log.warning(
                "tracker: run %s ended before every artifact was hashed; those are "
                "recorded 'unhashed' (raise TRACKER_FINISH_TIMEOUT to wait longer)",
                self.record.run_id,
            )

    def close(self, timeout: float) -> WriteReport:
        """Stop the thread after a last flush; rescue what could not be written."""
        self._stopping = True
        self.channel.wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        report = WriteReport(dropped_points=self._lost_points)
        if self._thread.is_alive():  # still busy (a hung backend): report, do not race it
            report.unwritten_points = self.channel.queued_points()
            report.failed_backends = [d.uri for d in self._deliveries]
            return report
        self._flush_safely()
        if len(self.channel):  # what the last flush queued (an alert's event) goes too
            self._flush_safely()
        deadline = time.monotonic() + min(timeout, 5.0)
        while any(d.waiting for d in self._deliveries) and time.monotonic() < deadline:
            time.sleep(0.1)
            for delivery in self._deliveries:
                delivery.deliver(time.monotonic(), patient=False)
        for delivery in self._deliveries:
            delivery.last_try()
            report.dropped_points += delivery.dropped_points
            report.set_aside_points += delivery.set_aside_points
            left = delivery.leftovers()
            if left:
                report.failed_backends.append(delivery.uri)
                report.unwritten_points += sum(map(points_of, left))
                report.rescue_file = self._rescue(delivery, left) or report.rescue_file
            delivery.close()
        return report

    def _rescue(self, delivery: Delivery, calls: list[Call]) -> Path | None:
        from tracker.rescue import rescue

        path = rescue(self.record, calls, self._rescue_dirs, delivery.uri)
        points = sum(map(points_of, calls))
        if path is None:
            log.error(
                "tracker: %d points of run %s could not be written to %s (%s) nor saved "
                "anywhere (tried %s)",
                points,
                self.record.run_id,
                delivery.uri,
                delivery.last_error,
                ", ".join(map(str, self._rescue_dirs)),
            )
            return None
        log.warning(
            "tracker: %d points of run %s could not be written to %s (%s); they are saved in "
            "%s (`tracker runs --store jsonl:///%s` reads them)",
            points,
            self.record.run_id,
            delivery.uri,
            delivery.last_error,
            path,
            path.parent,
        )
        return path


def _same(value: Any) -> Any:
    return value


def _checked(points: list[Point]) -> list[Point]:
    """The points whose step fits int64, their values as floats (an int too large for a
    float is ±inf, as `tracker.values.to_scalar` has it)."""
    out: list[Point] = []
    for step, ts, values in points:
        if type(step) is not int or not INT64_MIN <= step <= INT64_MAX or not math.isfinite(ts):
            continue
        clean: dict[str, float] = {}
        for key, value in values.items():
            try:
                clean[key] = float(value)
            except OverflowError:
                clean[key] = math.inf if value > 0 else -math.inf
            except (TypeError, ValueError):
                continue
        if clean:
            out.append((step, ts, clean))
    return out


def group(calls: list[Point]) -> MetricBatch:
    """Turn ``log_metrics`` calls into one batch of per-key columns.

    Consecutive calls with the same keys (the usual case) are transposed at C speed:
    each call adds one tuple of values, and each key's column is cut out at the end.
    """
    batch = MetricBatch()
    block_keys: tuple[str, ...] = ()
    rows: list[tuple[float, ...]] = []
    steps: array[int] = array("q")
    times: array[float] = array("d")
    for step, ts, values in calls:
        keys = tuple(values)
        if keys != block_keys:
            _cut(batch, block_keys, rows, steps, times)
            block_keys, rows, steps, times = keys, [], array("q"), array("d")
        rows.append(tuple(values.values()))
        steps.append(step)
        times.append(ts)
    _cut(batch, block_keys, rows, steps, times)
    return batch


def _cut(
    batch: MetricBatch,
    keys: tuple[str, ...],
    rows: list[tuple[float, ...]],
    steps: array[int],
    times: array[float],
) -> None:
    if not rows:
        return
    for key, column in zip(keys, zip(*rows, strict=True), strict=True):
        series = batch.series.get(key)
        if series is None:
            series = batch.series[key] = Series()
        series.steps.extend(steps)
        series.values.extend(array("d", column))
        series.times.extend(times)
