"""Ending runs that the program did not finish: normal exit, an uncaught exception,
Ctrl-C, SIGTERM, and forked children.

Installed once, on the first run's start, and chained to whatever was there before:

* an uncaught exception ends active runs as ``failed`` (``interrupted`` for
  KeyboardInterrupt) with the error's type and message, then the previous hook runs;
* SIGTERM ends them as ``interrupted``, then the previous handler runs (the default one
  ends the process as SIGTERM would have);
* a normal exit ends them as ``finished``, or ``failed`` when the program called
  ``sys.exit`` with a non-zero code (Python tells exit hooks no exit code: ``sys.exit`` is
  wrapped to note it);
* a forked child (a DataLoader worker) forgets its parent's runs instead of writing them.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from types import FrameType, TracebackType
from typing import Any, NoReturn, Protocol

__all__ = ["Finishable", "ending", "register", "unregister"]


class Finishable(Protocol):
    """What the hooks need of a run."""

    def _end_from_hook(self, status: str, error: str | None) -> None: ...

    def _forget_after_fork(self) -> None: ...


_active: dict[int, Finishable] = {}
_lock = threading.Lock()
_installed = False
_previous_excepthook = sys.excepthook
_previous_sigterm: Any = None
_previous_exit = sys.exit
_exit_code: str | int | None = None  # the argument of the last sys.exit call


def register(run: Finishable, *, handle_signals: bool) -> None:
    """Have the hooks end ``run`` if the program does not."""
    with _lock:
        _active[id(run)] = run
        _install(handle_signals)


def unregister(run: Finishable) -> None:
    """The run ended: the hooks leave it alone."""
    with _lock:
        _active.pop(id(run), None)


def _install(handle_signals: bool) -> None:
    global _installed, _previous_excepthook, _previous_sigterm, _previous_exit
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    _previous_exit = sys.exit
    sys.exit = _exit
    os.register_at_fork(after_in_child=_after_fork)
    if handle_signals and threading.current_thread() is threading.main_thread():
        _previous_sigterm = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)


def _end_all(status: str, error: str | None) -> None:
    with _lock:
        runs = list(_active.values())
    for run in runs:
        run._end_from_hook(status, error)


def describe(exc: BaseException) -> str:
    """``Type: message`` and the last frames of the traceback."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8)
    return "".join(frames).strip()


def _failed_exit(code: object) -> bool:
    """Whether ``sys.exit(code)`` ends the process with a non-zero status."""
    return code is not None and code != 0


def ending(exc: BaseException) -> tuple[str, str | None]:
    """The status and error of a run that ``exc`` ended: ``interrupted`` for Ctrl-C,
    ``finished`` for ``sys.exit(0)``, ``failed`` otherwise."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", describe(exc)
    if isinstance(exc, SystemExit) and not _failed_exit(exc.code):
        return "finished", None
    return "failed", describe(exc)


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    _end_all(*ending(exc))
    _previous_excepthook(kind, exc, tb)


def _exit(status: str | int | None = None, /) -> NoReturn:
    global _exit_code
    if threading.current_thread() is threading.main_thread():  # elsewhere it ends a thread
        _exit_code = status
    _previous_exit(status)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _end_all("interrupted", "SIGTERM: the process was asked to stop")
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _at_exit() -> None:
    if _failed_exit(_exit_code):
        _end_all("failed", f"SystemExit: the program called sys.exit({_exit_code!r})")
    else:
        _end_all("finished", None)


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # the parent's may have been held by another thread
    runs = list(_active.values())
    _active.clear()
    for run in runs:
        run._forget_after_fork()
