"""A PostgreSQL store that goes away mid-run: stopped for 30 s, killed with SIGKILL, or
still down when the process ends. Training goes on and every point lands exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pg_server import PASSWORD, PostgresServer
from tracker import CustomTracker, TrackerSettings, open_store

pytest.importorskip("psycopg")


def _settings(tracker_dir: Path) -> TrackerSettings:
    return TrackerSettings(
        dir=tracker_dir, flush_interval=0.05, heartbeat_interval=0.5, system_interval=0
    )


def _log_for(run: CustomTracker, seconds: float, first: int) -> int:
    """Log ten metrics a step, a step every 10 ms, for ``seconds``; the next step."""
    step = first
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        run.log_metrics({f"m{i}": float(step) for i in range(10)}, step=step)
        step += 1
        time.sleep(0.01)
    return step


@pytest.mark.parametrize("outage", ["stopped 30 s", "killed"])
def test_an_outage_mid_run_loses_nothing_and_doubles_nothing(
    pg: PostgresServer, tmp_path: Path, outage: str
) -> None:
    """The server goes away while the run logs and comes back: every point is stored once,
    in order, and the run records the outage as an event (without the password)."""
    uri = pg.create_database(f"outage_{outage.split(maxsplit=1)[0]}")
    run = CustomTracker(project="p", store=uri, settings=_settings(tmp_path)).start()
    step = _log_for(run, 1.0, 0)
    run.flush()
    try:
        if outage == "killed":
            pg.kill()
            step = _log_for(run, 5.0, step)
        else:
            pg.stop()
            step = _log_for(run, 30.0, step)
    finally:
        pg.start()
    step = _log_for(run, 1.0, step)
    report = run.finish()
    assert report is not None and report.complete, report
    store = open_store(uri)
    try:
        for i in range(10):
            history = store.history(run.run_id, f"m{i}", raw=True)
            assert [s for s, _v, _t in history] == list(range(step)), f"m{i}"
        record = store.get_run(run.run_id)
        assert record.status == "finished"
        (event,) = [e for e in store.events(run.run_id) if e.kind == "store_error"]
        assert event.payload["until"] > event.payload["since"]
        assert PASSWORD not in repr(event.payload)
    finally:
        store.close()


SCRIPT = """
import sys, time
from tracker import CustomTracker
run = CustomTracker(project="p", run_name="offline").start()
for step in range(500):
    run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    if step == 100:
        run.flush()
        print("flushed", flush=True)
        sys.stdin.readline()  # the test stops the server meanwhile
report = run.finish()
print("rescued", report.rescue_file, flush=True)
"""


def test_a_process_that_ends_during_the_outage_is_delivered_by_sync(
    pg: PostgresServer, tmp_path: Path
) -> None:
    """The server is down when the process finishes: its points wait in the unsent folder
    and `tracker sync --to` delivers them once it is back; a second sync doubles nothing."""
    uri = pg.create_database("ended_offline")
    env = {
        **os.environ,
        "TRACKER_URI": uri,
        "TRACKER_DIR": str(tmp_path),
        "TRACKER_FLUSH_INTERVAL": "0.05",
        "TRACKER_FINISH_TIMEOUT": "1",
        "TRACKER_SYSTEM_INTERVAL": "0",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline().strip() == "flushed"
        pg.stop()
        out, err = child.communicate("\n", timeout=120)
    finally:
        pg.start()
    assert child.returncode == 0, err
    assert "rescued" in out and "None" not in out, out
    assert PASSWORD not in out + err
    sync = [sys.executable, "-m", "tracker.cli", "sync", "--to", uri]
    local = {k: v for k, v in env.items() if k != "TRACKER_URI"}  # from the local store
    for _ in range(2):
        done = subprocess.run(
            sync, env=local, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        assert PASSWORD not in done.stdout + done.stderr
    store = open_store(uri)
    try:
        (record,) = store.runs()
        assert (record.name, record.status) == ("offline", "finished")
        history = store.history(record.run_id, "loss", raw=True)
        assert [s for s, _v, _t in history] == list(range(500))
    finally:
        store.close()
