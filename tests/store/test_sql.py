"""What both SQL engines promise a server-side writer: retries stored once, several
processes on one run or one database at once, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pg_server import PostgresServer
from tracker import open_store
from tracker.records import Event, MetricBatch, RunRecord, Series
from tracker.store import Store, StoreError
from tracker.store.series import blocks_of
from tracker.store.sql import SqlStore

LOG_PROCESS = str(Path(__file__).with_name("log_process.py"))
SQL = ["sqlite", "postgres"]


def _env(uri: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRACKER_URI": uri,
        "TRACKER_FLUSH_INTERVAL": "0.05",
        "TRACKER_SYSTEM_INTERVAL": "0",
    }


def _log_process(uri: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, LOG_PROCESS, *args],
        env=_env(uri),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _batch(steps: range, writer: str = "", seq: int = 0) -> MetricBatch:
    series = Series(array("q", steps), array("d", map(float, steps)), array("d", steps))
    return MetricBatch({"m": series}, writer=writer, seq=seq)


@pytest.fixture
def sql_store(store_uri: str) -> Iterator[Store]:
    """An empty store of each SQL engine, with one run ``r``."""
    store = open_store(store_uri)
    store.start_run(RunRecord("r", "p", "r", started_at=time.time()), resume=False)
    yield store
    store.close()


@pytest.mark.parametrize("store_uri", SQL, indirect=True)
def test_a_batch_sent_twice_is_stored_once(sql_store: Store) -> None:
    """A batch with an identity is applied once per (run, writer, seq); another seq or
    another writer is a new batch."""
    sql_store.log_metrics("r", _batch(range(0, 1500), writer="a1", seq=1))
    sql_store.log_metrics("r", _batch(range(0, 1500), writer="a1", seq=1))
    sql_store.log_metrics("r", _batch(range(1500, 1600), writer="a1", seq=2))
    sql_store.log_metrics("r", _batch(range(1600, 1700), writer="b2", seq=1))
    history = sql_store.history("r", "m", raw=True)
    assert [s for s, _, _ in history] == list(range(1700))
    assert sql_store.metric_stats("r")["m"].count == 1700


@pytest.mark.parametrize("store_uri", SQL, indirect=True)
def test_an_event_sent_twice_is_stored_once(sql_store: Store) -> None:
    """The same event (run, kind, time, step) twice is one event; a later one is another."""
    for event in (
        Event("checkpoint", 10.5, 3, {"path": "/c/3"}),
        Event("checkpoint", 10.5, 3, {"path": "/c/3"}),
        Event("outage", 11.0, None, {}),
        Event("outage", 11.0, None, {}),
        Event("checkpoint", 12.0, 3, {"path": "/c/3"}),
    ):
        sql_store.log_event("r", event)
    assert [(e.kind, e.at) for e in sql_store.events("r")] == [
        ("checkpoint", 10.5),
        ("outage", 11.0),
        ("checkpoint", 12.0),
    ]


@pytest.mark.parametrize("store_uri", SQL, indirect=True)
def test_a_batch_retried_after_a_lost_acknowledgement_is_stored_once(
    sql_store: Store, store_uri: str, request: pytest.FixtureRequest
) -> None:
    """The connection is cut right after the batch's COMMIT (on PostgreSQL the backend is
    terminated), so the writer sees an error and sends the batch again: stored once."""
    assert isinstance(sql_store, SqlStore)
    dialect = sql_store._dialect
    commit = dialect.transaction
    server: PostgresServer | None = (
        request.getfixturevalue("pg") if store_uri.startswith("postgresql") else None
    )

    @contextmanager
    def lost_acknowledgement(connection: Any) -> Iterator[None]:
        with commit(connection):
            yield
        if server is not None:
            assert server.terminate_backends() >= 1
        raise dialect.errors[0]("the connection was lost before COMMIT was acknowledged")

    batch = _batch(range(3000), writer="w", seq=1)
    dialect.transaction = lost_acknowledgement  # type: ignore[method-assign]
    try:
        with pytest.raises(StoreError, match="lost before COMMIT"):
            sql_store.log_metrics("r", batch)
    finally:
        del dialect.transaction
    for attempt in range(3):  # as the writer retries: the lost connection is found, replaced
        try:
            sql_store.log_metrics("r", batch)
            break
        except StoreError:
            assert attempt < 2
    assert [s for s, _, _ in sql_store.history("r", "m", raw=True)] == list(range(3000))
    assert sql_store.metric_stats("r")["m"].count == 3000


@pytest.mark.parametrize("store_uri", SQL, indirect=True)
def test_two_processes_on_one_run_keep_each_others_points(store_uri: str, tmp_path: Path) -> None:
    """A run continued by a second process while the first still logs into the same
    metric: 10,000 + 1 points, all stored, count and history agree."""
    go = tmp_path / "go"
    first = _log_process(
        store_uri, "first", "0", "10000", "1", "--run-id", "shared",
        "--pause-after", "5000", "--go", str(go),
    )  # fmt: skip
    store = open_store(store_uri)
    try:
        _wait_until(lambda: "m0" in (s := store.metric_stats("shared")) and s["m0"].count == 5000)
        second = _log_process(store_uri, "second", "20000", "1", "1", "--run-id", "shared")
        assert second.wait(timeout=120) == 0, second.communicate()
        go.touch()
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        steps = [s for s, _, _ in store.history("shared", "m0", raw=True)]
        assert steps == [*range(5000), 20000, *range(5000, 10000)]
        assert store.metric_stats("shared")["m0"].count == 10001
    finally:
        first.kill()
        store.close()


STEPS, KEYS, WRITERS = 2000, 4, 16


@pytest.mark.parametrize("store_uri", ["sqlite", "pgbouncer"], indirect=True)
def test_sixteen_processes_log_at_once_while_a_reader_polls(store_uri: str) -> None:
    """16 processes, each its own run, log into one store (PostgreSQL through PgBouncer)
    while a reader lists runs and reads histories: every point stored once, no errors."""
    writers = [_log_process(store_uri, f"w{i}", "0", str(STEPS), str(KEYS)) for i in range(16)]
    reader = open_store(store_uri)
    try:
        polls = 0
        while any(w.poll() is None for w in writers):
            for run in reader.runs(project="many"):
                history = reader.history(run.run_id, "m0")
                assert [s for s, _, _ in history] == list(range(len(history)))
            polls += 1
            time.sleep(0.1)  # a dashboard's pace, leaving the CPUs to the writers
        results = [w.communicate(timeout=120) for w in writers]
        assert [w.returncode for w in writers] == [0] * WRITERS, results
        assert all(err == "" for _, err in results), results
        runs = reader.runs(project="many")
        assert sorted(r.name for r in runs) == sorted(f"w{i}" for i in range(WRITERS))
        assert {r.status for r in runs} == {"finished"}
        for run in runs:
            for key in (f"m{k}" for k in range(KEYS)):
                points = reader.history(run.run_id, key, raw=True)
                assert [(s, v) for s, v, _ in points] == [(s, float(s)) for s in range(STEPS)]
                assert reader.metric_stats(run.run_id)[key].count == STEPS
        assert polls > 0
    finally:
        for w in writers:
            w.kill()
        reader.close()


@pytest.mark.parametrize("store_uri", SQL, indirect=True)
def test_blocks_are_kept_with_each_chunk_and_match_the_points(sql_store: SqlStore) -> None:
    """Each chunk row keeps its blocks as written (the tail's rewritten with it), equal
    to those computed from the points; a chunk stored before that table existed (no row)
    is read from its points instead."""
    values = [((s * 7919) % 997) / 97.0 for s in range(5000)]
    values[700], values[4100] = float("nan"), float("-inf")
    for start in range(0, 5000, 333):
        steps = range(start, min(5000, start + 333))
        series = Series(array("q", steps), array("d", values[steps[0] : steps[-1] + 1]))
        series.times.extend(float(s) for s in steps)
        sql_store.log_metrics("r", MetricBatch({"m": series}))
    computed = blocks_of(sql_store.iter_history("r", "m"))
    stored = sql_store.metric_blocks("r", "m")
    assert (stored.records, stored.count) == (computed.records, 5000)
    with sql_store._transaction() as db:
        db.execute("DELETE FROM chunk_blocks WHERE run_id = 'r' AND seq = 2")
    again = sql_store.metric_blocks("r", "m")
    assert (again.records, again.count) == (computed.records, 5000)


RACE_STEPS = 3000


@pytest.mark.parametrize("store_uri", SQL, indirect=True)
def test_two_processes_starting_one_run_id_at_once_both_keep_their_points(
    store_uri: str, tmp_path: Path
) -> None:
    """Two processes started at the same moment with one run id (both may find no run and
    create it): one creates it, the other continues it with a ``resumed`` event saying why,
    every point of both is stored, and both finish() reports say nothing was lost."""
    go = tmp_path / "go"
    options = ["--run-id", "raced", "--own", "--start-when", str(go)]
    writers = [
        _log_process(store_uri, name, str(first), str(RACE_STEPS), "1", *options)
        for name, first in (("A", 0), ("B", 100_000))
    ]
    store = open_store(store_uri)
    try:
        for writer in writers:  # both imported and built their run: start both at once
            assert writer.stdout is not None
            assert writer.stdout.readline() == "ready\n", writer.communicate()
        go.touch()
        results = [w.communicate(timeout=120) for w in writers]
        assert [w.returncode for w in writers] == [0, 0], results
        for out, _err in results:
            assert out.splitlines() == ["raced", "unwritten 0 dropped 0"], results
        a, b = range(RACE_STEPS), range(100_000, 100_000 + RACE_STEPS)
        assert [s for s, _, _ in store.history("raced", "own/A", raw=True)] == list(a)
        assert [s for s, _, _ in store.history("raced", "own/B", raw=True)] == list(b)
        shared = sorted(s for s, _, _ in store.history("raced", "m0", raw=True))
        assert shared == [*a, *b]
        resumed = [e for e in store.events("raced") if e.kind == "resumed"]
        run = store.get_run("raced")  # what a failure needs to be explained: who created it
        assert len(resumed) == 1, (store.events("raced"), run.started_at, run.name, results)
        assert resumed[0].payload["reason"]  # why, in words: at the same moment, or after
        assert store.get_run("raced").status == "finished"
    finally:
        for writer in writers:
            writer.kill()
        store.close()
