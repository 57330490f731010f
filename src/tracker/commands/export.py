"""``tracker export RUN``: every metric point, streamed as CSV, JSON lines or Parquet."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.exporters import FORMATS
from tracker.records import Series
from tracker.store.base import Store

NAME = "export"
HELP = "export a run's metric points (csv, jsonl, parquet)"


def configure(parser: argparse.ArgumentParser) -> None:
    """The run, the format, the metrics and where to write."""
    add_common_options(parser)
    parser.add_argument("run", metavar="RUN", help="run id, unique id prefix, or name")
    parser.add_argument("--format", choices=sorted(FORMATS), default="csv")
    parser.add_argument(
        "--metric", action="append", default=[], help="only this metric (repeatable)"
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="every point ever logged, in logging order (default: one per step, the last)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="file to write (default: stdout; needed for parquet)"
    )


def run(ctx: Context) -> int:
    """Stream the points to the output."""
    args = ctx.args
    exporter = FORMATS[args.format]
    if args.output is None and not exporter.text:
        raise CommandError(f"{args.format} is binary: write it to a file with -o PATH")
    record = ctx.resolve(args.run)
    keys = _keys(ctx.store, record.run_id, args.metric)
    chunks = _chunks(ctx.store, record.run_id, keys, raw=args.raw)
    if args.output is None:
        exporter.write(chunks, sys.stdout)
        return 0
    path: Path = args.output
    out = path.open("w", encoding="utf-8", newline="") if exporter.text else path.open("wb")
    with out:
        count = exporter.write(chunks, out)
    print(f"wrote {count} points of {len(keys)} metrics to {args.output}", file=sys.stderr)
    return 0


def _keys(store: Store, run_id: str, wanted: Sequence[str]) -> list[str]:
    keys = store.keys(run_id)
    missing = [k for k in wanted if k not in keys]
    if missing:
        raise CommandError(
            f"the run has no metric {missing[0]!r}; it has: {', '.join(keys) or 'none'}"
        )
    return list(wanted) or keys


def _chunks(
    store: Store, run_id: str, keys: Sequence[str], *, raw: bool
) -> Iterator[tuple[str, Series]]:
    for key in keys:
        for chunk in store.iter_history(run_id, key, raw=raw):
            yield key, chunk
