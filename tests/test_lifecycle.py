"""Processes that end without finish(): what the store shows afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tracker.store import Store

SCRIPT = """
import os, sys, time
from tracker import CustomTracker
run = CustomTracker(project="life", run_name=sys.argv[1]).start()
for step in range(200):
    run.log_metrics({{"train/loss": 1.0 / (step + 1)}}, step=step)
print("logged", flush=True)
{ending}
"""


def _spawn(tracker_dir: Path, name: str, ending: str, **env: str) -> subprocess.Popen[str]:
    code = SCRIPT.format(ending=textwrap.dedent(ending))
    environ = {**os.environ, "TRACKER_DIR": str(tracker_dir), "TRACKER_SYSTEM_INTERVAL": "0", **env}
    return subprocess.Popen(
        [sys.executable, "-c", code, name], env=environ, stdout=subprocess.PIPE, text=True
    )


def _run(tracker_dir: Path, name: str, ending: str) -> int:
    process = _spawn(tracker_dir, name, ending)
    process.communicate(timeout=60)
    return process.returncode


def _only(store: Store, name: str):  # type: ignore[no-untyped-def]
    runs = [r for r in store.runs(project="life") if r.name == name]
    assert len(runs) == 1
    return runs[0]


def test_normal_exit_without_finish_is_finished(tracker_dir: Path, store: Store) -> None:
    """A script that forgets finish() still flushes everything and ends as finished."""
    assert _run(tracker_dir, "plain", "") == 0
    run = _only(store, "plain")
    assert run.status == "finished"
    assert len(store.history(run.run_id, "train/loss")) == 200


def test_uncaught_exception_is_failed_with_the_error(tracker_dir: Path, store: Store) -> None:
    """An exception that ends the program marks the run failed, with type and message."""
    assert _run(tracker_dir, "boom", "raise RuntimeError('CUDA out of memory')") == 1
    run = _only(store, "boom")
    assert run.status == "failed"
    assert "RuntimeError: CUDA out of memory" in run.error
    assert len(store.history(run.run_id, "train/loss")) == 200


WITH = "with CustomTracker(project='life', run_name='{name}'):\n    {call}"


@pytest.mark.parametrize(
    ("name", "ending", "code", "status"),
    [
        ("exit-1", "sys.exit(1)", 1, "failed"),
        ("exit-message", "sys.exit('no data found')", 1, "failed"),
        ("exit-0", "sys.exit(0)", 0, "finished"),
        ("with-exit-0", WITH.format(name="with-exit-0", call="sys.exit()"), 0, "finished"),
        ("with-exit-2", WITH.format(name="with-exit-2", call="sys.exit(2)"), 2, "failed"),
    ],
)
def test_sys_exit_is_judged_by_its_code(
    tracker_dir: Path, store: Store, name: str, ending: str, code: int, status: str
) -> None:
    """sys.exit with a non-zero code or a message fails the run; sys.exit(0) finishes it,
    at the program's end as at the end of a `with` block."""
    assert _run(tracker_dir, name, ending) == code
    runs = [r for r in store.runs(project="life") if r.name == name]  # with: the inner run too
    assert len(runs) == (2 if name.startswith("with") else 1)
    for run in runs:
        assert run.status == status
        assert ("SystemExit" in (run.error or "")) is (status == "failed")


def test_keyboard_interrupt_is_interrupted(tracker_dir: Path, store: Store) -> None:
    """Ctrl-C (KeyboardInterrupt) ends the run as interrupted."""
    _run(tracker_dir, "ctrl-c", "raise KeyboardInterrupt")
    assert _only(store, "ctrl-c").status == "interrupted"


def test_sigterm_is_interrupted_and_flushed(tracker_dir: Path, store: Store) -> None:
    """SIGTERM (torchrun stopping a worker, a scheduler's preemption) flushes and records
    interrupted, and the process still dies of SIGTERM."""
    process = _spawn(tracker_dir, "term", "time.sleep(60)")
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "logged"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGTERM
    run = _only(store, "term")
    assert run.status == "interrupted" and "SIGTERM" in run.error
    assert len(store.history(run.run_id, "train/loss")) == 200


def test_sigkill_shows_as_crashed_once_the_heartbeat_is_stale(
    tracker_dir: Path, store: Store
) -> None:
    """A process killed with SIGKILL loses at most the last flush interval and reads as crashed."""
    process = _spawn(
        tracker_dir,
        "killed",
        "time.sleep(60)",
        TRACKER_HEARTBEAT_INTERVAL="0.1",
        TRACKER_FLUSH_INTERVAL="0.1",
    )
    assert process.stdout is not None
    process.stdout.readline()
    time.sleep(0.5)  # more than one flush interval
    process.kill()
    process.wait(timeout=30)
    run = _only(store, "killed")
    assert len(store.history(run.run_id, "train/loss")) == 200
    deadline = time.time() + 15
    while run.status != "crashed" and time.time() < deadline:
        time.sleep(0.5)
        run = _only(store, "killed")
    assert run.status == "crashed"
    assert store.runs(project="life", status="crashed")[0].run_id == run.run_id


@pytest.mark.parametrize("processes", [4])
def test_several_processes_write_one_store_at_once(
    tracker_dir: Path, store: Store, processes: int
) -> None:
    """Runs in several processes write the same SQLite file concurrently; every point lands."""
    code = textwrap.dedent(
        """
        import sys
        from tracker import CustomTracker
        with CustomTracker(project="many", run_name=sys.argv[1]) as run:
            for step in range(5000):
                run.log_metrics({"a": step, "b": -step}, step=step)
                if step % 1000 == 0:
                    run.log_config({f"at{step}": step})
        """
    )
    environ = {
        **os.environ,
        "TRACKER_DIR": str(tracker_dir),
        "TRACKER_SYSTEM_INTERVAL": "0",
        "TRACKER_FLUSH_INTERVAL": "0.01",
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", code, f"w{i}"], env=environ)
        for i in range(processes)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0] * processes
    runs = store.runs(project="many")
    assert sorted(r.name for r in runs) == [f"w{i}" for i in range(processes)]
    for run in runs:
        assert run.status == "finished"
        assert [s for s, _, _ in store.history(run.run_id, "a")] == list(range(5000))
        assert [v for _, v, _ in store.history(run.run_id, "b")] == [-s for s in range(5000)]
        assert len(run.config) == 5
