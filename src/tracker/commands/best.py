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
    kinds = sorted({a.kind_label for a in ranked})
    kind = args.kind
    if kind is None and ranked:
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


def pick(found: list[Artifact], metric: str, *, highest: bool) -> Artifact | None:
    """The version with the lowest (``highest``: highest) finite ``metric``; of equals,
    the one saved last."""
    ranked = [
        (a.metrics[metric] * (-1 if highest else 1), -a.created_at, i)
        for i, a in enumerate(found)
        if _ranked(a, metric)
    ]
    return found[min(ranked)[2]] if ranked else None
