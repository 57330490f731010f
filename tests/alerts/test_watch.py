"""`tracker watch` over real processes: a SIGKILLed run is `crashed`, a hung one `stalled`,
each alerted once, also across a restart of the watcher."""

from __future__ import annotations

import signal
import subprocess
import time

from alert_kit import Scene


def _watch(scene: Scene, *args: str) -> subprocess.Popen[str]:
    return scene.start("-m", "tracker.cli", "watch", "--project", "watched", *args)


def test_a_sigkilled_run_is_alerted_crashed_once(scene: Scene) -> None:
    """watch raises `crashed` for a run killed with SIGKILL; started again, it repeats nothing."""
    victim = scene.train("victim")
    watcher = _watch(scene, "--interval", "0.2")
    victim.kill()
    victim.wait(timeout=30)
    (post,) = scene.receiver.wait_for(1, timeout=60)
    assert post["reason"] == "crashed" and post["level"] == "error"
    assert post["run"]["name"] == "victim"  # type: ignore[index]
    watcher.send_signal(signal.SIGINT)
    out, _ = watcher.communicate(timeout=30)
    assert "crashed  watched/victim" in out
    assert [a["reason"] for a in scene.alerts("victim")] == ["crashed"]

    again = _watch(scene, "--once")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out == ""
    assert len(scene.receiver.posts) == 1
    assert [a["reason"] for a in scene.alerts("victim")] == ["crashed"]


def test_a_run_alive_but_not_moving_is_alerted_stalled_once(scene: Scene) -> None:
    """A live run whose step stopped moving raises `stalled` once, not `crashed`."""
    hung = scene.train("hung")
    watcher = _watch(scene, "--interval", "0.2", "--stall-after", "1")
    (post,) = scene.receiver.wait_for(1, timeout=60)
    assert post["reason"] == "stalled" and post["level"] == "warn"
    assert "step 49" in str(post["message"])
    time.sleep(1.0)  # five more looks: still one alert
    assert hung.poll() is None
    watcher.send_signal(signal.SIGINT)
    watcher.communicate(timeout=30)
    assert len(scene.receiver.posts) == 1
    assert [a["reason"] for a in scene.alerts("hung")] == ["stalled"]
    (run,) = scene.store.runs(project="watched")
    assert run.status == "running"
