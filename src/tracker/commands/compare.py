"""``tracker compare RUN RUN...``: config differences and final/best metrics side by side."""

from __future__ import annotations

import argparse

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.output import fmt_value
from tracker.views import config_diff, metrics_side_by_side

NAME = "compare"
HELP = "compare runs: config differences, final and best metrics"


def configure(parser: argparse.ArgumentParser) -> None:
    """Two or more runs and ``--json``."""
    add_common_options(parser)
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run ids, id prefixes or names")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(ctx: Context) -> int:
    """Print the differences."""
    if len(ctx.args.runs) < 2:
        raise CommandError("name at least two runs to compare")
    runs = [ctx.resolve(ref) for ref in ctx.args.runs]
    ids = [r.run_id for r in runs]
    if len(set(ids)) < len(ids):
        raise CommandError("the same run is named twice")
    diff = config_diff(runs)
    metrics = metrics_side_by_side([ctx.store.metric_stats(r.run_id) for r in runs])
    if ctx.args.json:
        ctx.console.json(
            {
                "runs": [{"id": r.run_id, "name": r.name} for r in runs],
                "config": diff,
                "metrics": metrics,
            }
        )
        return 0
    console = ctx.console
    names = [f"{r.name} ({r.run_id[:6]})" for r in runs]
    console.heading("Config differences")
    if diff:
        console.table(
            ("KEY", *names), [[row["key"], *map(fmt_value, row["values"])] for row in diff]
        )
    else:
        console.line("  (none: the configs are the same)")
    console.line()
    console.heading("Metrics (final / best)")
    console.table(
        ("METRIC", *names),
        [
            [
                row["key"],
                *(
                    "-" if final is None else f"{fmt_value(final)} / {fmt_value(best)}"
                    for final, best in zip(row["final"], row["best"], strict=True)
                ),
            ]
            for row in metrics
        ],
    )
    return 0
