"""``tracker runs``: the table of runs, newest first, with filters."""

from __future__ import annotations

import argparse
import sys

from tracker.commands.app import Context, add_common_options, count
from tracker.commands.output import fmt_duration, fmt_time, fmt_value, status_cell
from tracker.store.base import RunQuery, metric_stats_of
from tracker.views import run_row

NAME = "runs"
HELP = "list runs, newest first"

_HEADERS = (
    "ID", "PROJECT", "NAME", "FRAMEWORK", "STATUS", "STARTED", "DURATION", "STEP",
    "TRAIN LOSS", "EVAL LOSS",
)  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    """Filters, ``--limit`` and ``--json``."""
    add_common_options(parser)
    parser.add_argument("--project", help="only runs of this project")
    parser.add_argument(
        "--status", choices=("running", "finished", "failed", "interrupted", "crashed")
    )
    parser.add_argument(
        "--tag", action="append", default=[], help="only runs with this tag (repeatable)"
    )
    parser.add_argument("--framework", help="only runs of this framework (transformers, ...)")
    parser.add_argument("--name", metavar="TEXT", help="only runs whose name contains TEXT")
    parser.add_argument("--sweep", metavar="NAME", help="only the runs of this sweep")
    parser.add_argument(
        "--limit", type=count, default=50, help="show at most N runs (default 50; 0: all)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(ctx: Context) -> int:
    """Print the runs that match the filters."""
    args = ctx.args
    store = ctx.store
    query = RunQuery(
        project=args.project,
        status=args.status,
        tags=args.tag,
        framework=args.framework,
        name_contains=args.name,
        sweep=args.sweep,
        limit=args.limit or None,
    )
    found = store.runs(query)
    stats = metric_stats_of(store, [r.run_id for r in found])
    rows = [run_row(r, stats[r.run_id]) for r in found]
    if args.json:
        ctx.console.json(rows)
        return 0
    if args.limit and len(rows) == args.limit:
        print(f"(the newest {args.limit} runs; --limit 0 shows all)", file=sys.stderr)
    ctx.console.table(
        _HEADERS,
        [
            [
                row["id"],
                row["project"],
                row["name"],
                row["framework"] or "-",
                status_cell(row["status"]),
                fmt_time(row["started_at"]),
                fmt_duration(row["duration"]),
                fmt_value(row["step"]),
                fmt_value(row["train_loss"]),
                fmt_value(row["eval_loss"]),
            ]
            for row in rows
        ],
    )
    return 0
