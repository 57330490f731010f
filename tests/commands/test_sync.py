"""``tracker sync``: runs copied between stores, only what is missing, and unsent files
delivered; twice in a row, and killed in the middle then resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tracked_runs import Cli
from tracker import CustomTracker, TrackerSettings, open_store
from tracker.store import Store


def _same(a: Store, b: Store, run_id: str) -> None:
    """Both stores hold the run whole: record, keys, every point, events."""
    ra, rb = a.get_run(run_id), b.get_run(run_id)
    assert (rb.name, rb.project, rb.status) == (ra.name, ra.project, ra.status)
    assert rb.config == ra.config
    assert a.keys(run_id) == b.keys(run_id)
    for key in a.keys(run_id):
        assert a.history(run_id, key, raw=True) == b.history(run_id, key, raw=True), key
    assert [e.kind for e in a.events(run_id)] == [e.kind for e in b.events(run_id)]


def test_sync_copies_every_run_once_and_twice_changes_nothing(
    runs: dict[str, str], cli: Cli, tmp_path: Path, store: Store
) -> None:
    """Local SQLite to another store; a second sync copies nothing."""
    target = f"sqlite:///{tmp_path}/team.db"
    first = cli("sync", "--to", target)
    assert first.code == 0, first.err
    team = open_store(target)
    for run_id in runs.values():
        _same(store, team, run_id)
    counts = {r: {k: s.count for k, s in team.metric_stats(r).items()} for r in runs.values()}
    second = cli("sync", "--to", target)
    assert second.code == 0 and "0 points and 0 events copied" in second.out
    assert counts == {
        r: {k: s.count for k, s in team.metric_stats(r).items()} for r in runs.values()
    }


def test_sync_takes_one_run_home(runs: dict[str, str], cli: Cli, tmp_path: Path) -> None:
    """--from a store, --run NAME: only that run lands in the local store."""
    team_uri = f"sqlite:///{tmp_path}/team.db"
    assert cli("sync", "--to", team_uri).code == 0
    home = f"sqlite:///{tmp_path}/home.db"
    result = cli("sync", "--from", team_uri, "--to", home, "--run", "beta")
    assert result.code == 0, result.err
    assert [r.name for r in open_store(home).runs()] == ["beta"]


def test_a_sync_killed_in_the_middle_goes_on_where_it_stopped(
    tracker_dir: Path, tmp_path: Path, store: Store
) -> None:
    """A sync of a big run killed with SIGKILL at some point, then run again: the target
    holds every point exactly once."""
    with CustomTracker(project="big", run_name="big") as run:
        for step in range(200_000):
            run.log_metrics({"a": float(step), "b": step * 0.5}, step=step)
    target = f"sqlite:///{tmp_path}/team.db"
    env = {**os.environ, "TRACKER_DIR": str(tracker_dir)}
    command = [sys.executable, "-m", "tracker.cli", "sync", "--to", target]
    process = subprocess.Popen(command, env=env)
    time.sleep(1.0)  # wherever it is by then: not started, half-way or done
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    _same(store, open_store(target), run.run_id)


def _offline_run(tmp_path: Path, steps: int) -> tuple[str, str]:
    """A run of ``steps`` losses and a checkpoint event whose store could not be created
    (a file stands where its folder should be), and that store, made reachable after."""
    blocked = tmp_path / "team"
    blocked.write_text("a file where the store's folder should be")
    target = f"sqlite:///{blocked}/team.db"
    settings = TrackerSettings(finish_timeout=0.5)
    with CustomTracker(project="p", run_name="offline", store=target, settings=settings) as run:
        for step in range(steps):
            run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        run.log_event("checkpoint", {"path": "x"}, step=steps // 2)
    blocked.unlink()
    assert run.run_id is not None
    return run.run_id, target


def test_unsent_files_are_delivered_once(tracker_dir: Path, tmp_path: Path, cli: Cli) -> None:
    """A run whose store was unreachable leaves a rescue file; `tracker sync --to` that
    store delivers it whole and removes it; a copy of it delivered again doubles nothing."""
    run_id, target = _offline_run(tmp_path, 100)
    (rescued,) = (tracker_dir / "unsent").glob("*.jsonl")
    copy = rescued.read_bytes()
    result = cli("sync", "--to", target)
    assert result.code == 0, result.err
    assert "1 unsent files delivered" in result.out
    assert not rescued.exists()
    team = open_store(target)
    record = team.get_run(run_id)
    assert (record.name, record.status) == ("offline", "finished")
    assert [s for s, _v, _t in team.history(run_id, "loss", raw=True)] == list(range(100))
    rescued.write_bytes(copy)  # delivered again, as after a lost acknowledgement
    assert cli("sync", "--to", target).code == 0
    assert len(team.history(run_id, "loss", raw=True)) == 100
    assert [e.kind for e in team.events(run_id)].count("checkpoint") == 1


def test_the_next_run_delivers_what_an_outage_left(tracker_dir: Path, tmp_path: Path) -> None:
    """A run whose store was unreachable leaves a rescue file; the next run of this
    machine on that store delivers it in the background."""
    run_id, target = _offline_run(tmp_path, 50)
    assert list((tracker_dir / "unsent").glob("*.jsonl"))
    with CustomTracker(project="p", run_name="online", store=target):
        deadline = time.monotonic() + 60
        while list((tracker_dir / "unsent").glob("*.jsonl")):
            assert time.monotonic() < deadline, "the rescue file was never delivered"
            time.sleep(0.1)
    team = open_store(target)
    assert {r.name for r in team.runs()} == {"offline", "online"}
    assert len(team.history(run_id, "loss")) == 50
