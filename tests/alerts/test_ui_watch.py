"""A running `tracker ui` raises the alerts `tracker watch` would."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable

import pytest
from receiver import Receiver

from tracker.store import Store


def test_tracker_ui_alerts_a_stalled_run(
    env: dict[str, str],
    store: Store,
    receiver: Receiver,
    processes: list[subprocess.Popen[str]],
    train: Callable[[str], subprocess.Popen[str]],
) -> None:
    """With a dashboard open, a hung run raises one `stalled` alert, recorded on the run."""
    pytest.importorskip("bokeh")
    train("hung")
    ui = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "ui", "--port", "0"],
        env={**env, "TRACKER_STALL_AFTER": "1", "TRACKER_WATCH_INTERVAL": "0.2"},
        stderr=subprocess.PIPE,
        text=True,
    )
    processes.append(ui)
    (post,) = receiver.wait_for(1, timeout=60)
    assert post["reason"] == "stalled" and post["run"]["name"] == "hung"  # type: ignore[index]
    ui.send_signal(signal.SIGINT)
    ui.communicate(timeout=30)
    (run,) = store.runs(project="watched")
    assert [e.payload["reason"] for e in store.events(run.run_id) if e.kind == "alert"] == [
        "stalled"
    ]
