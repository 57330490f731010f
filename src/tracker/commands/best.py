"""``tracker best PROJECT --metric KEY``: the uri of the best saved version of a project.

Among the versions the project's runs saved whose files are there (``present``, or
``unhashed`` ones whose path still exists: a run killed while it hashed its last
checkpoint), the one whose metrics at save have the lowest ``KEY`` (``--max``:
highest); only its uri is printed, so that it can feed another command:
``tracker best sft --metric eval/loss | xargs ...``.

Kinds are never mixed silently: versions are ranked within one kind as
`tracker.records.Artifact.kind_label` names it (``checkpoint``, ``adapter-checkpoint``
for a PEFT adapter's checkpoint, ``model``, ``adapter``, ...). ``--kind`` chooses it;
without, it is the kind of the project's best version whatever its state, so a best
checkpoint that was deleted or corrupted never hands the choice to another kind. What
was ranked, and the kinds left out, are said on stderr.

Where no version has ``KEY`` among its metrics at save, ``KEY`` is a column of the
project's evaluations (``arc_easy/acc,none``, as `tracker evals` names them): of the
versions still there (of ``--kind`` if given), the one with the lowest score (``--max``:
highest) wins (docs/evaluations.md).
"""

from __future__ import annotations

import argparse
import math
import os

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
    parser.add_argument(
        "--kind",
        help="only this kind (checkpoint, adapter-checkpoint, model, adapter); default: the "
        "kind of the project's best version",
    )


def run(ctx: Context) -> int:
    """Print the best version's uri; what was ranked on stderr."""
    args = ctx.args
    saved = ctx.store.artifacts(project=args.project, direction="output")
    ranked = [a for a in saved if _ranked(a, args.metric)]
    if not ranked:  # no metric at save of that name: a column of the evaluations
        return _best_by_evaluation(ctx, saved)
    kinds = sorted({a.kind_label for a in ranked})
    kind = args.kind
    if kind is None:
        overall = pick(ranked, args.metric, highest=args.max)
        kind = None if overall is None else overall.kind_label
    best = pick(
        [a for a in ranked if a.kind_label == kind and _there(a)], args.metric, highest=args.max
    )
    if best is None:
        others = f" (it has {', '.join(kinds)}: choose with --kind)" if kinds else ""
        raise CommandError(
            f"no {kind or 'saved'} version of project {args.project!r} that is still there has "
            f"{args.metric!r} in its metrics at save{others}; `tracker artifacts RUN` shows "
            "what each run saved"
        )
    left = [k for k in kinds if k != kind]
    note = f"; also saved: {', '.join(left)} (--kind chooses)" if left else ""
    state = "" if best.state == ArtifactState.PRESENT else f", {best.state}"
    ctx.console.err.write(
        f"best {kind} by {args.metric}: {best.name} v{best.version} of run {best.run_id} "
        f"({args.metric}={best.metrics[args.metric]:g}{state}){note}\n"
    )
    ctx.console.line(best.uri)
    return 0


def _best_by_evaluation(ctx: Context, saved: list[Artifact]) -> int:
    """Print the version still there (of ``--kind``) with the best score ``--metric``."""
    args = ctx.args
    there = [a for a in saved if _there(a) and args.kind in (None, a.kind_label)]
    best = _by_evaluation(ctx, there)
    if best is None:
        raise CommandError(
            f"no {args.kind or 'saved'} version of project {args.project!r} that is still "
            f"there has {args.metric!r} in its metrics at save or a score of that name; "
            "`tracker artifacts RUN` shows what each run saved, `tracker evals PROJECT` the "
            "scores"
        )
    ctx.console.err.write(
        f"best {best.kind_label} by the score {args.metric}: {best.name} v{best.version} "
        f"of run {best.run_id}\n"
    )
    ctx.console.line(best.uri)
    return 0


def _ranked(a: Artifact, metric: str) -> bool:
    value = a.metrics.get(metric)
    return isinstance(value, int | float) and math.isfinite(value)


def _there(a: Artifact) -> bool:
    """Whether ``a``'s files are there as far as the store knows: ``present``, or never
    hashed (``unhashed``) with its local path still existing (one ``stat``)."""
    if a.state == ArtifactState.PRESENT:
        return True
    if a.state != ArtifactState.UNHASHED:
        return False
    from tracker.artifacts import stored_path

    path = stored_path(a.uri)
    return path is not None and os.path.exists(path)


def _by_evaluation(ctx: Context, there: list[Artifact]) -> Artifact | None:
    """The version with the best score of column ``--metric`` of the project's
    leaderboard (lowest; ``--max``: highest)."""
    from tracker.leaderboard import leaderboard

    board = leaderboard(ctx.store, ctx.args.project)
    kept = {(a.run_id, a.name, a.version) for a in there}
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
        if _ranked(a, metric)
    ]
    return found[min(ranked)[2]] if ranked else None
