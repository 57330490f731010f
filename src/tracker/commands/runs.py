"""``tracker runs``: the table of runs, newest first, with filters; or with ``--group-by``,
one line per group of runs with a metric's count, mean, min and max (`tracker.groups`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from tracker.commands.app import CommandError, Context, add_common_options, count
from tracker.commands.output import fmt_duration, fmt_time, fmt_value, status_cell
from tracker.groups import MetricNotFoundError, check_field, group_runs
from tracker.records import RunRecord
from tracker.store.base import MetricStats, RunQuery, metric_stats_of
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
        "--limit",
        type=count,
        default=None,
        help="show at most N runs (default 50, all with --group-by; 0: all)",
    )
    parser.add_argument(
        "--group-by",
        metavar="FIELD",
        help="one line per group of runs with equal FIELD: config.KEY, summary.KEY, sweep, ...",
    )
    parser.add_argument(
        "--metric",
        metavar="KEY",
        help="with --group-by: each group's count, mean, min and max of metric KEY (its last "
        "value in each run, else the run's summary value)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(ctx: Context) -> int:
    """Print the runs that match the filters."""
    args = ctx.args
    if args.metric is not None and args.group_by is None:
        raise CommandError(
            "--metric goes with --group-by: tracker runs --group-by FIELD --metric KEY"
        )
    if args.group_by is not None:
        try:
            check_field(args.group_by)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if args.limit is None:
        args.limit = 0 if args.group_by else 50
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
    if args.group_by is not None:
        return _groups(ctx, found, stats)
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


def _groups(
    ctx: Context, found: list[RunRecord], stats: Mapping[str, Mapping[str, MetricStats]]
) -> int:
    """Print one line per group: its value, its runs and the metric's statistics."""
    args = ctx.args
    try:
        groups = group_runs(found, args.group_by, args.metric, stats)
    except MetricNotFoundError as exc:
        raise CommandError(f"--metric: {exc}") from None
    if args.json:
        ctx.console.json([{**g.as_dict(), "count": g.count, "metric": args.metric} for g in groups])
        return 0
    headers = [args.group_by.upper(), "RUNS"]
    if args.metric is not None:
        headers += [f"{args.metric.upper()} MEAN", "MIN", "MAX"]
    rows = []
    for g in groups:
        row = [fmt_value(g.value), str(g.count)]
        if args.metric is not None:
            row += [fmt_value(g.mean), fmt_value(g.min), fmt_value(g.max)]
        rows.append(row)
    ctx.console.table(headers, rows)
    return 0
