"""Several nodes, one run: each node's first process samples its node into rank 0's run."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from tracker import CustomTracker, TrackerSettings, open_store
from tracker.records import Event, RunRecord
from tracker.store.base import MetricStats
from tracker.views import node_states


def node(rank: int, local_rank: int = 0, **kwargs: object) -> CustomTracker:
    """The tracker of a process of a job of two nodes with one process each."""
    settings = TrackerSettings(
        rank=rank,
        local_rank=local_rank,
        world_size=2,
        local_world_size=1,
        node_name=f"node{rank}",
        system_interval=0.05,
        **kwargs,
    )
    return CustomTracker(project="p", settings=settings)


def test_each_node_samples_into_the_same_run(tracker_dir: Path, no_nvml: None) -> None:
    """With TRACKER_RUN_ID set for every process, rank 0 and the first process of node 1
    both write system metrics, tagged by node, into the one run; only rank 0 writes the
    run itself."""
    main = node(0, run_id="job-1").start()
    other = node(1, run_id="job-1").start()
    for step in range(5):  # 0.5 s: several CPU readings of at least MIN_CPU_INTERVAL_S
        main.log_metrics({"train/loss": 1.0}, step=step)
        time.sleep(0.1)
    other.finish()
    main.finish()
    store = open_store()
    keys = store.keys("job-1")
    assert "system/node0/cpu/percent" in keys
    assert "system/node1/cpu/percent" in keys
    assert not [k for k in keys if k.startswith("system/cpu/")]
    assert len(store.history("job-1", "system/node1/cpu/percent", raw=True)) >= 2
    run = store.get_run("job-1")
    assert run.status == "finished"
    assert run.environment["rank"] == 0


def test_other_processes_of_a_node_do_not_sample(tracker_dir: Path) -> None:
    """A process that is neither rank 0 nor the first of its node starts no sampler."""
    settings = TrackerSettings(rank=1, local_rank=1, world_size=2, local_world_size=2)
    run = CustomTracker(settings=settings).start()
    assert not any(t.name == "tracker-system" for t in threading.enumerate())
    run.finish()


def test_a_node_that_never_learns_the_run_id_says_so(
    tracker_dir: Path, no_nvml: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Without TRACKER_RUN_ID and without torch.distributed, a node keeps its samples and
    warns at the end that they could not be recorded, naming the fix."""
    other = node(1).start()
    time.sleep(0.1)
    with caplog.at_level(logging.WARNING, "tracker"):
        other.finish()
    assert "TRACKER_RUN_ID" in caplog.text


def test_a_node_says_when_it_joins_and_leaves(tracker_dir: Path, no_nvml: None) -> None:
    """Node 1's writer records node_joined (name, interval, rank) and, at its end,
    node_left: the run's readers see the node as left."""
    main = node(0, run_id="job-2").start()
    other = node(1, run_id="job-2").start()
    time.sleep(0.15)
    other.finish()
    main.finish()
    store = open_store()
    events = store.events("job-2")
    joined = [e.payload for e in events if e.kind == "node_joined"]
    assert joined == [{"node": "node1", "interval": 0.05, "rank": 1}]
    assert [e.payload for e in events if e.kind == "node_left"] == [{"node": "node1"}]
    run = store.get_run("job-2")
    [state] = node_states(run, events, store.metric_stats("job-2"))
    assert (state["node"], state["state"]) == ("node1", "left")


def test_a_node_that_never_left_is_silent() -> None:
    """Joined without leaving: silent once the run has ended, or while it runs once its
    samples stopped for three intervals (and the slack a heartbeat gets); sampling before."""
    joined = Event("node_joined", 1000.0, payload={"node": "n1", "interval": 10.0, "rank": 8})
    stats = {"system/n1/cpu/percent": MetricStats(3, 2, 5.0, 1020.0, 1.0, 9.0)}
    running = RunRecord("r", "p", "x")
    assert node_states(running, [joined], stats, now=1030.0)[0]["state"] == "sampling"
    assert node_states(running, [joined], stats, now=1200.0)[0]["state"] == "silent"
    ended = RunRecord("r", "p", "x", status="finished")
    [silent] = node_states(ended, [joined], stats, now=1030.0)
    assert (silent["state"], silent["last_seen"], silent["rank"]) == ("silent", 1020.0, 8)
