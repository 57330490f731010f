"""A bad value on the command line is one line on stderr and exit status 2, before any
store is opened or any port is taken."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def tracker(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m tracker.cli ARGV...`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tracker.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ui", "--token", ""], "argument --token: an empty token would let anyone in"),
        (["ui", "--host", "0.0.0.0", "--token", ""], "argument --token: an empty token"),
        (["ui", "--port", "70000"], "argument --port: a port is 0 to 65535 (0: any free one)"),
        (["ui", "--port", "-1"], "argument --port: a port is 0 to 65535"),
        (["ui", "--port", "http"], "argument --port: must be a port number, not 'http'"),
        (["ui", "--idle-timeout", "0"], "argument --idle-timeout: must be a positive number of"),
        (["ui", "--idle-timeout", "nan"], "argument --idle-timeout: must be a positive"),
        (["ui", "--idle-timeout", "-5"], "argument --idle-timeout: must be a positive"),
        (["runs", "--limit", "-5"], "argument --limit: must be 0 or more, not -5"),
        (["runs", "--limit", "ten"], "argument --limit: must be a whole number, not 'ten'"),
        (["runs", "--color", "purple"], "argument --color: invalid choice: 'purple'"),
        (["show"], "the following arguments are required: RUN"),
        (["nosuch"], "argument COMMAND: invalid choice: 'nosuch'"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line(tracker_dir: Path, argv: list[str], message: str) -> None:
    """Each bad value: exit 2, one line naming the option and what a good value is."""
    done = tracker(*argv)
    command = " ".join(["tracker", *argv[:1]]) if argv[0] != "nosuch" else "tracker"
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"{command}: error: {message}")
    assert line.endswith(f"(see {command} --help)")
    assert not tracker_dir.exists()  # refused before opening the store


@pytest.mark.parametrize("host", ["bad host", "256.1.1.1"])
def test_a_host_that_does_not_resolve_is_one_line(tracker_dir: Path, host: str) -> None:
    """``--host`` that names no address: exit 1 and one line saying it cannot listen there."""
    pytest.importorskip("bokeh")
    done = tracker("ui", "--host", host, "--port", "0")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"tracker ui: error: cannot listen on {host}:0: ")
