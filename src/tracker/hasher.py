"""Where a run's digests are computed: a helper process that shares no GIL with training.

1. `Hasher` is the seam the artifact recorder uses: ``digest(path, stop)`` gives the
   path's `Digest` or raises as `tracker.digest.digest_path` does (`ArtifactError`,
   `Changed`, `Stopped` once ``stop()`` is true); ``wake()``, called once ``stop()`` has
   turned true, makes a waiting ``digest`` look at it now.
2. `HelperHasher` (the process's one: `shared_hasher`) starts, on its first path, the
   interpreter that runs the training on `tracker/digest.py` as a file, isolated
   (``python -I -S``: no ``site``, no ``PYTHONPATH``, so nothing of the training's
   environment, no ``tracker``, no torch; it starts in 20-40 ms), at nice 19. A
   thread of the training holding the GIL while it is descheduled between two chunks
   paused a busy machine's training up to 0.36 s; a process holds no GIL of the
   training's (docs/benchmarks.md).
3. One path at a time goes over the helper's stdin; the answer comes back on its stdout.
   The calling thread waits in ``select`` (the GIL released) for the answer or a
   ``wake()``, never waking on a timer: on a machine whose cores are all busy, a thread
   given the GIL can wait long for a core while the training waits for the GIL. Woken
   with ``stop()`` true (the run ends), it kills the helper (the next path starts a new
   one) and raises `Stopped`.
4. The helper ends with the training: at the end of its stdin, or when its parent is no
   longer the process that started it (`tracker.digest.serve`), so a training killed by
   SIGKILL leaves no helper behind. Not ``PR_SET_PDEATHSIG``: that signal follows the
   thread that started the helper, not the process.
5. Where the helper cannot run (no interpreter at ``sys.executable``, a sandbox that
   forbids processes, not POSIX) or dies on its own: one warning, and the digests are
   computed on the calling thread from then on (`InProcessHasher`, at the thread's own
   nice 19 on Linux: `lower_priority`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

from tracker import digest as _digest_module
from tracker.digest import READY, Digest, Stopped, digest_path, reply, request

__all__ = [
    "POLL",
    "START_TIMEOUT",
    "Hasher",
    "HelperHasher",
    "InProcessHasher",
    "lower_priority",
    "shared_hasher",
]

log = logging.getLogger("tracker")

POLL = 0.5
"""Seconds between two looks at ``stop`` while another run of the process hashes."""
START_TIMEOUT = 10.0
"""Seconds a new helper has to say it runs (an interpreter starts in about 30 ms; a busy
machine's nice-19 process can wait long for a core)."""
_LOWEST_NICE = 19


class Hasher(Protocol):
    """Computes digests for the artifact recorder."""

    def digest(self, path: str, stop: Callable[[], bool]) -> Digest:
        """``path``'s `Digest`; `ArtifactError` or `Stopped` as `digest_path` raises."""
        ...

    def wake(self) -> None:
        """Make a ``digest`` under way look at its ``stop`` now (from any thread)."""
        ...


class InProcessHasher:
    """Digests on the calling thread, at its lowest priority."""

    def digest(self, path: str, stop: Callable[[], bool]) -> Digest:
        lower_priority()
        return digest_path(path, stop)

    def wake(self) -> None:
        """Nothing to do: `digest_path` looks at ``stop`` after each read."""


class _HelperFailed(Exception):
    """The helper could not start or ended on its own (the message says why)."""


class HelperHasher:
    """Digests in a helper process (this module's docstring), started on the first path;
    ``executable`` defaults to ``sys.executable`` when it starts."""

    def __init__(self, executable: str | None = None) -> None:
        self._executable = executable
        self._lock = threading.Lock()  # one path at a time
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""  # what the helper wrote past the last full line
        self._fallback: InProcessHasher | None = None  # the helper failed once
        self._bell: tuple[int, int] | None = None  # `wake` writes; `_line` waits on it too

    @property
    def pid(self) -> int | None:
        """The running helper's process id, if one runs."""
        process = self._process
        return None if process is None else process.pid

    def digest(self, path: str, stop: Callable[[], bool]) -> Digest:
        while not self._lock.acquire(timeout=POLL):  # another run of this process hashes
            if stop():
                raise Stopped
        try:
            if self._fallback is None:
                try:
                    return self._ask(path, stop)
                except _HelperFailed as exc:
                    log.warning(
                        "tracker: the hashing helper process failed (%s); checkpoints are "
                        "hashed in this process from now on, which can pause training "
                        "briefly on a machine whose cores are all busy",
                        exc,
                    )
                    self._fallback = InProcessHasher()
            return self._fallback.digest(path, stop)
        finally:
            self._lock.release()

    def wake(self) -> None:
        if self._bell is not None:
            with contextlib.suppress(BlockingIOError):  # already rung
                os.write(self._bell[1], b"!")

    def close(self) -> None:
        """End the helper now (the next path starts a new one)."""
        with self._lock:
            self._ended("")

    def _ask(self, path: str, stop: Callable[[], bool]) -> Digest:
        process = self._process or self._start(stop)
        assert process.stdin is not None  # Popen with stdin=PIPE
        try:
            process.stdin.write(request(path))
            process.stdin.flush()
        except OSError as exc:
            raise _HelperFailed(self._ended(f"writing to it failed: {exc}")) from None
        return reply(self._line(stop, None))

    def _start(self, stop: Callable[[], bool]) -> subprocess.Popen[bytes]:
        executable = self._executable or sys.executable
        argv = [executable, "-I", "-S", _digest_module.__file__, str(os.getpid())]
        if os.name != "posix" or not executable:
            raise _HelperFailed("it needs a POSIX system and sys.executable")
        if self._bell is None:
            self._bell = os.pipe()
            os.set_blocking(self._bell[1], False)
        try:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except (OSError, ValueError) as exc:
            raise _HelperFailed(f"could not start {executable!r}: {exc}") from None
        self._pending = b""
        if self._line(stop, START_TIMEOUT) != READY:
            raise _HelperFailed(self._ended(f"{executable!r} did not start it"))
        return self._process

    def _line(self, stop: Callable[[], bool], timeout: float | None) -> bytes:
        """The helper's next line; `Stopped` (the helper killed) once ``stop()``."""
        process, bell = self._process, self._bell
        assert process is not None and process.stdout is not None and bell is not None
        fd = process.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._pending:
            if stop():
                self._ended("")
                raise Stopped
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise _HelperFailed(self._ended(f"no answer in {timeout:.0f} s"))
            ready = select.select([fd, bell[0]], [], [], left)[0]
            if bell[0] in ready:
                os.read(bell[0], 64)  # rung: look at stop again
            if fd in ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise _HelperFailed(self._ended("it ended"))
                self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    def _ended(self, why: str) -> str:
        """End the helper (killed if it runs), and ``why`` with its last words."""
        process, self._process = self._process, None
        if process is None:
            return why
        process.kill()
        process.wait()
        assert process.stderr is not None
        words = process.stderr.read().decode(errors="replace").strip().splitlines()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        status = f"exit status {process.returncode}"
        return f"{why} ({words[-1] if words else status})"


_shared: HelperHasher | None = None
_shared_lock = threading.Lock()


def shared_hasher() -> HelperHasher:
    """The process's `HelperHasher` (one helper serves every run of the process)."""
    global _shared  # the process's one helper
    with _shared_lock:
        if _shared is None:
            _shared = HelperHasher()
        return _shared


def lower_priority() -> None:
    """Give the calling thread the lowest CPU priority, so hashing takes what the training
    leaves. Linux: the thread's own nice value 19 (the rest of the process keeps its
    priority); elsewhere the thread keeps the default (a nice value there is the whole
    process's, the training's too).

    Not ``SCHED_IDLE``: a thread that holds the GIL for the moment between two chunks can
    be descheduled then, and the training's thread waits for the GIL until it runs again;
    on a machine whose cores other processes keep busy, a ``SCHED_IDLE`` thread waited up
    to 1.5 s for its turn, a nice-19 one up to 0.36 s (docs/benchmarks.md): the reason
    digests are computed in a helper process where one can run."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _LOWEST_NICE)
    except OSError:
        log.debug("tracker: could not lower the artifact thread's priority")
