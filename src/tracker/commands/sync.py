"""``tracker sync``: copy runs from one store to another, and deliver unsent files.

``tracker sync --to URI`` pushes the runs of the local store (or ``--from URI``) that the
target lacks, in whole or in part, and delivers the rescue files and spools that runs
left for that store while it was unreachable. ``tracker sync --from URI --run REF``
takes a run home into the local store. Running it again copies nothing; a sync that was
killed goes on where it stopped (see `tracker.sync`).
"""

from __future__ import annotations

import argparse

from tracker.commands.app import CommandError, Context
from tracker.rescue import rescue_dirs
from tracker.settings import TrackerSettings
from tracker.store.base import RunQuery, Store
from tracker.store.registry import open_store, redact_uri
from tracker.store.resolve import resolve_run
from tracker.sync import (
    SyncReport,
    copy_runs,
    deliver_unsent,
    missing_points,
    stderr_progress,
    unsent_files,
)

NAME = "sync"
HELP = "copy runs between stores (local SQLite, spools, PostgreSQL), only what is missing"


def configure(parser: argparse.ArgumentParser) -> None:
    """``--from``, ``--to``, ``--run``, ``--project``."""
    parser.add_argument(
        "--from", dest="source", metavar="URI", help="store to copy from (default: the local one)"
    )
    parser.add_argument(
        "--to", dest="target", metavar="URI", help="store to copy to (default: the local one)"
    )
    parser.add_argument(
        "--run",
        dest="runs",
        action="append",
        default=[],
        metavar="RUN",
        help="a run id, id prefix or name (repeatable; default: every run)",
    )
    parser.add_argument("--project", help="only the runs of this project")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (default: only on a terminal)",
    )
    parser.set_defaults(store=None)


def run(ctx: Context) -> int:
    """Copy, then deliver the unsent files meant for the target."""
    args = ctx.args
    settings = TrackerSettings()
    local = settings.store_uris[0]
    source_uri, target_uri = args.source or local, args.target or local
    if source_uri == target_uri:
        raise CommandError(
            f"source and target are both {redact_uri(source_uri)}: give --to URI (or --from URI)"
        )
    source = open_store(source_uri)
    try:
        target = open_store(target_uri)
        try:
            copied = _copy(ctx, source, target)
            shown = redact_uri(target.uri)
            meant_for = {shown, redact_uri(target_uri)}
            files = unsent_files(rescue_dirs(settings.dir / "unsent"), meant_for)
            delivered = deliver_unsent(files, target)
        finally:
            target.close()
    finally:
        source.close()
    ctx.console.line(
        f"{copied.runs} runs checked, {copied.points:,} points and {copied.events} events "
        f"copied to {shown}; {delivered.files} unsent files delivered "
        f"({delivered.points:,} points)"
    )
    return 0


def _copy(ctx: Context, source: Store, target: Store) -> SyncReport:
    args = ctx.args
    if args.runs:
        run_ids = [resolve_run(source, ref).run_id for ref in args.runs]
    else:
        run_ids = [r.run_id for r in source.runs(RunQuery(project=args.project))]
    progress = stderr_progress(missing_points(source, target, run_ids))
    return copy_runs(source, target, run_ids, progress)
