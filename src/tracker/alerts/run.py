"""`RunAlerts`: the alerts a run raises itself.

* ``run.alert(title, text, level)``: the user's own.
* The run's end as ``failed`` or ``interrupted`` (level ``error`` and ``warn``).
* A ``train/`` or ``eval/`` metric whose name contains ``loss`` turning NaN or inf:
  `RunAlerts.check` looks at each batch on the writer thread (a C-speed ``sum`` per loss
  column: NaN and inf survive it), never at ``log_metrics`` on the training thread.

Each alert's title and text are redacted by the run's rules (`tracker.values.Redactor`:
a token in a message, an exception's text), then it is recorded as an ``alert`` event
through the run's channel, like any event, and handed to a `Sender` when webhooks are
set. Alerts of one key (a user alert's title) are rate-limited: within
``TRACKER_ALERT_MIN_INTERVAL`` seconds of the last one they are not raised. A NaN loss is
raised once per metric and run: a NaN every step is one alert.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tracker.alerts.alert import Alert, Level
from tracker.records import Event, MetricBatch
from tracker.settings import TrackerSettings

if TYPE_CHECKING:
    from tracker.alerts.sender import Sender

__all__ = ["RunAlerts", "is_watched_loss", "sender_for"]

log = logging.getLogger("tracker")

_ENDINGS: dict[str, Level] = {"failed": "error", "interrupted": "warn"}


def is_watched_loss(key: str) -> bool:
    """Whether a NaN or inf in metric ``key`` raises an alert."""
    return key.startswith(("train/", "eval/")) and "loss" in key


def sender_for(settings: TrackerSettings) -> Sender | None:
    """A `Sender` to the settings' webhooks, or ``None`` where none is set (then nothing
    of the sending is imported)."""
    if not settings.alert_webhooks:
        return None
    from tracker.alerts.sender import Sender
    from tracker.alerts.webhooks import Webhook

    hooks = [Webhook.parse(spec) for spec in settings.alert_webhooks]
    return Sender(hooks, retries=settings.alert_retries, timeout=settings.alert_timeout)


class RunAlerts:
    """The alerts of one run; ``record`` puts an event on the run's normal path."""

    def __init__(
        self,
        settings: TrackerSettings,
        *,
        run_id: str,
        run_name: str,
        project: str,
        record: Callable[[Event], None],
        redact: Callable[[str], str],
    ) -> None:
        self._run = (run_id, run_name, project)
        self._record = record
        self._redact = redact
        self._sender = sender_for(settings)
        self._min_interval = settings.alert_min_interval
        self._last: dict[str, float] = {}  # key -> when last raised
        self._once: set[str] = set()
        self._watched: dict[str, bool] = {}  # metric key -> whether NaN/inf is looked for
        self._lock = threading.Lock()

    def alert(
        self,
        title: str,
        text: str,
        level: Level,
        *,
        reason: str = "user",
        key: str | None = None,
        step: int | None = None,
        once: bool = False,
    ) -> bool:
        """Raise an alert (any thread); whether it was raised or rate-limited away."""
        title, text = self._redact(title), self._redact(text)
        key = key or f"{reason}:{title}"
        now = time.time()
        with self._lock:
            if key in self._once:
                return False
            last = self._last.get(key)
            if last is not None and now - last < self._min_interval:
                return False
            self._last[key] = now
            if once:
                self._once.add(key)
        run_id, run_name, project = self._run
        raised = Alert(title, text, level, reason, key, run_id, run_name, project, now, step)
        self._record(raised.event())
        if self._sender is not None:
            self._sender.send(raised)
        return True

    def ended(self, status: str, error: str | None) -> None:
        """Alert that the run ended ``failed`` or ``interrupted`` (other endings: nothing)."""
        level = _ENDINGS.get(status)
        if level is None:
            return
        lines = [line for line in (error or "").splitlines() if line.strip()]
        name = self._run[1]
        self.alert(f"run {name} {status}", lines[-1] if lines else "", level, reason=status)

    def check(self, batch: MetricBatch) -> None:
        """Alert on the first NaN or inf of each watched loss in ``batch`` (writer thread).
        Never raises: the batch goes to the store whatever happens here."""
        try:
            self._check(batch)
        except Exception:
            log.debug("tracker: the NaN check failed", exc_info=True)

    def _check(self, batch: MetricBatch) -> None:
        watched = self._watched
        for key, series in batch.series.items():
            look = watched.get(key)
            if look is None:
                look = watched[key] = is_watched_loss(key)
            if not look or math.isfinite(sum(series.values)):
                continue
            found = [
                (s, v)
                for s, v in zip(series.steps, series.values, strict=True)
                if not math.isfinite(v)
            ]
            if not found:  # finite values whose sum overflowed
                continue
            watched[key] = False  # once per metric and run
            step, value = found[0]
            what = "NaN" if math.isnan(value) else f"{value}"
            self.alert(
                f"{key} is {what}",
                f"first at step {step}; {len(found)} of {len(series)} values in this batch",
                "error",
                reason="nonfinite",
                key=f"nonfinite:{key}",
                step=step,
                once=True,
            )

    def close(self, timeout: float) -> None:
        """Wait at most ``timeout`` seconds for alerts still being posted."""
        if self._sender is not None and not self._sender.drain(timeout):
            log.warning(
                "tracker: alerts not posted after %.0f s are given up (they stay recorded as "
                "events on the run): %s",
                timeout,
                self._sender.unsent(),
            )
