"""`tracker watch` over real processes: a SIGKILLed run is `crashed`, a hung one `stalled`,
each alerted once, also across a restart of the watcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver import Receiver

from tracker.store import Store

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


def _train(
    env: dict[str, str], name: str, started: list[subprocess.Popen[str]]
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", TRAIN, name], env=env, stdout=subprocess.PIPE, text=True
    )
    started.append(process)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "logged"
    return process


def _watch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "watch", "--project", "watched", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _alerts(store: Store, name: str) -> list[dict[str, object]]:
    (run,) = [r for r in store.runs(project="watched") if r.name == name]
    return [e.payload for e in store.events(run.run_id) if e.kind == "alert"]


def test_a_sigkilled_run_is_alerted_crashed_once(
    env: dict[str, str],
    store: Store,
    receiver: Receiver,
    processes: list[subprocess.Popen[str]],
) -> None:
    """watch raises `crashed` for a run killed with SIGKILL; started again, it repeats nothing."""
    victim = _train(env, "victim", processes)
    watcher = _watch(env, "--interval", "0.2")
    processes.append(watcher)
    victim.kill()
    victim.wait(timeout=30)
    (post,) = receiver.wait_for(1, timeout=60)
    assert post["reason"] == "crashed" and post["level"] == "error"
    assert post["run"]["name"] == "victim"  # type: ignore[index]
    watcher.send_signal(signal.SIGINT)
    out, _ = watcher.communicate(timeout=30)
    assert "crashed  watched/victim" in out
    assert [a["reason"] for a in _alerts(store, "victim")] == ["crashed"]

    again = _watch(env, "--once")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out == ""
    assert len(receiver.posts) == 1
    assert [a["reason"] for a in _alerts(store, "victim")] == ["crashed"]


def test_a_run_alive_but_not_moving_is_alerted_stalled_once(
    env: dict[str, str],
    store: Store,
    receiver: Receiver,
    processes: list[subprocess.Popen[str]],
) -> None:
    """A live run whose step stopped moving raises `stalled` once, not `crashed`."""
    hung = _train(env, "hung", processes)
    watcher = _watch(env, "--interval", "0.2", "--stall-after", "1")
    processes.append(watcher)
    (post,) = receiver.wait_for(1, timeout=60)
    assert post["reason"] == "stalled" and post["level"] == "warn"
    assert "step 49" in str(post["message"])
    time.sleep(1.0)  # five more looks: still one alert
    assert hung.poll() is None
    watcher.send_signal(signal.SIGINT)
    watcher.communicate(timeout=30)
    assert len(receiver.posts) == 1
    assert [a["reason"] for a in _alerts(store, "hung")] == ["stalled"]
    (run,) = store.runs(project="watched")
    assert run.status == "running"
