"""``tracker watch``: raise ``crashed`` and ``stalled`` alerts for the runs of a store.

A run's own process raises its other alerts; only a watcher can see one that died or hung
(`tracker.alerts.watch`). Each alert is printed, recorded on its run and posted to the
webhooks of ``TRACKER_ALERT_WEBHOOKS``; a watcher started again repeats none.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from tracker.alerts.alert import Alert
from tracker.alerts.watch import Watcher
from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.output import fmt_duration, fmt_time, safe
from tracker.settings import TrackerSettings

NAME = "watch"
HELP = "raise alerts for runs that crashed or stalled, and keep watching"


def configure(parser: argparse.ArgumentParser) -> None:
    """Which runs, how often, how long a stall is, once or for good."""
    add_common_options(parser)
    parser.add_argument("--project", help="only runs of this project (default: every one)")
    parser.add_argument(
        "--interval",
        type=_seconds,
        metavar="S",
        help="seconds between two looks (default: TRACKER_WATCH_INTERVAL, 30)",
    )
    parser.add_argument(
        "--stall-after",
        type=_seconds,
        metavar="S",
        help="seconds without a new step, heartbeat alive, that make a run stalled "
        "(default: TRACKER_STALL_AFTER, 1800)",
    )
    parser.add_argument("--once", action="store_true", help="look once and exit")


def run(ctx: Context) -> int:
    """Watch until interrupted (or once, with ``--once``)."""
    args = ctx.args
    overrides: dict[str, Any] = {}
    if args.interval is not None:
        overrides["watch_interval"] = args.interval
    if args.stall_after is not None:
        overrides["stall_after"] = args.stall_after
    try:
        settings = TrackerSettings(**overrides)
        watcher = Watcher(ctx.store, settings, project=args.project, on_alert=_printer(ctx))
    except ValueError as exc:  # a webhook that is not a URL (shown masked)
        raise CommandError(str(exc)) from None
    hooks = watcher.sender.webhooks if watcher.sender else []
    told = ", ".join(h.shown for h in hooks) if hooks else "no webhook (TRACKER_ALERT_WEBHOOKS)"
    ctx.console.err.write(
        f"tracker watch: watching {ctx.store.uri} every {fmt_duration(watcher.interval)} "
        f"(stalled after {fmt_duration(watcher.stall_after)}); alerts to {told}\n"
    )
    ctx.console.err.flush()
    try:
        if args.once:
            watcher.check()
        else:
            watcher.watch(threading.Event())
    except KeyboardInterrupt:  # Ctrl-C is how one stops watching
        pass
    if watcher.sender is not None:
        watcher.sender.drain(settings.alert_timeout)
    return 0


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _printer(ctx: Context) -> Callable[[Alert], None]:
    def show(alert: Alert) -> None:
        ctx.console.line(
            f"{fmt_time(alert.at)}  {alert.reason}  {safe(alert.project)}/{safe(alert.run_name)}"
            f" ({alert.run_id}): {safe(alert.text)}"
        )
        ctx.console.out.flush()

    return show
