"""``tracker run -- COMMAND`` in a subprocess, for the tests of the command and of every
framework under it (importable as ``tracked_commands``: ``tests/`` is on ``sys.path``).

The command runs with this Python's virtual environment first on ``PATH`` (so ``torchrun``,
``accelerate``, ``trl``, ``tune`` and ``llamafactory-cli`` are its own), the test's store
(``TRACKER_DIR``), one thread per process and ``tests/`` on ``PYTHONPATH``
(`workers.worker_env`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracker import RunRecord, Store
from workers import worker_env

__all__ = ["BIN", "command_env", "only_run", "start_tracker_run", "tracker_run"]

BIN = Path(sys.executable).parent
TRACKER_RUN = (sys.executable, "-m", "tracker.cli", "run")


def command_env(tracker_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of ``tracker run`` in a test."""
    env = worker_env(TRACKER_DIR=str(tracker_dir), TRACKER_FLUSH_INTERVAL="0.05")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("TRACKER_URI", None)
    return env | dict(extra or {})


def tracker_run(
    *command: str | Path,
    tracker_dir: Path,
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    returncode: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Run ``tracker run OPTIONS -- COMMAND`` to its end; assert its exit status."""
    done = subprocess.run(
        [*TRACKER_RUN, *options, "--", *map(str, command)],
        env=command_env(tracker_dir, env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == returncode, done.stdout[-4000:] + done.stderr[-6000:]
    return done


def start_tracker_run(
    *command: str | Path, tracker_dir: Path, output: Path, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start ``tracker run -- COMMAND`` in the background, its output going to ``output``."""
    with output.open("wb") as sink:
        return subprocess.Popen(
            [*TRACKER_RUN, "--", *map(str, command)],
            env=command_env(tracker_dir),
            stdout=sink,
            stderr=subprocess.STDOUT,
            **popen,
        )


def only_run(store: Store) -> RunRecord:
    """The one run in the store, with the exit code the command ended with recorded."""
    runs = store.runs()
    assert len(runs) == 1, [(r.name, r.project) for r in runs]
    (run,) = runs
    assert isinstance(run.summary["command/exit_code"], int)
    return run
