"""What the scripts that the tests launch as torchrun or two-process workers share.

Importable as ``workers`` from the tests (pytest puts this folder on the path) and from the
workers (`worker_env` puts it on their ``PYTHONPATH``). Standard library only.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

__all__ = ["default_sigint", "exit_now", "worker_env"]

TESTS = Path(__file__).resolve().parent


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker: this process's, one OpenMP thread (two ranks share two
    cores), this folder on ``PYTHONPATH`` (for `exit_now`), and ``extra``."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path, **extra}


def default_sigint() -> None:
    """A ``preexec_fn`` for a child that a test stops with SIGINT: it gets SIGINT's default
    disposition. A suite started in the background of a shell (``nohup scripts/test.sh &``)
    inherits SIGINT ignored, and an ignored signal stays ignored across ``exec``, so without
    this the child would never see the test's Ctrl-C. (One ``sigaction`` between fork and
    exec; ``subprocess`` runs it in the child only.)"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def exit_now(code: int = 0) -> NoReturn:
    """End a worker whose work is done (its tracker run finished, so nothing is left to
    write): flush stdout and stderr, then `os._exit`, with no interpreter teardown.

    The teardown is where torch's exit race lives: gloo's worker thread can still be
    releasing its last work (Python tensors, which needs the GIL) while the interpreter
    finalises, and the process aborts with SIGABRT, ``terminate called without an active
    exception`` -- once in 15-30 runs on a loaded machine, with or without `tracker`
    (docs/distributed.md)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
