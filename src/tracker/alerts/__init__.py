"""Alerts: being told that a run failed, went NaN, crashed or stalled, without watching it.

* `Alert` is one alert; it is recorded as an ``alert`` event on its run and sent to the
  webhooks of ``TRACKER_ALERT_WEBHOOKS`` (`tracker.alerts.webhooks`).
* `RunAlerts` raises a run's alerts: ``run.alert(...)``, the run's end as ``failed`` or
  ``interrupted``, and a ``train/`` or ``eval/`` loss turning NaN or inf (checked on the
  writer thread, batch by batch, never on the training thread).
* `tracker.alerts.sender.Sender` posts them from a thread of its own.
* `tracker.alerts.watch.Watcher` raises what a run's own process cannot: ``crashed`` (its
  heartbeat went stale) and ``stalled`` (its step stopped moving while it is alive), for
  ``tracker watch`` and a running ``tracker ui``.
"""

from __future__ import annotations

from tracker.alerts.alert import LEVELS, Alert, Level
from tracker.alerts.run import RunAlerts

__all__ = ["LEVELS", "Alert", "Level", "RunAlerts"]
