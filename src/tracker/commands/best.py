"""``tracker best PROJECT --metric KEY``: the uri of the best saved version of a project.

Among the versions the project's runs saved that are still present, the one whose
metrics at save have the lowest ``KEY`` (``--max``: highest); only its uri is printed,
so that it can feed another command: ``tracker best sft --metric eval/loss | xargs ...``.

Where no version has ``KEY`` among its metrics at save, ``KEY`` is a column of the
project's evaluations (``arc_easy/acc,none``, as `tracker evals` names them): the
present version with the lowest score (``--max``: highest) wins (docs/evaluations.md).
"""

from __future__ import annotations

import argparse
import math

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.records import Artifact, ArtifactState

NAME = "best"
HELP = "print the uri of a project's best saved checkpoint by a metric (for scripts)"


def configure(parser: argparse.ArgumentParser) -> None:
    """``PROJECT``, ``--metric``, ``--max``, ``--kind``."""
    add_common_options(parser)
    parser.add_argument("project", help="the project whose runs are compared")
    parser.add_argument(
        "--metric", required=True, help="the metric at save to rank by, such as eval/loss"
    )
    parser.add_argument("--max", action="store_true", help="highest wins (accuracy)")
    parser.add_argument("--kind", help="only this kind (checkpoint, model, adapter)")


def run(ctx: Context) -> int:
    """Print the best version's uri."""
    args = ctx.args
    found = ctx.store.artifacts(
        project=args.project, direction="output", state=ArtifactState.PRESENT.value, kind=args.kind
    )
    best = pick(found, args.metric, highest=args.max) or _by_evaluation(ctx, found)
    if best is None:
        raise CommandError(
            f"no present artifact of project {args.project!r} has {args.metric!r} in its "
            "metrics at save or a score of that name; `tracker artifacts RUN` shows what "
            "each run saved, `tracker evals PROJECT` the scores"
        )
    ctx.console.line(best.uri)
    return 0


def _by_evaluation(ctx: Context, present: list[Artifact]) -> Artifact | None:
    """The present version with the best score of column ``--metric`` of the project's
    leaderboard (lowest; ``--max``: highest)."""
    from tracker.leaderboard import leaderboard

    board = leaderboard(ctx.store, ctx.args.project)
    kept = {(a.run_id, a.name, a.version) for a in present}
    board.entries = [
        e
        for e in board.entries
        if e.checkpoint is not None
        and (e.checkpoint.run_id, e.checkpoint.name, e.checkpoint.version) in kept
    ]
    best = board.best(ctx.args.metric, highest=ctx.args.max)
    return None if best is None else best.checkpoint


def pick(found: list[Artifact], metric: str, *, highest: bool) -> Artifact | None:
    """The version with the lowest (``highest``: highest) finite ``metric``; of equals,
    the one saved last."""
    ranked = [
        (a.metrics[metric] * (-1 if highest else 1), -a.created_at, i)
        for i, a in enumerate(found)
        if isinstance(a.metrics.get(metric), int | float) and math.isfinite(a.metrics[metric])
    ]
    return found[min(ranked)[2]] if ranked else None
