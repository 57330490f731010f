"""``tracker show RUN``: a run's config tree, summary, metrics, events and environment."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from typing import Any

from tracker.commands.app import Context, add_common_options
from tracker.commands.output import Console, fmt_duration, fmt_time, fmt_value, safe, status_cell
from tracker.views import dumps, run_detail

NAME = "show"
HELP = "show one run: config, summary, metrics, events, nodes, environment"


def configure(parser: argparse.ArgumentParser) -> None:
    """The run and ``--json``."""
    add_common_options(parser)
    parser.add_argument("run", metavar="RUN", help="run id, unique id prefix, or name")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(ctx: Context) -> int:
    """Print the run."""
    detail = run_detail(ctx.store, ctx.resolve(ctx.args.run))
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
    if detail["events"]:
        console.line()
        console.heading("Events")
        console.table(
            ("TIME", "KIND", "STEP", "DETAILS"),
            [
                [fmt_time(e["at"]), e["kind"], fmt_value(e["step"]), dumps(e["payload"])]
                for e in detail["events"]
            ],
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
