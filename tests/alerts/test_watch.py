"""`tracker watch` over real processes: a SIGKILLed run is `crashed`, a hung one `stalled`,
each alerted once, also across a restart of the watcher."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

from receiver import Receiver

from tracker.store import Store


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
    train: Callable[[str], subprocess.Popen[str]],
) -> None:
    """watch raises `crashed` for a run killed with SIGKILL; started again, it repeats nothing."""
    victim = train("victim")
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
    train: Callable[[str], subprocess.Popen[str]],
) -> None:
    """A live run whose step stopped moving raises `stalled` once, not `crashed`."""
    hung = train("hung")
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
