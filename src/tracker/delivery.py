"""`Delivery`: one backend, opened lazily, and the calls it has not taken yet.

Rules, in the order they apply on every try:

* Calls are sent in order. A failing call stays queued and the next one is tried: when
  that one fails too the backend is taken to be down (an outage), the try ends and the
  next waits with exponential backoff (`BACKOFF_S`, capped at `MAX_BACKOFF_S`).
* A call that fails while the backend takes other calls (in the same try, or a heartbeat)
  gets a strike; after `STRIKES` strikes it is *set aside*: one warning names it, it goes
  to the rescue file when the run ends, and everything behind it is written. A record the
  store can never accept never holds up the rest of the run.
* ``start_run`` is never passed over: everything else of the run depends on it.
* Heartbeats are sent on their own schedule, never queued behind data.
* While the backend is down, calls wait in memory up to ``max_pending_points`` points;
  past that, the oldest metric batches are spooled to disk (`tracker.spool`), and past the
  spool's bound the oldest are dropped and counted.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from tracker.calls import Call, LogMetrics, StartRun, describe, points_of
from tracker.records import Event, MetricBatch, RunRecord, Series
from tracker.spool import Spool
from tracker.store.base import Backend
from tracker.values import redact_uri

__all__ = ["BACKOFF_S", "MAX_BACKOFF_S", "STRIKES", "Delivery"]

log = logging.getLogger("tracker")

STRIKES = 5
"""Failures, while the backend takes other calls, after which a call is set aside."""
BACKOFF_S = 0.25
"""First wait after a try that found the backend down; doubled each time."""
MAX_BACKOFF_S = 15.0
"""Longest wait between tries while a backend is down."""


_JOINED_POINTS = 262_144
"""Most points in one batch made of batches joined while a store was down."""


def _join(batch: MetricBatch, more: MetricBatch) -> None:
    """Append ``more``'s points to ``batch``, key by key."""
    for key, series in more.series.items():
        into = batch.series.get(key)
        if into is None:
            batch.series[key] = Series(series.steps[:], series.values[:], series.times[:])
            continue
        into.steps.extend(series.steps)
        into.values.extend(series.values)
        into.times.extend(series.times)


class _Entry:
    __slots__ = ("call", "strikes", "tried")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.strikes = 0
        self.tried = False  # never sent: nothing of it can be in the store yet


class Delivery:
    """Sends one run's calls to one backend."""

    def __init__(
        self,
        uri: str,
        factory: Callable[[str], Backend],
        record: RunRecord,
        *,
        max_pending_points: int,
        spool_bytes: int,
        spool_name: str,
        dirs: Sequence[Path],
    ) -> None:
        self.uri = redact_uri(uri)
        self._raw_uri = uri
        self._factory = factory
        self._run_id = record.run_id
        self._backend: Backend | None = None
        self._max_points = max_pending_points
        self.pending: deque[_Entry] = deque()
        self.pending_points = 0
        self._spool = Spool(
            dirs, spool_name, spool_bytes, {"target": self.uri, "run_id": record.run_id}
        )
        self._spooled_failure: tuple[int, _Entry] | None = None  # (where it ends, strikes)
        self.set_aside: list[Call] = []
        self.set_aside_points = 0
        self.dropped_points = 0
        self._started = False
        self._alive = False
        self._retry_at = 0.0
        self._backoff = BACKOFF_S
        self.failing_since: float | None = None
        self.last_error = ""

    # -- queueing ------------------------------------------------------------------------
    def add(self, calls: Iterable[Call]) -> None:
        """Queue calls behind those already waiting. A metric batch that follows one not
        sent yet (while backing off from a down store) joins it, so that the backlog of an
        outage goes out in a few large transactions, not one per flush; the joined batch
        keeps the identity of the first, none of which the store can have seen."""
        for call in calls:
            self.pending_points += points_of(call)
            last = self.pending[-1] if self.pending else None
            if (
                isinstance(call, LogMetrics)
                and last is not None
                and not last.tried
                and isinstance(last.call, LogMetrics)
                and len(last.call.batch) + len(call.batch) <= _JOINED_POINTS
            ):
                _join(last.call.batch, call.batch)
                continue
            self.pending.append(_Entry(call))
        if self.pending_points > self._max_points:
            self._make_room()

    def _make_room(self) -> None:
        """Spool (else drop) the oldest metric batches until memory is under its bound."""
        target = self._max_points // 2
        kept: deque[_Entry] = deque()
        for entry in self.pending:
            call = entry.call
            if self.pending_points <= target or not isinstance(call, LogMetrics):
                kept.append(entry)
                continue
            n = len(call.batch)
            self.pending_points -= n
            if not self._spool.push(call):
                self.dropped_points += n
        self.pending = kept

    @property
    def waiting(self) -> bool:
        """Whether calls wait to be sent, in memory or in the spool."""
        return bool(self.pending) or bool(len(self._spool))

    # -- sending -------------------------------------------------------------------------
    def deliver(self, now: float, *, patient: bool = True) -> None:
        """Try the waiting calls (unless backing off, when ``patient``)."""
        if patient and now < self._retry_at:
            return
        if not self.waiting:
            return
        if self._try(final=False):
            self._backoff = BACKOFF_S
            self._retry_at = 0.0
        else:  # down: the next try opens the backend anew (a connection may be dead)
            self._retry_at = now + self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
            self._drop_backend()

    def last_try(self) -> None:
        """At the end: try every waiting call once, each on its own."""
        if self.waiting:
            self._try(final=True)

    def _try(self, *, final: bool) -> bool:
        """One pass over the waiting calls, spooled ones first; whether the backend took
        any (or had nothing to refuse)."""
        try:
            backend = self._open()
        except Exception as exc:
            self._failed(exc)
            return False
        took_one, failed = self._send_spooled(backend)
        if not len(self._spool):  # the batches in memory are newer: they wait for the spool
            took, more_failed, self.pending = self._pass(backend, self.pending, final)
            took_one = took_one or took
            failed += more_failed
        if took_one or self._alive:
            self._strike(failed)
        self._alive = False
        if took_one and not self.waiting:
            self._recovered()
        return took_one or not failed

    def _send_spooled(self, backend: Backend) -> tuple[bool, list[_Entry]]:
        """Send spooled batches in order until one fails; whether any was taken, and the
        one that failed (it stays first in the spool, or is set aside after its strikes)."""
        took_one = False
        while len(self._spool):
            chunk = self._spool.peek(max(1, self._max_points // 2))
            sent: list[tuple[LogMetrics, int]] = []
            for call, end in chunk:
                try:
                    call.apply(backend, self._run_id)
                except Exception as exc:
                    self._failed(exc)
                    self._spool.advance(sent)
                    last = self._spooled_failure
                    if last is None or last[0] != end:
                        last = self._spooled_failure = (end, _Entry(call))
                    entry = last[1]
                    if entry.strikes + 1 >= STRIKES and (took_one or self._alive):
                        self._spool.advance([(call, end)])  # set aside by _strike below
                        self.pending_points += len(call.batch)
                        self.pending.appendleft(entry)
                        self._spooled_failure = None
                    return took_one, [entry]
                sent.append((call, end))
                took_one = True
            self._spool.advance(sent)
        return took_one, []

    def _pass(
        self, backend: Backend, entries: deque[_Entry], final: bool
    ) -> tuple[bool, list[_Entry], deque[_Entry]]:
        """Send ``entries`` in order: whether any was taken, those that failed, and
        those still waiting (failed or not tried, in order)."""
        kept: deque[_Entry] = deque()
        failed: list[_Entry] = []
        took_one = False
        streak = 0
        blocked = False
        for entry in entries:
            if blocked:
                kept.append(entry)
                continue
            entry.tried = True
            try:
                entry.call.apply(backend, self._run_id)
            except Exception as exc:  # any backend failure: keep the call
                self._failed(exc)
                failed.append(entry)
                kept.append(entry)
                streak += 1
                if not final and (streak >= 2 or isinstance(entry.call, StartRun)):
                    blocked = True
                continue
            streak = 0
            took_one = True
            self.pending_points -= points_of(entry.call)
            if isinstance(entry.call, StartRun):
                self._started = True
        return took_one, failed, kept

    def _strike(self, failed: list[_Entry]) -> None:
        out = [e for e in failed if not isinstance(e.call, StartRun)]
        for entry in out:
            entry.strikes += 1
        poisoned = [e for e in out if e.strikes >= STRIKES]
        if not poisoned:
            return
        ids = {id(e) for e in poisoned}
        self.pending = deque(e for e in self.pending if id(e) not in ids)
        for entry in poisoned:
            n = points_of(entry.call)
            self.pending_points -= n
            self.set_aside_points += n
            self.set_aside.append(entry.call)
            log.warning(
                "tracker: %s refused a %s %d times (%s); it is set aside for the rescue file "
                "and the rest of the run is written",
                self.uri,
                describe(entry.call),
                STRIKES,
                self.last_error,
            )

    def heartbeat(self, at: float) -> None:
        """Record liveness, whatever is waiting."""
        if not self._started:
            return
        try:
            backend = self._open()
            backend.heartbeat(self._run_id, at)
        except Exception as exc:  # a missed heartbeat is sent again next time
            self._failed(exc)
            return
        self._alive = True

    def _drop_backend(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:
                log.debug("tracker: closing %s failed", self.uri, exc_info=True)

    def _open(self) -> Backend:
        if self._backend is None:
            self._backend = self._factory(self._raw_uri)
        return self._backend

    def _failed(self, exc: Exception) -> None:
        self.last_error = redact_uri(f"{type(exc).__name__}: {exc}")
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
        log.warning("tracker: writing to %s works again", self.uri)
        event = Event(
            "store_error",
            time.time(),
            payload={
                "uri": self.uri,
                "error": self.last_error,
                "since": self.failing_since,
                "until": time.time(),
                "set_aside_points": self.set_aside_points,
                "dropped_points": self.dropped_points,
            },
        )
        self.failing_since = None
        try:
            if self._backend is not None:
                self._backend.log_event(self._run_id, event)
        except Exception:  # the event is a courtesy; the data it describes is written
            log.debug("tracker: could not record the store error event", exc_info=True)

    # -- the end -------------------------------------------------------------------------
    def leftovers(self) -> list[Call]:
        """What was never taken, in order: set aside, spooled, then still waiting."""
        spooled: list[Call] = list(self._spool.drain())
        return [*self.set_aside, *spooled, *(e.call for e in self.pending)]

    def close(self) -> None:
        """Close the backend."""
        self._spool.close()
        self._drop_backend()
