"""Fixtures of the alert tests: a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from receiver import Receiver, serve  # noqa: E402


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A webhook receiver started for this test (no proxy between it and the test)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with serve() as got:
        yield got


TRAIN = """
import sys, time
from tracker import CustomTracker
run = CustomTracker(project="watched", run_name=sys.argv[1]).start()
for step in range(50):
    run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
run.flush()
print("logged", flush=True)
time.sleep(120)  # hung: alive (heartbeats go on), no new step
"""


@pytest.fixture
def env(tracker_dir: Path, receiver: Receiver) -> dict[str, str]:
    """The environment of the training and watching processes: fast heartbeats, the hook."""
    return {
        **os.environ,
        "TRACKER_DIR": str(tracker_dir),
        "TRACKER_SYSTEM_INTERVAL": "0",
        "TRACKER_HEARTBEAT_INTERVAL": "0.1",
        "TRACKER_FLUSH_INTERVAL": "0.1",
        "TRACKER_ALERT_WEBHOOKS": f"{receiver.url}/hook",
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes the test starts; killed at its end if still alive."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def train(
    env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> Callable[[str], subprocess.Popen[str]]:
    """Start a training process of run ``name`` that logs 50 steps, then hangs alive."""

    def start(name: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", TRAIN, name], env=env, stdout=subprocess.PIPE, text=True
        )
        processes.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "logged"
        return process

    return start
