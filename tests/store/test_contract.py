"""One contract, every built-in store: what is written is what is read back."""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Iterator

import pytest

from tracker import open_store
from tracker.records import Event, MetricBatch, RunRecord, Series
from tracker.store import RunNotFoundError, Store


@pytest.fixture
def any_store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, empty."""
    store = open_store(store_uri)
    yield store
    store.close()


def _record(run_id: str, project: str = "p", name: str = "n", started: float = 0.0) -> RunRecord:
    now = started or time.time()
    return RunRecord(run_id, project, name, started_at=now, heartbeat_at=now, heartbeat_interval=60)


def _batch(key: str, steps: list[int], values: list[float]) -> MetricBatch:
    n = len(steps)
    times = array("d", [1000.0 + i for i in range(n)])
    return MetricBatch({key: Series(array("q", steps), array("d", values), times)})


def test_a_run_reads_back_as_written(any_store: Store) -> None:
    """Record fields, merged config and summary, keys, history and events round-trip."""
    any_store.start_run(_record("r1", name="first"), resume=False)
    any_store.log_config("r1", {"lr": 0.1, "model": {"layers": 2, "heads": 4}})
    any_store.log_config("r1", {"model": {"layers": 3}, "seed": 1})
    any_store.log_summary("r1", {"train/runtime": 5.0})
    any_store.log_metrics("r1", _batch("train/loss", [0, 1, 2], [3.0, 2.0, 1.0]))
    any_store.log_metrics("r1", _batch("train/loss", [3], [0.5]))
    any_store.log_event("r1", Event("checkpoint", 10.0, 3, {"path": "/ckpt/3"}))
    any_store.finish_run("r1", "finished", 20.0, None)

    run = any_store.get_run("r1")
    assert (run.name, run.project, run.status, run.ended_at) == ("first", "p", "finished", 20.0)
    assert run.config == {"lr": 0.1, "model": {"layers": 3, "heads": 4}, "seed": 1}
    assert run.summary == {"train/runtime": 5.0}
    assert any_store.keys("r1") == ["train/loss"]
    history = any_store.history("r1", "train/loss")
    assert [(s, v) for s, v, _ in history] == [(0, 3.0), (1, 2.0), (2, 1.0), (3, 0.5)]
    assert [e.kind for e in any_store.events("r1")] == ["checkpoint"]
    assert any_store.events("r1")[0].payload == {"path": "/ckpt/3"}
    stats = any_store.metric_stats("r1")["train/loss"]
    assert (stats.count, stats.last_step, stats.last_value, stats.min, stats.max) == (
        4,
        3,
        0.5,
        0.5,
        3.0,
    )


def test_nan_and_infinity_are_stored_as_such(any_store: Store) -> None:
    """NaN and ±inf come back unchanged."""
    any_store.start_run(_record("r"), resume=False)
    any_store.log_metrics("r", _batch("x", [0, 1, 2], [math.nan, math.inf, -math.inf]))
    values = [v for _, v, _ in any_store.history("r", "x")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_repeated_steps_keep_the_last_value_unless_raw(any_store: Store) -> None:
    """After a resume that went back, history has one point per step, the latest one."""
    any_store.start_run(_record("r"), resume=False)
    any_store.log_metrics("r", _batch("loss", [0, 1, 2, 3], [4.0, 3.0, 2.0, 1.0]))
    any_store.log_metrics("r", _batch("loss", [2, 3, 4], [2.5, 1.5, 0.5]))
    assert [(s, v) for s, v, _ in any_store.history("r", "loss")] == [
        (0, 4.0),
        (1, 3.0),
        (2, 2.5),
        (3, 1.5),
        (4, 0.5),
    ]
    raw = [(s, v) for s, v, _ in any_store.history("r", "loss", raw=True)]
    assert raw == [(0, 4.0), (1, 3.0), (2, 2.0), (3, 1.0), (2, 2.5), (3, 1.5), (4, 0.5)]


def test_long_histories_span_many_chunks(any_store: Store) -> None:
    """Thousands of points written in uneven batches read back whole and in order."""
    any_store.start_run(_record("r"), resume=False)
    step = 0
    for size in (1, 1500, 7, 1024, 2000, 3):
        steps = list(range(step, step + size))
        any_store.log_metrics("r", _batch("m", steps, [float(s) for s in steps]))
        step += size
    history = any_store.history("r", "m")
    assert [s for s, _, _ in history] == list(range(step))
    assert all(v == float(s) for s, v, _ in history)


def test_resume_continues_the_same_record(any_store: Store) -> None:
    """start_run(resume=True) of an existing id keeps config, metrics and start time."""
    first = time.time() - 100
    any_store.start_run(_record("r", started=first), resume=False)
    any_store.log_config("r", {"a": 1})
    any_store.log_metrics("r", _batch("m", [0], [1.0]))
    any_store.finish_run("r", "failed", 150.0, "boom")
    again = _record("r")
    again.tags = ["resumed"]
    any_store.start_run(again, resume=True)
    any_store.log_metrics("r", _batch("m", [1], [2.0]))
    run = any_store.get_run("r")
    assert (run.status, run.error, run.ended_at, run.started_at) == ("running", None, None, first)
    assert run.config == {"a": 1} and "resumed" in run.tags
    assert [v for _, v, _ in any_store.history("r", "m")] == [1.0, 2.0]


def test_runs_filter_and_sort_newest_first(any_store: Store) -> None:
    """runs() filters by project, status, tags, framework and name text; newest first."""
    for i, (project, name, tags, framework) in enumerate(
        [
            ("a", "lr-sweep-1", ["x"], "trl"),
            ("a", "lr-sweep-2", ["x", "y"], None),
            ("b", "base", [], "torchtune"),
        ]
    ):
        record = _record(f"r{i}", project, name, started=1000.0 + i)
        record.tags, record.framework = tags, framework
        any_store.start_run(record, resume=False)
    any_store.finish_run("r0", "finished", 2000.0, None)
    assert [r.run_id for r in any_store.runs()] == ["r2", "r1", "r0"]
    assert [r.run_id for r in any_store.runs(project="a")] == ["r1", "r0"]
    assert [r.run_id for r in any_store.runs(tags=["x", "y"])] == ["r1"]
    assert [r.run_id for r in any_store.runs(framework="torchtune")] == ["r2"]
    assert [r.run_id for r in any_store.runs(name_contains="SWEEP")] == ["r1", "r0"]
    assert [r.run_id for r in any_store.runs(status="finished")] == ["r0"]
    assert [r.run_id for r in any_store.runs(limit=1)] == ["r2"]


def test_a_silent_running_run_reads_as_crashed(any_store: Store) -> None:
    """A running run whose heartbeat is stale is shown as crashed, and found as such."""
    record = _record("r")
    record.heartbeat_interval = 0.1
    record.heartbeat_at = time.time() - 60
    any_store.start_run(record, resume=False)
    assert any_store.get_run("r").status == "crashed"
    assert [r.run_id for r in any_store.runs(status="crashed")] == ["r"]
    assert any_store.runs(status="running") == []


def test_delete_removes_everything(any_store: Store) -> None:
    """delete_run removes the run; reading it afterwards raises RunNotFoundError."""
    any_store.start_run(_record("r"), resume=False)
    any_store.log_metrics("r", _batch("m", [0], [1.0]))
    any_store.delete_run("r")
    with pytest.raises(RunNotFoundError):
        any_store.get_run("r")
    assert any_store.runs() == []
    with pytest.raises(RunNotFoundError):
        any_store.delete_run("r")
