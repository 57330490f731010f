"""``tracker ui``: serve the dashboard over the store until Ctrl-C."""

from __future__ import annotations

import argparse
import secrets
import sys

from tracker.alerts.watch import Watcher
from tracker.commands.app import CommandError, Context, add_common_options, port, seconds, token
from tracker.settings import TrackerSettings

NAME = "ui"
HELP = "open the local dashboard (needs tracker[ui])"


def configure(parser: argparse.ArgumentParser) -> None:
    """Address, port, access token and idle timeout."""
    add_common_options(parser)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs an access token)",
    )
    parser.add_argument("--port", type=port, default=8765, help="port (default 8765; 0: any)")
    parser.add_argument(
        "--token",
        type=token,
        help="access token; on an address other than loopback one is made up when not given",
    )
    parser.add_argument(
        "--idle-timeout",
        type=seconds,
        metavar="SECONDS",
        help="close a connection that sends nothing for this long (default: a minute)",
    )


def run(ctx: Context) -> int:
    """Serve until interrupted."""
    try:
        from tracker.ui.server import IDLE_TIMEOUT_S, Dashboard, is_loopback
    except ImportError as exc:
        raise ImportError(
            f"the dashboard needs the ui extra ({exc.name}): pip install 'tracker[ui]'"
        ) from None
    args = ctx.args
    token = args.token
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(24)
    settings = TrackerSettings()
    watcher = None
    if settings.ui_watch:  # crashed and stalled alerts, as `tracker watch` raises them
        try:
            watcher = Watcher(ctx.store, settings)
        except ValueError as exc:  # a webhook that is not a URL (shown masked)
            raise CommandError(str(exc)) from None
    try:
        dashboard = Dashboard(
            ctx.store,
            args.host,
            args.port,
            token=token,
            idle_timeout=args.idle_timeout or IDLE_TIMEOUT_S,
        )
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    print(
        f"tracker ui: serving {ctx.store.uri} at {dashboard.url} (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    with dashboard:
        if watcher is not None:
            watcher.start()
        try:
            dashboard.serve_forever()
        except KeyboardInterrupt:
            return 0
    return 0
