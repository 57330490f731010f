"""``tracker best PROJECT --metric KEY``: the uri of the best saved version of a project.

Among the versions the project's runs saved that are still present, the one whose
metrics at save have the lowest ``KEY`` (``--max``: highest); only its uri is printed,
so that it can feed another command: ``tracker best sft --metric eval/loss | xargs ...``.
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
    best = pick(found, args.metric, highest=args.max)
    if best is None:
        raise CommandError(
            f"no present artifact of project {args.project!r} has {args.metric!r} in its "
            "metrics at save; `tracker artifacts RUN` shows what each run saved"
        )
    ctx.console.line(best.uri)
    return 0


def pick(found: list[Artifact], metric: str, *, highest: bool) -> Artifact | None:
    """The version with the lowest (``highest``: highest) finite ``metric``; of equals,
    the one saved last."""
    ranked = [
        (a.metrics[metric] * (-1 if highest else 1), -a.created_at, i)
        for i, a in enumerate(found)
        if isinstance(a.metrics.get(metric), int | float) and math.isfinite(a.metrics[metric])
    ]
    return found[min(ranked)[2]] if ranked else None
