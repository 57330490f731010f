"""Facts about where a run runs, captured once when it starts.

What is captured is made storable and redacted (`tracker.values`): the command line by
`Redactor.redact_argv` (``--hub_token X``, ``--api-key=Y``), every other string by
`Redactor.redact`, and text no store can hold (a lone surrogate of a non-UTF-8 argument
or path) by `to_json`'s rules.
"""

from __future__ import annotations

import getpass
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from tracker.distributed import ProcessInfo
from tracker.values import Redactor, to_json

__all__ = ["FRAMEWORK_PACKAGES", "capture", "package_versions"]

FRAMEWORK_PACKAGES = (
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "tokenizers",
    "deepspeed",
    "torchtune",
    "torchao",
    "llamafactory",
    "vllm",
    "flash-attn",
    "bitsandbytes",
    "numpy",
    "tracker",
)
_GIT_TIMEOUT_S = 3.0


def package_versions(names: tuple[str, ...] = FRAMEWORK_PACKAGES) -> dict[str, str]:
    """Installed versions of the named packages, read from metadata without importing."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(cwd: Path) -> dict[str, Any]:
    """Commit, branch and dirty flag of the repository around ``cwd``, if there is one."""
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return {}
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {
        "commit": commit,
        "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd),
        "dirty": bool(status),
        "root": _git(["rev-parse", "--show-toplevel"], cwd),
    }


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def capture(process: ProcessInfo, redactor: Redactor | None = None) -> dict[str, Any]:
    """Host, process, Python, package versions, git state, command line and ranks.

    Secrets are redacted by ``redactor`` (the built-in rules when it is None).
    """
    redactor = redactor or Redactor()
    cwd = Path.cwd()
    found: dict[str, Any] = to_json(
        {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "user": _user(),
            "python": platform.python_version(),
            "python_executable": sys.executable,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "command": [sys.executable, *redactor.redact_argv(sys.argv)],
            "cwd": str(cwd),
            "packages": package_versions(),
            "git": git_state(cwd),
            "rank": process.rank,
            "local_rank": process.local_rank,
            "world_size": process.world_size,
            "local_world_size": process.local_world_size,
        }
    )
    return redactor.redact(found)  # type: ignore[no-any-return]  # a dict in, a dict out
