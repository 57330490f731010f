"""``tracker export RUN``: every metric point, streamed as CSV, JSON lines or Parquet; or
with ``--table KEY`` a table's rows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.exporters import FORMATS, TABLE_FORMATS
from tracker.records import Row, Series
from tracker.store.base import Store

NAME = "export"
HELP = "export a run's metric points or a table's rows (csv, jsonl, parquet)"


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
        "--table", metavar="KEY", help="export this table's rows instead of metric points"
    )
    parser.add_argument("--step", type=int, help="with --table: only the rows of this step")
    parser.add_argument(
        "-o", "--output", type=Path, help="file to write (default: stdout; needed for parquet)"
    )


def run(ctx: Context) -> int:
    """Stream the points (or a table's rows) to the output."""
    args = ctx.args
    text = (TABLE_FORMATS if args.table else FORMATS)[args.format].text
    if args.output is None and not text:
        raise CommandError(f"{args.format} is binary: write it to a file with -o PATH")
    run_id = ctx.resolve(args.run).run_id
    write: Callable[[IO[Any]], int]
    if args.table:
        rows = _rows(ctx.store, run_id, args.table, args.step)
        write, what = partial(TABLE_FORMATS[args.format].write, rows), f"rows of {args.table}"
    else:
        keys = _keys(ctx.store, run_id, args.metric)
        chunks = _chunks(ctx.store, run_id, keys, raw=args.raw)
        write, what = partial(FORMATS[args.format].write, chunks), f"points of {len(keys)} metrics"
    if args.output is None:
        write(sys.stdout)
        return 0
    path: Path = args.output
    out = path.open("w", encoding="utf-8", newline="") if text else path.open("wb")
    with out:
        count = write(out)
    print(f"wrote {count} {what} to {args.output}", file=sys.stderr)
    return 0


def _rows(store: Store, run_id: str, key: str, step: int | None) -> list[Row]:
    if key not in store.table_keys(run_id):
        tables = ", ".join(store.table_keys(run_id)) or "none"
        raise CommandError(f"the run has no table {key!r}; it has: {tables}")
    return store.table_rows(run_id, key, step=step)


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
