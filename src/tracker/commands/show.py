"""``tracker show RUN``: a run's config tree, summary, metrics, events and environment."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from typing import Any

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.output import Console, fmt_duration, fmt_time, fmt_value, safe, status_cell
from tracker.views import dumps, run_detail

NAME = "show"
HELP = "show one run: config, summary, metrics, events, nodes, environment"


def configure(parser: argparse.ArgumentParser) -> None:
    """The run and ``--json``."""
    add_common_options(parser)
    parser.add_argument("run", metavar="RUN", help="run id, unique id prefix, or name")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "--table", metavar="KEY", help="show the rows of this table (e.g. train/completions)"
    )
    parser.add_argument(
        "--step", type=int, help="with --table: the rows of this step (default: the last)"
    )
    parser.add_argument(
        "--width", type=int, default=60, help="with --table: characters shown of a cell (60)"
    )


def run(ctx: Context) -> int:
    """Print the run, or one step of one of its tables."""
    record = ctx.resolve(ctx.args.run)
    if ctx.args.table is not None:
        return _table(ctx, record.run_id)
    detail = run_detail(ctx.store, record)
    if ctx.args.json:
        ctx.console.json(detail)
        return 0
    console = ctx.console
    _header(console, detail)
    _section(console, "Config", tree_lines(detail["config"]))
    _section(console, "Summary", tree_lines(detail["summary"]))
    if detail["metrics"]:
        console.line()
        console.heading("Metrics")
        console.table(
            ("KEY", "LAST", "STEP", "MIN", "MAX", "POINTS"),
            [
                [
                    key,
                    fmt_value(m["last_value"]),
                    str(m["last_step"]),
                    fmt_value(m["min"]),
                    fmt_value(m["max"]),
                    str(m["count"]),
                ]
                for key, m in detail["metrics"].items()
            ],
        )
    if detail["bench"]:
        console.line()
        console.heading("Benchmarks (its checkpoints' evaluations)")
        console.table(
            ("KEY", "LAST", "STEP", "POINTS"),
            [
                [key, fmt_value(points[-1][1]), str(points[-1][0]), str(len(points))]
                for key, points in detail["bench"].items()
            ],
        )
    if detail["events"]:
        console.line()
        console.heading("Events")
        console.table(
            ("TIME", "KIND", "STEP", "DETAILS"),
            [
                [fmt_time(e["at"]), e["kind"], fmt_value(e["step"]), _details(e["payload"])]
                for e in detail["events"]
            ],
        )
    if detail["tables"]:
        console.line()
        console.heading("Tables")
        console.table(
            ("KEY", "STEPS", "LAST STEP"),
            [[key, str(len(steps)), str(steps[-1])] for key, steps in detail["tables"].items()],
        )
    if detail["nodes"]:
        console.line()
        console.heading("Nodes")
        console.table(
            ("NODE", "RANK", "STATE", "LAST SAMPLE"),
            [
                [safe(n["node"]), fmt_value(n["rank"]), n["state"], fmt_time(n["last_seen"])]
                for n in detail["nodes"]
            ],
        )
    _section(console, "Environment", tree_lines(detail["environment"]))
    return 0


def _details(payload: Mapping[str, Any]) -> str:
    """An event's payload: the words of its ``reason`` (why a run was resumed or reopened)
    as they are, anything else as JSON."""
    reason = payload.get("reason")
    if isinstance(reason, str) and len(payload) == 1:
        return safe(reason)
    return dumps(payload)


def _table(ctx: Context, run_id: str) -> int:
    """One step of one table: as JSON, or as columns with long texts folded."""
    key, store = ctx.args.table, ctx.store
    steps = store.table_steps(run_id, key)
    if not steps:
        tables = ", ".join(store.table_keys(run_id)) or "none"
        raise CommandError(f"the run has no table {key!r}; it has: {tables}")
    step = steps[-1] if ctx.args.step is None else ctx.args.step
    if step not in steps:
        shown = ", ".join(map(str, steps[:20])) + (" ..." if len(steps) > 20 else "")
        raise CommandError(f"table {key!r} has no rows at step {step}; its steps: {shown}")
    rows = store.table_rows(run_id, key, step=step)
    if ctx.args.json:
        ctx.console.json(rows)
        return 0
    columns = [c for c in dict.fromkeys(k for row in rows for k in row) if c != "step"]
    width = max(8, ctx.args.width)
    ctx.console.heading(f"{key} at step {step} ({len(rows)} rows; steps {steps[0]}-{steps[-1]})")
    ctx.console.table(
        columns, [[_fold(fmt_value(row.get(c)), width) for c in columns] for row in rows]
    )
    return 0


def _fold(text: str, width: int) -> str:
    """One line of at most ``width`` characters, control characters made visible."""
    flat = safe(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _header(console: Console, detail: Mapping[str, Any]) -> None:
    console.line(f"{console.paint(safe(detail['name']), 'bold')}  ({detail['id']})")
    status = status_cell(detail["status"])
    console.line(
        f"project: {safe(detail['project'])}   status: {console.paint(status.text, status.style)}"
        f"   framework: {detail['framework'] or '-'}   tags: {safe(', '.join(detail['tags']))}"
    )
    console.line(
        f"started: {fmt_time(detail['started_at'])}   duration: "
        f"{fmt_duration(detail['duration'])}   step: {fmt_value(detail['step'])}"
    )
    if detail["sweep"]:
        console.line(f"sweep: {safe(detail['sweep'])}")
    if detail["error"]:
        console.line(console.paint(f"error: {safe(detail['error'])}", "red"))


def _section(console: Console, title: str, lines: Iterator[str]) -> None:
    first = next(lines, None)
    if first is None:
        return
    console.line()
    console.heading(title)
    console.line(first)
    for line in lines:
        console.line(line)


def tree_lines(tree: Mapping[str, Any], depth: int = 1) -> Iterator[str]:
    """A nested mapping as indented ``key: value`` lines, one level per two spaces."""
    pad = "  " * depth
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            yield f"{pad}{safe(str(key))}:"
            yield from tree_lines(value, depth + 1)
        else:
            yield f"{pad}{safe(str(key))}: {safe(fmt_value(value))}"
