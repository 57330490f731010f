"""A running `tracker ui` raises the alerts `tracker watch` would."""

from __future__ import annotations

import signal

import pytest
from alert_kit import Scene


def test_tracker_ui_alerts_a_stalled_run(scene: Scene) -> None:
    """With a dashboard open, a hung run raises one `stalled` alert, recorded on the run."""
    pytest.importorskip("bokeh")
    scene.train("hung")
    ui = scene.start(
        "-m", "tracker.cli", "ui", "--port", "0", TRACKER_STALL_AFTER="1",
        TRACKER_WATCH_INTERVAL="0.2",
    )  # fmt: skip
    (post,) = scene.receiver.wait_for(1, timeout=60)
    assert post["reason"] == "stalled" and post["run"]["name"] == "hung"  # type: ignore[index]
    ui.send_signal(signal.SIGINT)
    ui.communicate(timeout=30)
    assert [a["reason"] for a in scene.alerts("hung")] == ["stalled"]
