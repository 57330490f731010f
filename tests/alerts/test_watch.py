"""`tracker watch` over real processes: a SIGKILLed run is `crashed`, a hung one `stalled`,
each alerted once, also across a restart of the watcher."""

from __future__ import annotations

import signal
import subprocess
import time
from array import array

from alert_kit import Scene

from tracker import TrackerSettings
from tracker.alerts.watch import Watcher
from tracker.records import Event, MetricBatch, RunRecord, Series
from tracker.store import Store


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


def test_a_look_raises_each_alert_once_and_a_resume_is_not_a_stall(store: Store) -> None:
    """Over runs written through the store API: a silent run is crashed, a live one whose
    metrics are old is stalled, unless it was just resumed; a second look, or a new
    watcher, raises nothing again."""
    now = time.time()
    for name, heartbeat, moved, resumed in [
        ("stuck", now, now - 100, None),
        ("loading", now, now - 100, now - 10),
        ("moving", now, now - 10, None),
        ("dead", now - 1000, now - 1000, None),
    ]:
        record = RunRecord(name, "p", name, started_at=now - 2000, heartbeat_at=heartbeat)
        record.heartbeat_interval = 10.0
        store.start_run(record, resume=False)
        store.log_metrics(
            name,
            MetricBatch(
                {"train/loss": Series(array("q", [7]), array("d", [1.0]), array("d", [moved]))}
            ),
        )
        if resumed is not None:
            store.log_event(name, Event("resumed", resumed))
    watcher = Watcher(store, TrackerSettings(alert_webhooks=[]), stall_after=50)
    raised = watcher.check()
    assert sorted((a.run_name, a.reason, a.step) for a in raised) == [
        ("dead", "crashed", None),
        ("stuck", "stalled", 7),
    ]
    assert watcher.check() == []
    assert Watcher(store, TrackerSettings(alert_webhooks=[]), stall_after=50).check() == []
    assert [e.payload["reason"] for e in store.events("stuck") if e.kind == "alert"] == ["stalled"]
