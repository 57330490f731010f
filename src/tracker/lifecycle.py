"""Ending runs that the program did not finish: normal exit, an uncaught exception,
Ctrl-C, SIGTERM, and forked children.

Installed once, on the first run's start, and chained to whatever was there before:

* an uncaught exception ends active runs as ``failed`` (``interrupted`` for
  KeyboardInterrupt) with the error's type and message, then the previous hook runs;
* SIGTERM ends them as ``interrupted``, then the previous handler runs (the default one
  ends the process as SIGTERM would have);
* SIGTERM while the main thread is blocked in native code (a hung all-reduce): Python runs
  a signal handler only when the main thread returns to the interpreter, so the handler
  would wait with the process until SIGKILL. Where SIGTERM's action was the default one, a
  watcher thread hears of the signal through the wakeup fd (`signal.set_wakeup_fd`, taken
  only where nobody else holds it: asyncio's event loops do); if the handler has not run within
  `SIGTERM_GRACE_S`, the watcher ends the runs itself and then takes SIGTERM's default
  action: the process dies of SIGTERM, as it would without `tracker`;
* a normal exit ends them as ``finished``, or ``failed`` when the program called
  ``sys.exit`` with a non-zero code (Python tells exit hooks no exit code: ``sys.exit`` is
  wrapped to note it);
* a forked child (a DataLoader worker) forgets its parent's runs instead of writing them;
  the wakeup fd is let go for the fork, so that the child's signals never reach the
  parent's watcher, and SIGTERM is held across the fork, so that a child stopped at once
  still dies of it (`_HeldAcrossFork`).

Each run is ended once, whichever hook comes first: `_end_all` takes the runs it ends out
of the active ones, and one ending at a time runs (a hook that comes second waits for the
first, so the process never dies while a run is being flushed).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, NoReturn, Protocol

__all__ = ["SIGTERM_GRACE_S", "Finishable", "ending", "register", "unregister"]

SIGTERM_GRACE_S = 1.0
"""How long the SIGTERM handler may take to start before the watcher thread acts for it."""

_SIGTERM_ERROR = "SIGTERM: the process was asked to stop"
_SIGTERM_BLOCKED = (
    f"{_SIGTERM_ERROR}; its main thread did not answer within {SIGTERM_GRACE_S:g} s "
    "(blocked in native code, such as a collective), so the run was ended from another thread"
)


class Finishable(Protocol):
    """What the hooks need of a run. ``_end_from_hook`` may be called from any thread and
    returns within the run's finish timeout."""

    def _end_from_hook(self, status: str, error: str | None) -> None: ...

    def _forget_after_fork(self) -> None: ...


_active: dict[int, Finishable] = {}
_lock = threading.Lock()
_ending = threading.RLock()  # one _end_all at a time; the main thread may nest (a signal)
_installed = False
_previous_excepthook = sys.excepthook
_previous_sigterm: Any = None
_previous_exit = sys.exit
_exit_code: str | int | None = None  # the argument of the last sys.exit call
_handler_ran = threading.Event()  # the Python-level SIGTERM handler has started
_pid = os.getpid()  # the process whose runs _active holds


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
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork
    )
    if handle_signals and threading.current_thread() is threading.main_thread():
        _previous_sigterm = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
        _HeldAcrossFork.sigterm = True
        if _previous_sigterm in (signal.SIG_DFL, None):  # else SIGTERM never killed anyway
            _Watcher.start()


def _end_all(status: str, error: str | None) -> None:
    if os.getpid() != _pid:  # a forked child, before _after_fork: these are its parent's
        return
    with _ending:
        with _lock:
            runs = list(_active.values())
            _active.clear()
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
    _handler_ran.set()
    _end_all("interrupted", _SIGTERM_ERROR)
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


def _before_fork() -> None:
    _HeldAcrossFork.hold()
    _Watcher.before_fork()


def _after_fork_in_parent() -> None:
    _Watcher.after_fork()
    _HeldAcrossFork.release()


def _after_fork() -> None:
    global _lock, _ending, _pid
    _lock = threading.Lock()  # the parent's may have been held by another thread
    _ending = threading.RLock()
    _pid = os.getpid()
    _Watcher.forget()
    runs = list(_active.values())
    _active.clear()
    for run in runs:
        run._forget_after_fork()
    _HeldAcrossFork.release()


class _HeldAcrossFork:
    """SIGTERM blocked by the forking thread from just before a fork until the hooks after
    it have run. CPython drops a signal that reaches a child between ``fork()`` and its own
    after-fork work (it clears the signals its C handler had noted): a child SIGTERMed at
    once (a DataLoader worker stopped as it starts) would live on. Blocked, the signal
    waits in the kernel, and the child takes it, as a child without tracker would, once
    its hooks are done (its parent's runs forgotten)."""

    sigterm = False  # our handler is installed
    _unblock = False  # SIGTERM was not blocked before the fork

    @classmethod
    def hold(cls) -> None:
        if cls.sigterm:
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            cls._unblock = signal.SIGTERM not in blocked

    @classmethod
    def release(cls) -> None:
        if cls._unblock:
            cls._unblock = False
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class _Watcher:
    """The thread that ends the runs on SIGTERM when the main thread cannot.

    CPython's C-level signal handler writes each signal's number to the wakeup fd at once,
    from whichever thread it interrupts; the Python-level handler waits for the main
    thread. The watcher reads the numbers from a pipe; on SIGTERM it gives our handler
    `SIGTERM_GRACE_S` to start, and if it has not (and is still the handler: a program may
    have installed its own since), ends the runs and then the process.
    """

    _fds: tuple[int, int] | None = None  # the pipe (read, write) while installed
    _let_go = False  # the wakeup fd is let go for a fork

    @classmethod
    def start(cls) -> None:
        """Take the wakeup fd and start the thread (main thread only); leave a wakeup fd
        that someone else set (asyncio's) alone."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)  # set_wakeup_fd's requirement: a signal never waits
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        if previous != -1:
            signal.set_wakeup_fd(previous)
            os.close(read_fd)
            os.close(write_fd)
            return
        cls._fds = (read_fd, write_fd)
        thread = threading.Thread(
            target=cls._watch, args=(read_fd,), name="tracker-sigterm", daemon=True
        )
        thread.start()

    @classmethod
    def before_fork(cls) -> None:
        """Let the wakeup fd go while forking: a child that inherited it would send its own
        signals to our pipe (and the watcher would end this process for the child's
        SIGTERM). Only the main thread may; a child forked elsewhere lets go in `forget`."""
        if cls._fds is not None and threading.current_thread() is threading.main_thread():
            cls._let_go = _release_wakeup_fd(cls._fds[1])

    @classmethod
    def after_fork(cls) -> None:
        """In the parent: take the wakeup fd back."""
        if cls._let_go and cls._fds is not None:
            signal.set_wakeup_fd(cls._fds[1], warn_on_full_buffer=False)
        cls._let_go = False

    @classmethod
    def forget(cls) -> None:
        """In a forked child: the parent's watcher is not here; close its pipe."""
        if cls._fds is None:
            return
        read_fd, write_fd = cls._fds
        cls._fds, cls._let_go = None, False
        _release_wakeup_fd(write_fd)
        os.close(read_fd)
        os.close(write_fd)

    @staticmethod
    def _watch(read_fd: int) -> None:
        die = _default_sigterm_action()  # resolved now, not while the process is stopping
        while True:
            try:
                numbers = os.read(read_fd, 512)
            except OSError:  # the pipe was closed
                return
            if not numbers:
                return
            if int(signal.SIGTERM) not in numbers or _handler_ran.wait(SIGTERM_GRACE_S):
                continue
            if signal.getsignal(signal.SIGTERM) is not _on_sigterm:
                continue  # the program's own handler decides, as it would without us
            _end_all("interrupted", _SIGTERM_BLOCKED)
            die()
            return


def _release_wakeup_fd(ours: int) -> bool:
    """Unset the wakeup fd if it is still ``ours``; whether it was."""
    current = signal.set_wakeup_fd(-1)
    if current != ours:  # someone else's by now (or none): put it back
        signal.set_wakeup_fd(current)
    return current == ours


def _default_sigterm_action() -> Callable[[], None]:
    """A function that ends the process by SIGTERM's default action, callable from any
    thread (Python's `signal.signal` works on the main thread only, so libc's is used)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    set_handler = libc.signal
    set_handler.restype = ctypes.c_void_p
    set_handler.argtypes = (ctypes.c_int, ctypes.c_void_p)

    def die() -> None:
        set_handler(int(signal.SIGTERM), None)  # SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)

    return die
