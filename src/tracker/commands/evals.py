"""``tracker evals PROJECT``: the leaderboard of a project's checkpoints by their evaluations,
and ``tracker evals --diff EVAL_A EVAL_B``: which samples went right to wrong and back.

The leaderboard (`tracker.leaderboard`) has a row per evaluated version: the run that
produced it, its step, kind and state, then each column's score (``task/metric``), the
best of each column marked ``*`` (lowest for losses and perplexities, else highest). A
version no run's output matches is a row of its own, named by its uri. ``--json`` prints
the rows, with run ids, uris and digests, for scripts.
"""

from __future__ import annotations

import argparse
import math

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.output import Styled, fmt_value
from tracker.leaderboard import Entry, SampleDiff, board_json, diff_json, leaderboard, sample_diff
from tracker.records import Row

NAME = "evals"
HELP = "a project's checkpoints by their evaluation scores; --diff compares two evaluations"

_SHOWN_CELL = 60  # characters of a sample's text shown in a diff


def configure(parser: argparse.ArgumentParser) -> None:
    """``PROJECT`` or ``--diff EVAL_A EVAL_B``, ``--metric``, ``--json``."""
    add_common_options(parser)
    parser.add_argument("project", nargs="?", help="the project whose checkpoints are shown")
    parser.add_argument(
        "--diff",
        nargs=2,
        metavar=("EVAL_A", "EVAL_B"),
        help="compare the samples of two evaluations (ids from --json)",
    )
    parser.add_argument(
        "--metric", help="with --diff: the per-sample column to judge by (default: the task's)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(ctx: Context) -> int:
    """Print the leaderboard, or the diff."""
    args = ctx.args
    if args.diff:
        return _diff(ctx, sample_diff(ctx.store, args.diff[0], args.diff[1], args.metric))
    if not args.project:
        raise CommandError("give a project (`tracker evals PROJECT`) or --diff EVAL_A EVAL_B")
    board = leaderboard(ctx.store, args.project)
    if args.json:
        ctx.console.json(board_json(board))
        return 0
    if not board.entries:
        ctx.console.line(
            f"project {args.project!r} has no evaluated checkpoints: record scores with "
            "run.log_evaluation (docs/evaluations.md)"
        )
        return 0
    best = {column: board.best(column) for column in board.columns}
    headers = ("RUN", "STEP", "KIND", "STATE", "VERSION", *board.columns)
    ctx.console.table(headers, [_cells(entry, board.columns, best) for entry in board.entries])
    return 0


def _cells(entry: Entry, columns: list[str], best: dict[str, Entry | None]) -> list[str | Styled]:
    c = entry.checkpoint
    head: list[str | Styled] = (
        ["-", "-", "-", "unknown", entry.uri or "(no version named)"]
        if c is None
        else [c.run_id, fmt_value(c.step), c.kind, c.state, f"{c.name} v{c.version}"]
    )
    for column in columns:
        if column not in entry.scores:
            head.append("-")
            continue
        value = entry.value(column)
        text = fmt_value(value)
        if best[column] is entry and not math.isnan(value):
            head.append(Styled(f"{text} *", "bold"))
        else:
            head.append(text)
    return head


def _diff(ctx: Context, diff: SampleDiff) -> int:
    if ctx.args.json:
        ctx.console.json(diff_json(diff))
        return 0
    counts = diff.counts
    ctx.console.line(
        f"{diff.a.task}: {diff.a.eval_id} -> {diff.b.eval_id}, judged by {diff.metric}: "
        f"{len(diff.worse)} right -> wrong, {len(diff.better)} wrong -> right, "
        f"{counts['right_both']} right in both, {counts['wrong_both']} wrong in both"
    )
    for title, changes in (("right -> wrong", diff.worse), ("wrong -> right", diff.better)):
        if not changes:
            continue
        ctx.console.heading(title)
        ctx.console.table(
            ("DOC", "TARGET", "RESPONSE A", "RESPONSE B"),
            [
                [fmt_value(doc), _shown(ra, "target"), _shown(ra, "response"),
                 _shown(rb, "response")]
                for doc, ra, rb in changes
            ],
        )  # fmt: skip
    return 0


def _shown(row: Row, column: str) -> str:
    text = fmt_value(row.get(column))
    return text if len(text) <= _SHOWN_CELL else text[: _SHOWN_CELL - 1] + "…"
