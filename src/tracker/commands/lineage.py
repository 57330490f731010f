"""``tracker lineage RUN|PATH|DIGEST [--depth N] [--width N]``: what it came from and what
came of it.

The whole chain both ways (`tracker.views.lineage_view`): upstream, the versions a run
used, the runs that produced them, their inputs, ... (base model → SFT run → checkpoint →
DPO run); downstream, its outputs and the runs that used them, and on. A reference that
names no run is an artifact's path, uri or digest: that version's own lineage (the runs
that produced it, and those that used it), the latest recorded there. Each node is one
row, by its distance in hops (run → checkpoint is one, checkpoint → the run that used it
another), with the nodes one hop nearer that it links to; ``--depth`` stops the walk, and
``--width`` shows the first N nodes at each distance each way and counts the others (a
checkpoint thousands of runs started from). An evaluation of a version is a row below it
(one hop on), with its scores and the path it loaded.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.artifacts import fmt_metrics, state_cell
from tracker.commands.output import Styled, fmt_value
from tracker.records import Artifact, RunRecord
from tracker.store.base import RunNotFoundError
from tracker.store.resolve import latest_version
from tracker.views import lineage_view

NAME = "lineage"
HELP = "show what a run or artifact came from and what came of it, the whole chain"

_HEADERS = ("HOPS", "NODE", "KIND", "STATE", "STEP", "METRICS AT SAVE", "URI", "LINKS")
_VERBS = {  # (edge kind, walking upstream) -> how a node names its nearer neighbour
    ("used", True): "used by",
    ("produced", True): "made",
    ("used", False): "used",
    ("produced", False): "made by",
    ("evaluated", False): "evaluated",
}


def configure(parser: argparse.ArgumentParser) -> None:
    """``RUN_OR_ARTIFACT``, ``--depth``, ``--width``, ``--json``."""
    add_common_options(parser)
    parser.add_argument(
        "ref",
        metavar="RUN_OR_ARTIFACT",
        help="a run, or an artifact's path, uri or digest (that version's own lineage)",
    )
    parser.add_argument(
        "--depth",
        type=_at_least(0, "a number of hops (0, 1, 2, ...)"),
        default=None,
        metavar="N",
        help="follow at most N hops each way (run -> checkpoint is one); default: all",
    )
    parser.add_argument(
        "--width",
        type=_at_least(1, "a number of nodes (1, 2, ...)"),
        default=None,
        metavar="N",
        help="show at most N nodes at each distance each way, counting the others; default: all",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def _at_least(low: int, what: str) -> Callable[[str], int]:
    """An option's type: a whole number ``low`` or more, else an error naming ``what``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


def run(ctx: Context) -> int:
    """Print the lineage."""
    view = lineage_view(
        ctx.store, _root_of(ctx, ctx.args.ref), depth=ctx.args.depth, width=ctx.args.width
    )
    if ctx.args.json:
        ctx.console.json(view)
        return 0
    nodes = {n["id"]: n for n in view["nodes"]}
    console = ctx.console
    console.heading(f"lineage of {_described(nodes[view['root']])}")
    for upstream, title in ((True, "came from"), (False, "led to")):
        console.heading(title)
        side = "upstream" if upstream else "downstream"
        shown = sorted((n for n in view["nodes"] if n[side]), key=lambda n: n[side])
        if not shown:
            console.line("  (nothing recorded)")
            continue
        links = _links(view["edges"], nodes, upstream)
        rows = [_row(n, n[side], ", ".join(links.get(n["id"], ())) or "-") for n in shown]
        console.table(_HEADERS, rows)
        for hidden in view["hidden"]:
            if (hidden["hops"] < 0) == upstream:
                hops = abs(hidden["hops"])
                console.line(
                    f"  (+ {hidden['nodes']} more at {hops} hop{'s' * (hops != 1)}, "
                    f"beyond --width {view['width']})"
                )
    if any(n["more"] for n in view["nodes"]):
        console.line(f"(+ more beyond --depth {view['depth']})")
    return 0


def _root_of(ctx: Context, ref: str) -> RunRecord | Artifact:
    """The run ``ref`` names, else the latest version recorded at that path, uri or
    digest (an output first)."""
    try:
        return ctx.resolve(ref)
    except RunNotFoundError:
        pass
    found = latest_version(ctx.store, [ref, os.path.abspath(os.path.expanduser(ref))])
    if found is None:
        raise CommandError(
            f"{ref!r} names no run and no recorded artifact (a run id, name, or an "
            "artifact's path, uri or digest)"
        )
    return found


def _label(node: dict[str, Any]) -> str:
    """A node as one names it: ``run NAME (ID)``, ``NAME vN`` (a version some run
    produced), the name of an input none did, or ``evaluation TASK (EVAL_ID)``."""
    if node["kind"] == "run":
        return f"run {node['run']['name']} ({node['run']['id']})"
    if node["kind"] == "evaluation":
        return f"evaluation {node['evaluation']['task']} ({node['evaluation']['id']})"
    a = node["artifact"]
    return f"{a['name']} v{a['version']}" if a["direction"] == "output" else a["name"]


def _described(node: dict[str, Any]) -> str:
    """The root as the heading names it: a run by its label, a version with its kind,
    state and uri."""
    if node["kind"] == "run":
        return _label(node)
    a = node["artifact"]
    return f"{_label(node)} ({a['kind']}, {a['state']}) {a['uri']}"


def _row(node: dict[str, Any], hops: int, links: str) -> list[str | Styled]:
    more = " +more" if node["more"] else ""
    if node["kind"] == "run":
        return [str(hops), _label(node) + more, "run", "", "", "", "", links]
    if node["kind"] == "evaluation":
        e = node["evaluation"]
        scores = fmt_metrics({s["metric"]: s["value"] for s in e["scores"]})
        return [str(hops), _label(node), "evaluation", "", "", scores, e["uri"], links]
    a = node["artifact"]
    return [
        str(hops), _label(node) + more, a["kind"], state_cell(a["state"]),
        fmt_value(a["step"]), fmt_metrics(a["metrics"]), a["uri"], links,
    ]  # fmt: skip


def _links(
    edges: list[dict[str, Any]], nodes: dict[str, dict[str, Any]], upstream: bool
) -> dict[str, list[str]]:
    """How each node links to the nodes one hop nearer the root, by node:
    ``used by run dpo (ID)``."""
    side = "upstream" if upstream else "downstream"
    near, far = ("to", "from") if upstream else ("from", "to")
    found: dict[str, dict[str, None]] = {}
    for edge in edges:
        mine, nearer = nodes.get(edge[far]), nodes.get(edge[near])
        if mine and nearer and mine[side] and nearer[side] == mine[side] - 1:
            text = f"{_VERBS[edge['kind'], upstream]} {_label(nearer)}"
            found.setdefault(mine["id"], {})[text] = None
    return {node: list(texts) for node, texts in found.items()}
