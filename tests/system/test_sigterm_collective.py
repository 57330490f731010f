"""SIGTERM ends a rank whose main thread is blocked in a hung gloo all-reduce: the run is
flushed and recorded ``interrupted``, and the process dies of SIGTERM within seconds."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracker import open_store
from workers import worker_env

pytest.importorskip("torch")

WORKER = Path(__file__).with_name("collective_worker.py")
STEPS = 20


def _rank(rank: int, rendezvous: Path, uri: str) -> subprocess.Popen[str]:
    env = worker_env(TRACKER_URI=uri, TRACKER_SYSTEM_INTERVAL="0", RANK=str(rank))
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(rank), str(rendezvous), str(STEPS)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_sigterm_ends_a_rank_blocked_in_a_collective(tmp_path: Path) -> None:
    """Rank 0 hangs in an all-reduce rank 1 never joins; SIGTERM to rank 0 records the run
    interrupted with every step logged, and rank 0 dies of SIGTERM, not of SIGKILL later."""
    uri = f"sqlite:///{tmp_path / 'tracker.db'}"
    rendezvous = tmp_path / "rendezvous"
    ranks = [_rank(rank, rendezvous, uri) for rank in (0, 1)]
    blocked, absent = ranks
    try:
        assert absent.stdout is not None and blocked.stdout is not None
        assert absent.stdout.readline().strip() == "joined"
        assert blocked.stdout.readline().strip() == "blocking"
        time.sleep(1)  # into the native wait (were it sooner, the Python handler would do)
        sent = time.monotonic()
        blocked.send_signal(signal.SIGTERM)
        try:
            blocked.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("rank 0 ignored SIGTERM while blocked in the all-reduce")
        took = time.monotonic() - sent
        assert blocked.returncode == -signal.SIGTERM, blocked.stdout.read()
    finally:
        for process in ranks:
            process.kill()
            process.communicate()
    store = open_store(uri)
    (run,) = store.runs(project="collective")
    assert run.status == "interrupted"
    assert run.error is not None and run.error.startswith("SIGTERM")
    assert len(store.history(run.run_id, "train/loss")) == STEPS
    assert took < 15, f"rank 0 took {took:.1f} s to end"
    store.close()
