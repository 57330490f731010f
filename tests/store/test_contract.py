"""One contract, every built-in store: what is written is what is read back."""

from __future__ import annotations

import gc
import math
import time
from array import array
from collections.abc import Iterator
from typing import Any

import pytest

from tracker import open_store
from tracker.records import Event, MetricBatch, RunRecord, Series
from tracker.store import (
    RunNotFoundError,
    RunQuery,
    Store,
    count_runs,
    metric_blocks,
    metric_blocks_of,
    metric_stats_of,
)
from tracker.store.series import BLOCK, BLOCK_RECORD


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


@pytest.mark.parametrize("same_time", [False, True], ids=["later", "same-time"])
def test_a_second_create_of_one_id_continues_the_run_and_says_why(
    any_store: Store, same_time: bool
) -> None:
    """start_run(resume=False) of an id that exists (a second process created it at the
    same moment, its start time even the very same float: two processes woken together)
    keeps the first writer's data, records one ``resumed`` event with its reason, and a
    retry of the same start (the writer sends the same call again) records none."""
    first = time.time() - 100
    created = _record("r", started=first)
    created.environment = {"host": "h", "pid": 1}
    any_store.start_run(created, resume=False)
    any_store.log_metrics("r", _batch("m", [0], [1.0]))
    any_store.start_run(created, resume=False)  # the writer's retry: the same call
    second = _record("r", started=first if same_time else 0.0)
    second.environment = {"host": "h", "pid": 2}  # another process's
    any_store.start_run(second, resume=False)
    any_store.log_metrics("r", _batch("m", [1], [2.0]))
    run = any_store.get_run("r")
    assert (run.status, run.started_at) == ("running", first)
    assert [v for _, v, _ in any_store.history("r", "m")] == [1.0, 2.0]
    (event,) = any_store.events("r")
    assert (event.kind, event.at) == ("resumed", second.started_at)
    assert "at the same moment" in event.payload["reason"]


def _created_and_dropped(store: Store) -> int:
    """Creates run ``r`` by a call whose record nothing keeps afterwards; its ``id()``."""
    record = _record("r", started=time.time() - 100)
    store.start_run(record, resume=False)
    return id(record)


def test_a_later_start_by_another_call_of_this_process_is_no_retry(any_store: Store) -> None:
    """Run ``r`` created, its record dropped, then started again by another call of this
    process (a second tracker given that id, not resuming) whose record took the first
    one's place in memory where CPython reuses it: one ``resumed`` event, as for another
    process. A retry is told by the very call, not by an address that can be reused."""
    first = _created_and_dropped(any_store)
    gc.collect()
    records = []  # kept, so each new one takes a fresh address until the freed one
    for _ in range(10_000):
        second = _record("r", started=time.time())
        if id(second) == first:
            break
        records.append(second)
    any_store.start_run(second, resume=False)
    assert [e.kind for e in any_store.events("r")] == ["resumed"]


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


def test_runs_take_one_query_object(any_store: Store) -> None:
    """runs(RunQuery(...)) filters as the keywords do; offset and limit page through the
    newest-first list, also where the status is only known after reading."""
    for i in range(5):
        record = _record(f"r{i}", "a" if i % 2 else "b", f"n{i}", started=1000.0 + i)
        any_store.start_run(record, resume=False)
    query = RunQuery(project="b", limit=2)
    assert [r.run_id for r in any_store.runs(query)] == ["r4", "r2"]
    assert [r.run_id for r in any_store.runs(query, offset=1)] == ["r2", "r0"]
    assert [r.run_id for r in any_store.runs(RunQuery(offset=3))] == ["r1", "r0"]
    page = RunQuery(status="crashed", limit=2, offset=2)  # old heartbeats: all crashed
    assert [r.run_id for r in any_store.runs(page)] == ["r2", "r1"]


def test_count_runs_counts_what_the_filters_match(any_store: Store) -> None:
    """count_runs(store, query) is the length of the unpaged list, whatever the page, also
    where the status is only known after reading (running versus crashed)."""
    for i in range(5):
        record = _record(f"r{i}", "a" if i % 2 else "b", f"n{i}", started=1000.0 + i)
        if i == 4:
            record.heartbeat_at = time.time()  # alive: running, the others crashed
        any_store.start_run(record, resume=False)
    any_store.finish_run("r0", "finished", 2000.0, None)
    for query in (
        RunQuery(),
        RunQuery(project="b", limit=1, offset=1),
        RunQuery(status="crashed", limit=1),
        RunQuery(status="running"),
        RunQuery(status="finished"),
        RunQuery(name_contains="N3"),
        RunQuery(project="none"),
    ):
        unpaged = any_store.runs(query._replace(limit=None, offset=0))
        assert count_runs(any_store, query) == len(unpaged)
    assert count_runs(any_store, RunQuery(status="crashed")) == 3
    assert [r.run_id for r in any_store.runs(RunQuery(limit=2, offset=3))] == ["r1", "r0"]


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


def test_stats_of_many_runs_match_each_runs_own(any_store: Store) -> None:
    """metric_stats_of(store, ids) gives each run's metric_stats, runs without metrics too."""
    for i in range(3):
        any_store.start_run(_record(f"r{i}"), resume=False)
        if i:
            any_store.log_metrics(f"r{i}", _batch("loss", list(range(i * 3)), [1.0] * (i * 3)))
    many = metric_stats_of(any_store, ["r0", "r1", "r2"])
    assert many == {f"r{i}": any_store.metric_stats(f"r{i}") for i in range(3)}
    assert many["r0"] == {} and many["r2"]["loss"].count == 6


def _chunky(n: int) -> list[float]:
    """A loss-like curve with a spike, a dip, NaNs and an infinity at known places."""
    values = [1.0 / (1 + s / 500) for s in range(n)]
    values[1500], values[3300] = 9.0, -3.0
    values[10], values[3500] = math.nan, math.inf
    values[2048:3072] = [math.nan] * 1024  # a whole chunk of NaN
    return values


def _blocks(store: Store, run_id: str, key: str, *, raw: bool = False) -> list[tuple[Any, ...]]:
    """Each block of `metric_blocks` as (first step, last step, non-finite values, the kept
    finite points as (step, value) pairs)."""
    found = []
    for record in BLOCK_RECORD.iter_unpack(metric_blocks(store, run_id, key, raw=raw).records):
        first, last, nonfinite, *steps = record[:7]
        values = record[9:13]
        kept = [(s, v) for s, v in zip(steps, values, strict=True) if not math.isnan(v)]
        found.append((first, last, nonfinite, kept))
    return found


def _expected_blocks(points: list[tuple[int, float]]) -> list[tuple[Any, ...]]:
    """What `_blocks` gives for these points, computed here from them."""
    found = []
    for start in range(0, len(points), BLOCK):
        block = points[start : start + BLOCK]
        finite = [p for p in block if math.isfinite(p[1])]
        picks = {}
        if finite:
            low = min(finite, key=lambda p: p[1])
            high = max(finite, key=lambda p: p[1])
            picks = {p[0]: p for p in (finite[0], low, high, finite[-1])}
        kept = [picks[s] for s in sorted(picks)]
        found.append((block[0][0], block[-1][0], len(block) - len(finite), kept))
    return found


def test_blocks_keep_every_32_points_first_lowest_highest_and_last_point(any_store: Store) -> None:
    """metric_blocks: of every 32 points from the first, its bounds, its number of
    non-finite values and its first, lowest, highest and last finite point, in step
    order, whatever the batches; spikes and dips survive."""
    n = 5000
    values = _chunky(n)
    any_store.start_run(_record("r"), resume=False)
    for start in range(0, n, 700):  # batches that straddle chunk boundaries
        end = min(n, start + 700)
        any_store.log_metrics("r", _batch("loss", list(range(start, end)), values[start:end]))
    assert metric_blocks(any_store, "r", "loss").count == n
    blocks = _blocks(any_store, "r", "loss")
    assert blocks == _expected_blocks(list(enumerate(values)))
    kept = [p for block in blocks for p in block[3]]
    assert (1500, 9.0) in kept and (3300, -3.0) in kept
    assert sum(block[2] for block in blocks) == 1026


def test_blocks_of_many_runs_are_each_runs_blocks(any_store: Store) -> None:
    """metric_blocks_of: the blocks of each run named, as metric_blocks reads them one
    run at a time (a run resumed back in steps among them); a run without the metric, or
    no run of that id, has none."""
    for run_id, n in (("a", 3000), ("b", 700), ("c", 0)):
        any_store.start_run(_record(run_id), resume=False)
        if n:
            any_store.log_metrics(run_id, _batch("loss", list(range(n)), _chunky(5000)[:n]))
    any_store.log_metrics("b", _batch("loss", list(range(100, 200)), [7.0] * 100))
    found = dict(metric_blocks_of(any_store, ["b", "a", "c", "a"], "loss"))
    assert list(found) == ["b", "a", "c"]
    for run_id in ("a", "b"):
        one = metric_blocks(any_store, run_id, "loss")
        assert (found[run_id].records, found[run_id].count) == (one.records, one.count)
    assert found["a"].count == 3000 and found["b"].count == 700
    assert (found["c"].records, found["c"].count) == (b"", 0)


def test_blocks_follow_history_after_a_resume_went_back(any_store: Store) -> None:
    """Where steps were logged again (a resume from an earlier checkpoint), the blocks
    are those of history's points: the last value of each step."""
    any_store.start_run(_record("r"), resume=False)
    any_store.log_metrics("r", _batch("loss", list(range(2000)), [5.0] * 2000))
    any_store.log_metrics("r", _batch("loss", list(range(1000, 1500)), [1.0] * 500))
    assert metric_blocks(any_store, "r", "loss").count == 2000
    history = [(s, v) for s, v, _ in any_store.history("r", "loss")]
    assert _blocks(any_store, "r", "loss") == _expected_blocks(history)
    assert metric_blocks(any_store, "r", "loss", raw=True).count == 2500
