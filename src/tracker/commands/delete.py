"""``tracker delete RUN...``: remove runs, after asking (``--yes`` for scripts)."""

from __future__ import annotations

import argparse
import sys

from tracker.commands.app import CommandError, Context, add_common_options
from tracker.commands.output import safe
from tracker.store.base import StoreError

_NO_PRIVILEGE = "42501"  # SQLSTATE insufficient_privilege

NAME = "delete"
HELP = "delete runs and everything logged to them"


def configure(parser: argparse.ArgumentParser) -> None:
    """Runs and ``--yes``."""
    add_common_options(parser)
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run ids, id prefixes or names")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask")


def run(ctx: Context) -> int:
    """Ask once for all the runs, then delete them."""
    runs = [ctx.resolve(ref) for ref in ctx.args.runs]
    listing = ", ".join(f"{safe(r.name)} ({r.run_id})" for r in runs)
    if not ctx.args.yes:
        if not sys.stdin.isatty():
            raise CommandError(f"not deleting {listing} without confirmation: pass --yes")
        print(f"Delete {listing}? This cannot be undone. [y/N] ", end="", file=sys.stderr)
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("nothing deleted", file=sys.stderr)
            return 1
    for record in runs:
        try:
            ctx.store.delete_run(record.run_id)
        except StoreError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != _NO_PRIVILEGE:
                raise
            raise CommandError(
                f"{exc}: this role may only read; delete with the writer role (docs/team.md)"
            ) from exc
        ctx.console.line(f"deleted {safe(record.name)} ({record.run_id})")
    return 0
