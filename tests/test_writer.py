"""The writer under hostile input and failing stores: what lands in the store afterwards."""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tracker import BackendBase, CustomTracker, MetricBatch, TrackerSettings, open_store
from tracker.records import Event
from tracker.store import Store
from tracker.writer import WriteReport


class Refuses(BackendBase):
    """A backend that refuses every batch holding ``bad`` and events of kind ``bad``."""

    def __init__(self, bad: str) -> None:
        self.bad = bad
        self.points: list[tuple[str, int]] = []
        self.events: list[str] = []
        self.heartbeats = 0
        self.finished: str | None = None

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        if self.bad in batch.series:
            raise ValueError(f"cannot store {self.bad}")
        self.points.extend((p.key, p.step) for p in batch.points())

    def log_event(self, run_id: str, event: Event) -> None:
        if event.kind == self.bad:
            raise ValueError("cannot store this event")
        self.events.append(event.kind)

    def heartbeat(self, run_id: str, at: float) -> None:
        self.heartbeats += 1

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        self.finished = status


def _settings(**kw: Any) -> TrackerSettings:
    return TrackerSettings(**{"flush_interval": 0.02, "heartbeat_interval": 0.05, **kw})


def test_a_poison_call_is_set_aside_and_everything_behind_it_is_written(
    tracker_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch and an event the store always refuses are set aside with one warning each;
    later points, heartbeats and the final status are written; the report counts them."""
    backend = Refuses("bad")
    run = CustomTracker(project="p", store=backend, settings=_settings()).start()
    run.log_metrics({"bad": 1.0}, step=0)
    run.flush()
    run.log_event("bad")
    step = 1
    deadline = time.monotonic() + 60
    while sum("set aside" in r.getMessage() for r in caplog.records) < 2:
        assert time.monotonic() < deadline, "the poison calls were never set aside"
        run.log_metrics({"good": float(step)}, step=step)
        run.flush()
        step += 1
    report = run.finish()
    assert report is not None
    assert [s for k, s in backend.points if k == "good"] == list(range(1, step))
    assert backend.finished == "finished" and backend.heartbeats > 0
    assert report.set_aside_points == 1 and report.unwritten_points == 1
    assert report.rescue_file is not None
    rescued = open_store(f"jsonl:///{report.rescue_file.parent}")
    assert [s for s, _, _ in rescued.history(run.run_id, "bad")] == [0]
    assert [e.kind for e in rescued.events(run.run_id)] == ["bad"]
    set_aside = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert len(set_aside) == 2


class Explodes(BackendBase):
    """A backend every method of which raises, even ``close``."""

    def start_run(self, run: Any, *, resume: bool) -> None:
        raise RuntimeError("boom")

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        raise OverflowError("boom")

    def heartbeat(self, run_id: str, at: float) -> None:
        raise MemoryError("boom")

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        raise KeyError("boom")

    def close(self) -> None:
        raise RuntimeError("boom")


def test_finish_never_raises_and_accounts_for_every_point(tracker_dir: Path) -> None:
    """A backend that raises everywhere: finish() returns, every point is in the rescue."""
    run = CustomTracker(project="p", store=Explodes(), settings=_settings(finish_timeout=0.3))
    run.start()
    for step in range(100):
        run.log_metrics({"m": step}, step=step)
    report = run.finish()
    assert isinstance(report, WriteReport) and not report.complete
    assert report.unwritten_points == 100 and report.rescue_file is not None
    rescued = open_store(f"jsonl:///{report.rescue_file.parent}")
    assert len(rescued.history(run.run_id, "m")) == 100


@pytest.mark.parametrize(
    ("step", "stored"),
    [(2**63, 1), (-(2**63) - 1, 1), (float("inf"), 1), (float("nan"), 1), (3.7, 3), (5.0, 5)],
)
def test_steps_outside_int64_or_not_finite_follow_the_documented_rule(
    store: Store, step: Any, stored: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A step outside int64 or not finite takes the next step; 3.7 is rounded down; the
    points logged after it are all written; one warning, never silence, never a raise."""
    with CustomTracker(project="p") as run:
        run.log_metrics({"m": 0.0}, step=0)
        run.log_metrics({"m": 1.0}, step=step)
        run.log_metrics({"m": 2.0}, step=10)
        run.log_event("checkpoint", step=step)
    history = store.history(run.run_id, "m")
    assert [(s, v) for s, v, _ in history] == [(0, 0.0), (stored, 1.0), (10, 2.0)]
    assert store.get_run(run.run_id).status == "finished"
    if step != 5.0:
        assert "step" in caplog.text


class Raises:
    """An object each of whose conversions raises."""

    def __float__(self) -> float:
        raise RuntimeError("no float")

    def item(self) -> float:
        raise RuntimeError("no item")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name}")


def _deep(n: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1.0}
    for _ in range(n):
        value = {"d": value}
    return value


@pytest.mark.parametrize(
    "metrics",
    [
        {"big": 10**400},
        {"raises": Raises()},
        _deep(2000),
        {"a/b": 1.0, "a": {"b": 2.0}},
    ],
    ids=["huge-int", "raising-object", "nested-2000", "collision"],
)
def test_strange_values_never_reach_the_training_loop(store: Store, metrics: Any) -> None:
    """Whatever a value does, log_metrics returns and later points are written."""
    with CustomTracker(project="p") as run:
        run.log_metrics(metrics, step=0)
        run.log_config({"obj": Raises(), "deep": _deep(2000)})
        run.log_summary({"obj": Raises()})
        run.log_event("e", {"obj": Raises()})
        run.log_metrics({"after": 1.0}, step=1)
    assert [s for s, _, _ in store.history(run.run_id, "after")] == [1]
    assert store.get_run(run.run_id).status == "finished"


def test_string_values_cost_one_summary_write_per_flush(tracker_dir: Path) -> None:
    """A string logged every step lands in the summary (last value), merged per flush."""
    calls: list[dict[str, Any]] = []

    class Summaries(BackendBase):
        def log_summary(self, run_id: str, summary: dict[str, Any]) -> None:
            calls.append(summary)

    run = CustomTracker(project="p", store=Summaries(), settings=_settings(flush_interval=5))
    run.start()
    for step in range(500):
        run.log_metrics({"loss": 1.0, "phase": f"p{step}"}, step=step)
    run.finish()
    assert len(calls) <= 3  # one per flush, not 500
    assert calls[-1]["phase"] == "p499"


class Outage(BackendBase):
    """A backend that refuses metrics while ``down``, and keeps the steps of ``m`` after."""

    def __init__(self) -> None:
        self.down = True
        self.got: list[int] = []

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        if self.down:
            raise ConnectionError("server closed the connection")
        self.got.extend(batch.series["m"].steps)


def test_an_outage_spools_to_disk_and_replays_in_order(tracker_dir: Path) -> None:
    """A store down for a while with a tiny memory bound: the oldest batches are spooled,
    then everything is delivered in order once it is back, each point once."""
    outage = Outage()
    settings = _settings(max_pending=1000, spool_max_mb=64)
    run = CustomTracker(project="p", store=outage, settings=settings).start()
    for step in range(30_000):
        run.log_metrics({"m": float(step)}, step=step)
        if step % 1000 == 0:
            run.flush()
    spools = list((tracker_dir / "unsent").glob("*.spool"))
    assert spools, "past 10,000 points in memory the writer spools to disk"
    outage.down = False
    report = run.finish()
    assert report is not None and report.complete
    assert outage.got == list(range(30_000))
    assert not list((tracker_dir / "unsent").glob("*.spool"))


def test_past_memory_and_spool_the_oldest_points_are_dropped_and_counted(
    tracker_dir: Path,
) -> None:
    """The documented outage limit: with no room to spool, points past the memory bound
    are dropped, and the report and the outage event count exactly those."""
    outage = Outage()
    settings = _settings(max_pending=1000, spool_max_mb=0)
    run = CustomTracker(project="p", store=outage, settings=settings).start()
    for step in range(20_000):
        run.log_metrics({"m": float(step)}, step=step)
        if step % 500 == 0:
            run.flush()
    outage.down = False
    report = run.finish()
    assert report is not None
    got = outage.got
    assert report.dropped_points + len(got) == 20_000 and report.dropped_points > 0
    assert got == sorted(got) and got[-1] == 19_999  # the newest are kept


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a tmpfs needs root"
)


@needs_root
def test_a_full_disk_rescues_to_the_fallback_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """TRACKER_DIR on a full tmpfs: the store cannot be written, the rescue goes to the
    temp folder, says where, and leaves no empty file on the full disk."""
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], check=True)
    try:
        (small / "filler").write_bytes(b"\0" * 10)
        with pytest.raises(OSError), open(small / "filler2", "wb") as handle:
            handle.write(b"\0" * 200_000)
        monkeypatch.setenv("TRACKER_DIR", str(small))
        monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
        (tmp_path / "tmp").mkdir()
        import tempfile

        monkeypatch.setattr(tempfile, "tempdir", None)
        settings = TrackerSettings(flush_interval=0.05, finish_timeout=0.5, system_interval=0)
        run = CustomTracker(project="p", store=Down(), settings=settings).start()
        for step in range(1000):
            run.log_metrics({"m": float(step)}, step=step)
        report = run.finish()
        assert report is not None and report.rescue_file is not None
        assert report.rescue_file.is_relative_to(tmp_path / "tmp")
        assert len(open_store(f"jsonl:///{report.rescue_file.parent}").history(run.run_id, "m"))
        assert not [p for p in small.rglob("*") if p.is_file() and p.stat().st_size == 0]
        assert oct(report.rescue_file.stat().st_mode & 0o777) == "0o600"
        assert str(report.rescue_file) in caplog.text
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


class Down(BackendBase):
    """A backend that never takes metrics."""

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        raise ConnectionError("unreachable")


def test_a_lock_held_longer_than_the_heartbeat_is_not_crashed(tracker_dir: Path) -> None:
    """A live run whose heartbeat is delayed by a held write lock still reads running."""
    from tracker.records import effective_status

    at = 1000.0
    # 10 s heartbeats, the last one 45 s ago: a store lock waited on for 30 s explains it.
    assert effective_status("running", at - 45, 10.0, now=at) == "running"
    assert effective_status("running", at - 120, 10.0, now=at) == "crashed"
    assert math.isfinite(at)


def test_nothing_logged_is_lost_behind_a_refused_run_name(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Names, tags, keys and event kinds the store cannot encode are cleaned, not fatal."""
    caplog.set_level(logging.WARNING, logger="tracker")
    bad = os.fsdecode(b"eval/\xff")
    with CustomTracker(project="p", run_name="run-\udcff", tags=["t\udcff"]) as run:
        run.log_metrics({bad: 1.0, "ok": 2.0}, step=0)
        run.log_event(None)  # type: ignore[arg-type]
        run.log_metrics({"ok": 3.0}, step=1)
    record = store.get_run(run.run_id)
    assert record.status == "finished"
    assert [v for _, v, _ in store.history(run.run_id, "ok")] == [2.0, 3.0]
    assert len(store.keys(run.run_id)) == 2
