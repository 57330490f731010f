"""What every command shares: the common options, the opened store, and error handling.

A command module has ``NAME``, ``HELP``, ``configure(parser)`` (which starts with
`add_common_options`) and ``run(ctx) -> int``.
Errors a user can fix reach them as one line on stderr and exit status 1, never a
traceback; a bad argument value is one line too, and exit status 2 (the option types
here, such as `port`, say what a good value is).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from tracker.commands.output import Console
from tracker.records import RunRecord
from tracker.store.base import Store, StoreError
from tracker.store.registry import open_store
from tracker.store.resolve import resolve_run

__all__ = [
    "CommandError",
    "CommandModule",
    "Context",
    "add_common_options",
    "count",
    "handler",
    "port",
    "seconds",
    "token",
]

_Number = TypeVar("_Number", int, float)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class CommandError(Exception):
    """A failure the user can act on; its message is shown as it is."""


class CommandModule(Protocol):
    """What a module of `tracker.commands` provides."""

    NAME: str
    HELP: str

    def configure(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's arguments."""

    def run(self, ctx: Context) -> int:
        """Carry the command out; return the exit status."""


@dataclass
class Context:
    """A command's parsed arguments, its console, and the store (opened on first use)."""

    args: argparse.Namespace
    console: Console
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The store named by ``--store``, else the default one."""
        if self._store is None:
            self._store = open_store(self.args.store)
        return self._store

    def resolve(self, ref: str) -> RunRecord:
        """The run ``ref`` names (id, unique id prefix or name)."""
        return resolve_run(self.store, ref)

    def close(self) -> None:
        """Close the store if it was opened."""
        if self._store is not None:
            self._store.close()


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every command takes: ``--store`` and ``--color``."""
    parser.add_argument(
        "--store",
        metavar="URI",
        help="store to read: a URI (sqlite:///f.db, jsonl:///dir) or an SQLite file "
        "(default: TRACKER_URI, else $TRACKER_DIR/tracker.db)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (default: only on a terminal)",
    )


def port(text: str) -> int:
    """``--port``'s type: a TCP port, 0 for any free one."""
    value = _parse(int, text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535 (0: any free one), not {text}")
    return value


def count(text: str) -> int:
    """A number of things: 0 or more."""
    value = _parse(int, text, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def seconds(text: str) -> float:
    """A duration: a positive, finite number of seconds."""
    value = _parse(float, text, "a number of seconds")
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def token(text: str) -> str:
    """An access token: not empty (an empty one would let anyone in)."""
    if not text:
        raise argparse.ArgumentTypeError(
            "an empty token would let anyone in: give one, or leave --token out"
        )
    return text


def _parse(kind: type[_Number], text: str, what: str) -> _Number:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}") from None


def handler(name: str, run: Callable[[Context], int]) -> Callable[[argparse.Namespace], int]:
    """``run`` as an argparse handler: any failure becomes one line on stderr and exit
    status 1 (130 on Ctrl-C), never a traceback."""

    def handle(args: argparse.Namespace) -> int:
        ctx = Context(args, Console.for_streams(sys.stdout, sys.stderr, args.color))
        try:
            return run(ctx)
        except BrokenPipeError:
            return _broken_pipe()
        except (CommandError, StoreError, ImportError, OSError) as exc:
            print(f"tracker {name}: error: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            print(f"tracker {name}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as exc:  # a bug: still one line, with what to report
            print(
                f"tracker {name}: internal error: {type(exc).__name__}: {exc} (please report this)",
                file=sys.stderr,
            )
        finally:
            ctx.close()
        return EXIT_ERROR

    return handle


def _broken_pipe() -> int:
    """The reader of our output went away (``tracker runs | head``): stop quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE
