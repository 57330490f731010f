"""``tracker import TOOL SOURCE``: bring runs from TensorBoard, MLflow, W&B or Trackio.

Each run of the source becomes a run of the store (`tracker.importers.core` says how:
one id per source run, names mapped into the scheme unless ``--keep-names``, only the
points the store lacks). A progress line per run goes to standard error on a terminal;
every run's result and a closing report (runs, points, what was skipped and why) to
standard output. The exit status is 1 when nothing could be read; a SOURCE that is not the
tool's data (a script given to ``tensorboard``, an MLflow database to ``trackio``) stops
the import before anything is written, with one line saying what was expected.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from itertools import chain
from typing import TextIO

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.output import safe
from tracker.importers import SOURCES, load_source
from tracker.importers.core import (
    ImportOptions,
    ImportReport,
    NotSourceData,
    Progress,
    RunResult,
    Skipped,
    Source,
    SourceRun,
    import_runs,
)

NAME = "import"
HELP = "import runs from TensorBoard, MLflow, W&B or Trackio (only what the store lacks)"

_SOURCE_HELP = (
    "tensorboard: a folder of event files; mlflow: a tracking URI (sqlite:///mlflow.db, "
    "file:///mlruns, postgresql://...) or an mlruns folder; wandb: run folders or .wandb "
    "files (offline-run-*, run-*); trackio: a Trackio folder or one project's .db file"
)


def configure(parser: argparse.ArgumentParser) -> None:
    """TOOL SOURCE..., ``--project``, ``--experiment``, ``--dry-run``, ``--keep-names``."""
    add_common_options(parser)
    parser.add_argument("tool", choices=SOURCES, help="the tracker that wrote the runs")
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help=_SOURCE_HELP)
    parser.add_argument(
        "--project", help="put every run in this project (default: the source's own)"
    )
    parser.add_argument(
        "--experiment", metavar="NAME", help="mlflow: only this experiment (default: all)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="read everything, write nothing: what would be"
    )
    parser.add_argument(
        "--keep-names",
        action="store_true",
        help="keep the tool's metric names (default: mapped into train/ eval/ system/)",
    )


def run(ctx: Context) -> int:
    """Import every run of every SOURCE; 1 when nothing could be read."""
    args = ctx.args
    source = load_source(args.tool)
    if args.experiment and args.tool != "mlflow":
        raise CommandError("--experiment is for mlflow sources only")
    options = ImportOptions(project=args.project, keep_names=args.keep_names, dry_run=args.dry_run)
    bar = _Bars(ctx.console.err if ctx.console.err.isatty() else None)
    report = ImportReport()
    # every location is looked at before anything is written: one that is not the tool's
    # data stops the import with what was expected there
    discovered = [(loc, _discover(source, loc, args.experiment)) for loc in args.sources]
    for location, runs in discovered:
        found = import_runs(
            runs,
            ctx.store,
            options,
            progress=bar.start,
            done=lambda run, result: _said(ctx, bar, run, result, dry=args.dry_run),
        )
        if not found.runs and not found.skipped:
            found.skipped.append(Skipped(location, f"no {args.tool} runs found there"))
        report.runs += found.runs
        report.skipped += found.skipped
        report.partial += found.partial
    _close(ctx, report, dry=args.dry_run)
    return 0 if report.runs else 1


def _discover(
    source: Source, location: str, experiment: str | None
) -> Iterator[SourceRun | Skipped]:
    """The runs at ``location``, its first one read already; a `CommandError` where the
    location is not ``source``'s data."""
    runs = source.discover(location, experiment=experiment)
    try:
        first = next(runs, None)
    except NotSourceData as exc:
        raise CommandError(f"{location}: {exc}") from None
    return runs if first is None else chain([first], runs)


class _Bars:
    """One progress line per run on a terminal's standard error."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream

    def start(self, run: SourceRun) -> Progress | None:
        stream = self.stream
        if stream is None:
            return None
        done = 0
        total = run.total
        name = safe(run.name)[:40]

        def step(n: int) -> None:
            nonlocal done
            done += n
            if total:
                filled = min(30, 30 * done // total)
                shown = f"[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}"
            else:
                shown = f"{done:,}"
            stream.write(f"\r{name}  {shown} points")
            stream.flush()

        return step

    def end(self) -> None:
        if self.stream is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _said(
    ctx: Context, bar: _Bars, run: SourceRun, result: RunResult | Skipped, *, dry: bool
) -> None:
    bar.end()
    if isinstance(result, Skipped):
        ctx.console.line(f"skipped {safe(run.name)}: {safe(result.why)}")
        return
    verb = "would write" if dry else "wrote"
    state = "new run" if result.created else "already imported"
    ctx.console.line(
        f"{safe(run.name)} -> {result.run_id} ({state}): {result.read:,} points read, "
        f"{verb} {result.written:,}, {result.events} events"
    )


def _close(ctx: Context, report: ImportReport, *, dry: bool) -> None:
    verb = "would be written" if dry else "written"
    new = sum(r.created for r in report.runs)
    partial = f", {len(report.partial)} read up to damage" if report.partial else ""
    ctx.console.line(
        f"{len(report.runs)} runs read ({new} new), {report.read:,} points read, "
        f"{report.points:,} {verb}; {len(report.skipped)} skipped{partial}"
    )
    for item in report.skipped:
        print(f"  skipped {safe(item.what)}: {safe(item.why)}", file=ctx.console.err)
    for item in report.partial:
        print(f"  read up to damage {safe(item.what)}: {safe(item.why)}", file=ctx.console.err)
