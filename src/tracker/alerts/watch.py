"""`Watcher`: the alerts a run's own process cannot raise, seen from the store.

On every look (`Watcher.check`) it reads only the runs the store still holds as running:

* a run that reads ``crashed`` (its heartbeat went stale: killed, out of memory, its
  machine lost) raises a ``crashed`` alert, level ``error``;
* a run that reads ``running`` (its heartbeat alive) whose training metrics have not moved
  for ``TRACKER_STALL_AFTER`` seconds (a hung collective, a dead dataloader) raises a
  ``stalled`` alert, level ``warn``. The time of its last ``train/``, ``eval/`` or other
  non-``system/`` point is the store's (`MetricStats.last_time`), not the watcher's; a
  ``resumed`` or ``reopened`` event starts that clock again (a resumed run loading its
  checkpoint has not stalled).

Each is raised once: the alert is recorded as an ``alert`` event on the run before it is
posted, and the run's alert events are read before raising one, so a watcher started
again (or a second one, ``tracker ui`` next to ``tracker watch``) does not repeat it. A
run that crashes again after a resume, or stalls again at a later step, is raised again:
the alert's key holds the last heartbeat, or the step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from tracker.alerts.alert import EVENT_KIND, Alert, Level
from tracker.alerts.run import sender_for
from tracker.alerts.sender import Sender
from tracker.commands.output import fmt_duration
from tracker.records import Event, RunRecord, RunStatus
from tracker.settings import TrackerSettings
from tracker.store.base import Store

__all__ = ["Watcher"]

log = logging.getLogger("tracker")

_RESTARTS = ("resumed", "reopened")  # events after which a run may take a while to move


class Watcher:
    """Raises ``crashed`` and ``stalled`` alerts for the runs of ``store``."""

    def __init__(
        self,
        store: Store,
        settings: TrackerSettings,
        *,
        project: str | None = None,
        stall_after: float | None = None,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self.store = store
        self.project = project
        self.stall_after = settings.stall_after if stall_after is None else stall_after
        self.interval = settings.watch_interval
        self.sender: Sender | None = sender_for(settings)
        self._on_alert = on_alert
        self._alerted: dict[str, set[str]] = {}  # run id -> keys of its alerts, as last read
        self._warned = False

    def check(self, now: float | None = None) -> list[Alert]:
        """Look once; the alerts raised."""
        now = time.time() if now is None else now
        raised: list[Alert] = []
        for run in self.store.runs(project=self.project, status=RunStatus.CRASHED.value):
            silent = now - (run.heartbeat_at or run.started_at)
            text = f"no heartbeat for {fmt_duration(silent)}: its process died or lost its machine"
            key = f"crashed:{run.heartbeat_at}"
            raised += self._raise(run, "crashed", "error", f"run {run.name} crashed", text, key)
        for run in self.store.runs(project=self.project, status=RunStatus.RUNNING.value):
            raised += self._stalled(run, now)
        return raised

    def _stalled(self, run: RunRecord, now: float) -> list[Alert]:
        stats = self.store.metric_stats(run.run_id)
        moving = [s for k, s in stats.items() if not k.startswith("system/")]
        moved_at = max((s.last_time for s in moving), default=run.started_at)
        step = max((s.last_step for s in moving), default=None)
        key = f"stalled:{step}"
        if now - moved_at < self.stall_after or key in self._alerted.get(run.run_id, ()):
            return []
        events = self.store.events(run.run_id)  # read only for a run that looks stalled
        moved_at = max([moved_at, *(e.at for e in events if e.kind in _RESTARTS)])
        if now - moved_at < self.stall_after:
            return []
        at = "no step yet" if step is None else f"step {step}"
        text = f"{at}, nothing new for {fmt_duration(now - moved_at)}; its heartbeat is alive"
        title = f"run {run.name} stalled"
        return self._raise(run, "stalled", "warn", title, text, key, step, events)

    def _raise(
        self,
        run: RunRecord,
        reason: str,
        level: Level,
        title: str,
        text: str,
        key: str,
        step: int | None = None,
        events: list[Event] | None = None,
    ) -> list[Alert]:
        """Raise the alert unless the run has one of ``key``: its events (``events``, when
        just read) are read before, for another watcher may have raised it."""
        known = self._alerted.get(run.run_id)
        if known is not None and key in known:
            return []
        if events is None:
            events = self.store.events(run.run_id)
        known = self._alerted[run.run_id] = {
            str(e.payload.get("key")) for e in events if e.kind == EVENT_KIND and "key" in e.payload
        }
        if key in known:
            return []
        known.add(key)
        alert = Alert(
            title, text, level, reason, key, run.run_id, run.name, run.project, time.time(), step
        )
        try:
            self.store.log_event(run.run_id, alert.event())
        except Exception as exc:  # still posted; remembered here until the watcher restarts
            if not self._warned:
                self._warned = True
                log.warning("tracker: could not record an alert in %s: %s", self.store.uri, exc)
        if self.sender is not None:
            self.sender.send(alert)
        if self._on_alert is not None:
            self._on_alert(alert)
        return [alert]

    def watch(self, stop: threading.Event) -> None:
        """Look every ``interval`` seconds until ``stop`` is set; a failing look (the
        store away) is logged and the next one tried."""
        while not stop.is_set():
            try:
                self.check()
            except Exception as exc:
                log.warning("tracker: watching %s failed (%s); trying again", self.store.uri, exc)
            stop.wait(self.interval)

    def start(self) -> threading.Event:
        """Watch on a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        threading.Thread(target=self.watch, args=(stop,), name="tracker-watch", daemon=True).start()
        return stop
