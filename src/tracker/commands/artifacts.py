"""``tracker artifacts RUN``: the versions a run saved, and ``tracker artifacts verify RUN``.

The table shows each output version (``--inputs``: what the run used): name, version,
kind, step, the metrics at save, size, state and the best mark. ``verify`` hashes each
local version again and records what it finds: ``present``, ``changed`` (other bytes
than its digest), ``gone`` (missing) or ``unreadable``; a version never hashed
(``unhashed``) is hashed now. Exit status 0 when every local version is as hashed,
`EXIT_CHANGED` (1) when one is not.
"""

from __future__ import annotations

import argparse
import os

from tracker.commands.app import Context, add_common_options
from tracker.commands.output import Styled, fmt_value
from tracker.records import Artifact, ArtifactState
from tracker.views import artifact_json

NAME = "artifacts"
HELP = "list the checkpoints and models a run saved; `artifacts verify RUN` re-hashes them"

_HEADERS = ("NAME", "VERSION", "KIND", "STEP", "METRICS AT SAVE", "SIZE", "STATE", "BEST", "URI")
_SHOWN_METRICS = 3
_STATE_STYLES = {"present": "green", "gone": "dim", "changed": "red", "unreadable": "red"}
EXIT_USAGE = 2
"""The exit status of a bad argument, as argparse's."""
EXIT_CHANGED = 1
"""``verify``'s exit status when a version is changed, gone or unreadable (as
``sha256sum -c``); 0 when every local version is as hashed, 2 for a bad argument, and 1
too for an error (no such run, a store it cannot read)."""
_NOT_AS_HASHED = frozenset({"changed", "gone", "unreadable"})


def configure(parser: argparse.ArgumentParser) -> None:
    """``[verify] RUN``, ``--kind``, ``--inputs``, ``--json``."""
    add_common_options(parser)
    parser.add_argument(
        "words", nargs="+", metavar="[verify] RUN", help="a run id, id prefix or name"
    )
    parser.add_argument("--kind", help="only this kind (checkpoint, model, adapter, dataset)")
    parser.add_argument("--inputs", action="store_true", help="what the run used instead")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(ctx: Context) -> int:
    """List (or verify) the run's artifacts."""
    words = ctx.args.words
    if len(words) == 2 and words[0] == "verify":
        return _verify(ctx, words[1])
    if len(words) != 1:
        ctx.console.err.write(
            "tracker artifacts: error: give one run: `tracker artifacts RUN` or "
            "`tracker artifacts verify RUN`\n"
        )
        return EXIT_USAGE
    record = ctx.resolve(words[0])
    direction = "input" if ctx.args.inputs else "output"
    found = ctx.store.artifacts(run_id=record.run_id, direction=direction, kind=ctx.args.kind)
    if ctx.args.json:
        ctx.console.json([artifact_json(a) for a in found])
        return 0
    if not found:
        ctx.console.line(f"run {record.name} ({record.run_id}) has no {direction} artifacts")
        return 0
    ctx.console.table(_HEADERS, [artifact_cells(a) for a in found])
    return 0


def artifact_cells(a: Artifact) -> list[str | Styled]:
    """One artifact as the cells of a table row (``_HEADERS``)."""
    return [
        a.name,
        f"v{a.version}",
        a.kind_label,
        fmt_value(a.step),
        fmt_metrics(a.metrics),
        fmt_bytes(a.size),
        state_cell(a.state),
        "*" if a.best else "",
        a.uri,
    ]


def state_cell(state: str) -> Styled:
    """A state, coloured."""
    return Styled(state, _STATE_STYLES.get(state, ""))


def fmt_metrics(metrics: dict[str, float]) -> str:
    """A few metrics at save, evaluation first: ``eval/loss=0.41 train/loss=0.52``."""
    keys = sorted(metrics, key=lambda k: (not k.startswith("eval/"), k))
    shown = " ".join(f"{k}={fmt_value(metrics[k])}" for k in keys[:_SHOWN_METRICS])
    more = len(keys) - _SHOWN_METRICS
    return (shown + (f" +{more}" if more > 0 else "")) or "-"


def fmt_bytes(size: int | None) -> str:
    """A size as people read it: ``512 B``, ``1.5 GiB``."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop returns


def _verify(ctx: Context, ref: str) -> int:
    record = ctx.resolve(ref)
    rows: list[list[str | Styled]] = []
    bad = 0
    for a in ctx.store.artifacts(run_id=record.run_id):
        checked = _check(a)
        if checked != a:
            ctx.store.log_artifact(record.run_id, checked)
        bad += checked.state in _NOT_AS_HASHED
        rows.append(
            [a.name, f"v{a.version}", a.direction, a.uri, state_cell(a.state),
             state_cell(checked.state)]
        )  # fmt: skip
    if not rows:
        ctx.console.line(f"run {record.name} ({record.run_id}) has no artifacts")
        return 0
    ctx.console.table(("NAME", "VERSION", "DIRECTION", "URI", "WAS", "NOW"), rows)
    if bad:
        ctx.console.err.write(f"{bad} of {len(rows)} versions changed, gone or unreadable\n")
        return EXIT_CHANGED
    return 0


def _check(a: Artifact) -> Artifact:
    """``a`` as its files are now: ``present`` (hashed now where it never was),
    ``changed``, ``gone`` or ``unreadable``; a reference as it is."""
    from tracker.artifacts import ArtifactError, digest_path, stored_path

    path = None if a.state == ArtifactState.REMOTE else stored_path(a.uri)
    if path is None or (a.digest is None and a.state != ArtifactState.UNHASHED):
        return a  # a reference, or a version never found: nothing to compare with
    if not os.path.lexists(path):
        return a.replace(state=ArtifactState.GONE.value)
    try:
        found = digest_path(path)
    except ArtifactError as exc:
        return a.replace(state=ArtifactState.UNREADABLE.value, meta={**a.meta, "error": str(exc)})
    if a.digest is None:  # never hashed (the run was killed meanwhile): now it is
        return a.replace(digest=found.digest, size=found.size, files=found.files, state="present")
    return a.replace(state="present" if found.digest == a.digest else "changed")
