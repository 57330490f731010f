"""The background writer: the only thread that talks to backends.

The training thread appends to a queue (`Writer.queue`) and returns. Every
``flush_interval`` seconds, or as soon as the queue grows long, the writer drains it,
groups metric points into one `MetricBatch` per flush and hands each backend its calls
in order. A backend that fails keeps its calls and gets them again on the next flush
(one warning when it starts failing, one when it recovers, and an event in the run).
What still cannot be written when the run finishes is saved to a JSON-lines rescue file,
and `Writer.close` says where.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.records import Event, MetricBatch, RunRecord, Series
from tracker.store.base import Backend

__all__ = ["Op", "WriteReport", "Writer"]

log = logging.getLogger("tracker")

WAKE_AT = 1024
"""Every this many queued calls, the writer is woken before its interval is up."""
HIGH_WATER = 2 * WAKE_AT
"""Queued calls past which the logging thread waits for the writer's next flush."""
STALL_S = 0.5
"""A flush slower than this means a stuck store: the logging thread stops waiting."""


class Op:
    """A call other than ``log_metrics`` waiting in the queue: a backend method and args."""

    __slots__ = ("args", "kwargs", "method")

    def __init__(self, method: str, *args: Any, **kwargs: Any) -> None:
        self.method = method
        self.args = args
        self.kwargs = kwargs


@dataclass(slots=True)
class WriteReport:
    """What `Writer.close` could not do."""

    unwritten_points: int = 0
    dropped_points: int = 0
    rescue_file: Path | None = None
    failed_backends: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every point reached every backend."""
        return not (self.unwritten_points or self.dropped_points or self.failed_backends)


def _points(op: Op) -> int:
    return len(op.args[1]) if op.method == "log_metrics" else 0


class _Slot:
    """One backend, opened lazily, with the calls it has not taken yet."""

    def __init__(self, uri: str, factory: Callable[[str], Backend], run_id: str) -> None:
        self.uri = uri
        self.factory = factory
        self.run_id = run_id
        self.backend: Backend | None = None
        self.pending: deque[Op] = deque()
        self.pending_points = 0
        self.dropped_points = 0
        self.failing_since: float | None = None
        self.last_error = ""

    def send(self, op: Op, max_points: int) -> None:
        self.pending.append(op)
        self.pending_points += _points(op)
        self.retry()
        while self.pending_points > max_points and len(self.pending) > 1:
            self._drop_oldest_metrics()

    def _drop_oldest_metrics(self) -> None:
        for i, queued in enumerate(self.pending):
            if queued.method == "log_metrics":
                del self.pending[i]
                n = _points(queued)
                self.pending_points -= n
                self.dropped_points += n
                return
        self.pending_points = 0

    def retry(self) -> bool:
        """Send the pending calls in order; stop at the first failure."""
        while self.pending:
            op = self.pending[0]
            try:
                if self.backend is None:
                    self.backend = self.factory(self.uri)
                getattr(self.backend, op.method)(*op.args, **op.kwargs)
            except Exception as exc:  # any backend failure: keep the call, retry later
                self.failed(exc)
                return False
            self.pending.popleft()
            self.pending_points -= _points(op)
        self._recovered()
        return True

    def failed(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.failing_since is None:
            self.failing_since = time.time()
            log.warning(
                "tracker: writing to %s failed (%s); training goes on, the data is kept and "
                "retried",
                self.uri,
                self.last_error,
            )

    def _recovered(self) -> None:
        if self.failing_since is None:
            return
        log.warning("tracker: writing to %s works again; nothing was lost", self.uri)
        event = Event(
            "store_error",
            time.time(),
            payload={"uri": self.uri, "error": self.last_error, "since": self.failing_since},
        )
        self.failing_since = None
        try:
            if self.backend is not None:
                self.backend.log_event(self.run_id, event)
        except Exception:  # the event is a courtesy; the data it describes is written
            log.debug("tracker: could not record the store error event", exc_info=True)

    def close(self) -> None:
        if self.backend is not None:
            try:
                self.backend.close()
            except Exception:
                log.debug("tracker: closing %s failed", self.uri, exc_info=True)


class Writer:
    """Moves a run's queued calls to its backends on a daemon thread."""

    def __init__(
        self,
        record: RunRecord,
        backends: list[tuple[str, Callable[[str], Backend]]],
        *,
        flush_interval: float,
        heartbeat_interval: float,
        max_pending_points: int,
        rescue_dir: Path,
    ) -> None:
        self.record = record
        self.queue: deque[Any] = deque()
        self._slots = [_Slot(uri, factory, record.run_id) for uri, factory in backends]
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._max_pending_points = max_pending_points
        self._rescue_dir = rescue_dir
        self._wake = threading.Event()
        self._flushed = threading.Event()
        self._stalled = False
        self._stopping = False
        self._last_heartbeat = 0.0
        self._thread = threading.Thread(target=self._loop, name="tracker-writer", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wake(self) -> None:
        """Flush now rather than at the end of the interval."""
        self._wake.set()

    def sync(self, timeout: float) -> bool:
        """Wait until everything queued before this call has been handed to the backends."""
        done = threading.Event()
        self.queue.append(Op("sync", done))
        self._wake.set()
        return done.wait(max(0.0, timeout))

    def wait_for_flush(self) -> None:
        """Block until the writer completes a flush, unless it is stuck (then return)."""
        if self._stalled:
            return
        self._flushed.clear()
        self._wake.set()
        if not self._flushed.wait(STALL_S):
            self._stalled = True

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            self.flush()
            self._stalled = False
            self._flushed.set()

    def flush(self) -> None:
        """Send everything queued so far (called on the writer thread)."""
        for slot in self._slots:
            if slot.pending:
                slot.retry()
        calls: list[tuple[int, float, dict[str, float]]] = []
        queue = self.queue
        while queue:
            item = queue.popleft()
            if type(item) is tuple:
                calls.append(item)
                continue
            if calls:
                self._send(Op("log_metrics", self.record.run_id, group(calls)))
                calls = []
            if item.method == "sync":
                item.args[0].set()
            else:
                self._send(item)
        if calls:
            self._send(Op("log_metrics", self.record.run_id, group(calls)))
        now = time.time()
        if now - self._last_heartbeat >= self._heartbeat_interval:
            self._last_heartbeat = now
            self._heartbeat(now)

    def _send(self, op: Op) -> None:
        for slot in self._slots:
            slot.send(op, self._max_pending_points)

    def _heartbeat(self, now: float) -> None:
        for slot in self._slots:
            if slot.pending or slot.backend is None:
                continue
            try:
                slot.backend.heartbeat(self.record.run_id, now)
            except Exception as exc:  # a missed heartbeat is retried on the next one
                slot.failed(exc)

    def close(self, timeout: float) -> WriteReport:
        """Stop the thread after a last flush; rescue what could not be written."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        report = WriteReport()
        if self._thread.is_alive():  # still busy (a hung backend): report, do not race it
            report.unwritten_points = sum(len(v[2]) for v in self.queue if type(v) is tuple)
            report.failed_backends = [s.uri for s in self._slots]
            return report
        self.flush()
        deadline = time.monotonic() + min(timeout, 5.0)
        while any(s.pending for s in self._slots) and time.monotonic() < deadline:
            time.sleep(0.1)
            for slot in self._slots:
                slot.retry()
        for slot in self._slots:
            report.dropped_points += slot.dropped_points
            if slot.pending:
                report.failed_backends.append(slot.uri)
                report.unwritten_points += slot.pending_points
                report.rescue_file = self._rescue(slot)
            slot.close()
        return report

    def _rescue(self, slot: _Slot) -> Path | None:
        from tracker.store.jsonl import JsonlStore

        try:
            rescue = JsonlStore(self._rescue_dir)
            rescue.start_run(self.record, resume=False)
            for op in slot.pending:
                if op.method != "start_run":
                    getattr(rescue, op.method)(*op.args, **op.kwargs)
            rescue.close()
        except Exception:
            log.exception("tracker: could not write the rescue file in %s", self._rescue_dir)
            return None
        path = self._rescue_dir / f"{self.record.run_id}.jsonl"
        log.warning(
            "tracker: %s points of run %s could not be written to %s (%s); they are saved in %s",
            slot.pending_points,
            self.record.run_id,
            slot.uri,
            slot.last_error,
            path,
        )
        return path


def group(calls: list[tuple[int, float, dict[str, float]]]) -> MetricBatch:
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
