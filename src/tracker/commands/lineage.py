"""``tracker lineage RUN_OR_ARTIFACT``: what a run came from and what came of it.

Inputs (base model, datasets, a checkpoint, with the run that produced it), the run, its
outputs (with the runs that started from them). A reference that names no run is looked
up as an artifact's uri, path or digest: the lineage of the run that produced it.
"""

from __future__ import annotations

import argparse
import os

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.artifacts import fmt_bytes, fmt_metrics, state_cell
from tracker.commands.output import Styled, fmt_value
from tracker.records import Artifact, RunRecord
from tracker.store.base import RunNotFoundError
from tracker.views import lineage_view, linked_run_names, linked_runs

NAME = "lineage"
HELP = "show a run's inputs, outputs and the runs linked through them"

_OUTPUT_HEADERS = (
    "KIND", "VERSION", "STEP", "METRICS AT SAVE", "SIZE", "STATE", "BEST", "URI", "USED BY",
)  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    """``RUN_OR_ARTIFACT``, ``--json``."""
    add_common_options(parser)
    parser.add_argument(
        "ref", metavar="RUN_OR_ARTIFACT", help="a run, or an artifact's path or digest"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(ctx: Context) -> int:
    """Print the lineage."""
    record = _run_of(ctx, ctx.args.ref)
    if ctx.args.json:
        ctx.console.json(lineage_view(ctx.store, record))
        return 0
    lineage = ctx.store.lineage(record.run_id)
    names = linked_run_names(ctx.store, lineage)
    console = ctx.console
    console.heading("inputs")
    if lineage.inputs:
        console.table(
            ("KIND", "NAME", "URI", "STATE", "FROM RUN"),
            [
                [a.kind, a.name, a.uri, state_cell(a.state), _linked(a, lineage.sources, names)]
                for a in lineage.inputs
            ],
        )
    else:
        console.line("  (none recorded)")
    console.heading(f"run {record.name} ({record.run_id}, project {record.project})")
    console.heading("outputs")
    if lineage.outputs:
        console.table(
            _OUTPUT_HEADERS,
            [
                [
                    a.kind, f"{a.name} v{a.version}", fmt_value(a.step), fmt_metrics(a.metrics),
                    fmt_bytes(a.size), state_cell(a.state), "*" if a.best else "", a.uri,
                    _linked(a, lineage.consumers, names),
                ]
                for a in lineage.outputs
            ],
        )  # fmt: skip
    else:
        console.line("  (none recorded)")
    return 0


def _run_of(ctx: Context, ref: str) -> RunRecord:
    try:
        return ctx.resolve(ref)
    except RunNotFoundError:
        pass
    refs = sorted({ref, os.path.abspath(os.path.expanduser(ref))})
    found = ctx.store.artifacts(refs=refs, direction="output") or ctx.store.artifacts(refs=refs)
    if not found:
        raise CommandError(
            f"{ref!r} names no run and no recorded artifact (a run id, name, or an "
            "artifact's path or digest)"
        )
    return ctx.store.get_run(found[0].run_id)


def _linked(mine: Artifact, others: list[Artifact], names: dict[str, str]) -> str | Styled:
    runs = linked_runs(mine, others)
    return ", ".join(f"{names.get(r, '?')} ({r})" for r in runs) or "-"
