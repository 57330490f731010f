"""Facts about where a run runs, captured once when it starts.

What is captured is made storable and redacted (`tracker.values`): the command line by
`Redactor.redact_argv` (``--hub_token X``, ``--api-key=Y``), every other string by
`Redactor.redact`, and text no store can hold (a lone surrogate of a non-UTF-8 argument
or path) by `to_json`'s rules.

It is on the path of every run's start, so it is kept cheap (docs/benchmarks.md): the git
state is one ``git status`` process, started first and read last, so that it runs while
the rest is gathered; package versions are read from the names of the ``.dist-info``
folders on ``sys.path`` (`importlib.metadata` took 20 ms to import and look them up); the
host and platform come from ``os.uname()`` on Linux (`platform.platform()` runs
``uname -p`` as a process of its own).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tracker.distributed import ProcessInfo
from tracker.values import Redactor, to_json

__all__ = ["FRAMEWORK_PACKAGES", "capture", "host_name", "package_versions"]

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
_DIST = re.compile(r"(?P<name>[^-]+)-(?P<version>[^-]+?)(?:-py[^-]*)?\.(?:dist|egg)-info", re.I)


def _normal(name: str) -> str:
    """A distribution's name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def package_versions(names: tuple[str, ...] = FRAMEWORK_PACKAGES) -> dict[str, str]:
    """Installed versions of the named packages, without importing them: the first
    ``NAME-VERSION.dist-info`` (or ``.egg-info``) folder on ``sys.path`` of each, as
    `importlib.metadata.version` finds it, read from the folder's name."""
    wanted = {_normal(name): name for name in names}
    found: dict[str, str] = {}
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            match = _DIST.fullmatch(entry)
            if match is None:
                continue
            name = wanted.get(_normal(match["name"]))
            if name is not None and name not in found:
                found[name] = match["version"]
    return {name: found[name] for name in names if name in found}


class _Git:
    """The git state of the repository around ``cwd``, asked of one ``git status``
    started at once (`state` reads its answer)."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        try:
            self.process: subprocess.Popen[str] | None = subprocess.Popen(
                ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:  # no git
            self.process = None

    def state(self) -> dict[str, Any]:
        """Commit, branch, dirty flag and root of the repository, if there is one."""
        if self.process is None:
            return {}
        try:
            out, _ = self.process.communicate(timeout=_GIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            return {}
        if self.process.returncode != 0:
            return {}
        heads = dict(line[2:].partition(" ")[::2] for line in out.splitlines() if line[:2] == "# ")
        commit = heads.get("branch.oid")
        if not commit or commit == "(initial)":  # not a repository, or no commit yet
            return {}
        branch = heads.get("branch.head")
        root = next((d for d in (self.cwd, *self.cwd.parents) if (d / ".git").exists()), None)
        return {
            "commit": commit,
            "branch": "HEAD" if branch == "(detached)" else branch,
            "dirty": any(line[:1] != "#" for line in out.splitlines()),
            "root": None if root is None else str(root),
        }


def git_state(cwd: Path) -> dict[str, Any]:
    """Commit, branch, dirty flag and root of the repository around ``cwd``, if any."""
    return _Git(cwd).state()


def host_name() -> str:
    """This machine's name (as ``socket.gethostname()`` says it)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import platform

    return platform.node()


def _platform() -> str:
    """``Linux-6.1.0-x86_64-with-glibc2.36``, as `platform.platform()` writes it."""
    if sys.platform == "linux":
        uname = os.uname()
        try:
            libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (OSError, ValueError):
            libc = ""
        with_libc = f"-with-{libc.replace(' ', '')}" if libc else ""
        return f"{uname.sysname}-{uname.release}-{uname.machine}{with_libc}"
    import platform

    return platform.platform()


def _user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def capture(
    process: ProcessInfo,
    redactor: Redactor | None = None,
    *,
    cwd: Path | None = None,
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """Host, process, Python, package versions, git state, command line and ranks.

    Secrets are redacted by ``redactor`` (the built-in rules when it is None). ``cwd`` and
    ``argv`` are the process's as they were when the run started (default: now).
    """
    cwd = Path.cwd() if cwd is None else cwd
    argv = sys.argv if argv is None else argv
    git = _Git(cwd)  # runs while the rest is gathered
    redactor = redactor or Redactor()
    found: dict[str, Any] = {
        "host": host_name(),
        "pid": os.getpid(),
        "user": _user(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": _platform(),
        "cpu_count": os.cpu_count(),
        "command": [sys.executable, *redactor.redact_argv(argv)],
        "cwd": str(cwd),
        "packages": package_versions(),
        "git": {},
        "rank": process.rank,
        "local_rank": process.local_rank,
        "world_size": process.world_size,
        "local_world_size": process.local_world_size,
    }
    found["git"] = git.state()
    return redactor.redact(to_json(found))  # type: ignore[no-any-return]  # a dict in, a dict out
