"""Sweeps on every built-in store: a run's sweep is stored, found, kept and copied."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from old_schema import migration_that, sqlite_file_at
from tracker import CustomTracker, TrackerSettings, open_store
from tracker.records import RunRecord
from tracker.store import RunQuery, Store
from tracker.store.sqlite import SqliteStore
from tracker.sync import copy_runs


@pytest.fixture
def any_store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, empty."""
    store = open_store(store_uri)
    yield store
    store.close()


def _record(run_id: str, sweep: str | None, project: str = "p", started: float = 0.0) -> RunRecord:
    now = started or time.time()
    return RunRecord(
        run_id, project, run_id, started_at=now, heartbeat_at=now, heartbeat_interval=60,
        sweep=sweep,
    )  # fmt: skip


def test_runs_are_found_by_sweep(any_store: Store) -> None:
    """runs(sweep=...) keeps the sweep's runs, newest first, with the other filters."""
    for i, (project, sweep) in enumerate([("a", "lr"), ("a", None), ("b", "lr"), ("a", "seed")]):
        any_store.start_run(_record(f"r{i}", sweep, project, 1000.0 + i), resume=False)
    assert any_store.get_run("r0").sweep == "lr" and any_store.get_run("r1").sweep is None
    assert [r.run_id for r in any_store.runs(sweep="lr")] == ["r2", "r0"]
    assert [r.run_id for r in any_store.runs(RunQuery(sweep="lr", project="a"))] == ["r0"]
    assert [r.run_id for r in any_store.runs(sweep="lr", limit=1)] == ["r2"]
    assert any_store.runs(sweep="none-such") == []
    assert [r.sweep for r in any_store.runs()] == ["seed", "lr", None, "lr"]


def test_a_resume_keeps_the_sweep_unless_it_names_one(any_store: Store) -> None:
    """Continuing a run without a sweep keeps its sweep; with one, the run moves to it."""
    any_store.start_run(_record("r", "lr"), resume=False)
    any_store.start_run(_record("r", None), resume=True)
    assert any_store.get_run("r").sweep == "lr"
    any_store.start_run(_record("r", "lr-2"), resume=True)
    assert any_store.get_run("r").sweep == "lr-2"


def test_a_tracked_run_carries_its_sweep(
    store_uri: str, any_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CustomTracker(sweep=...) and TRACKER_SWEEP land in the store; the argument wins."""
    monkeypatch.setenv("TRACKER_SWEEP", "from-env")
    ids = []
    for sweep in ("given", None):
        settings = TrackerSettings(system_interval=0, flush_interval=0.05)
        with CustomTracker("p", store=store_uri, sweep=sweep, settings=settings) as run:
            run.log_metrics({"loss": 1.0}, step=0)
        ids.append(run.run_id)
    assert [any_store.get_run(i).sweep for i in ids] == ["given", "from-env"]
    assert [r.run_id for r in any_store.runs(sweep="from-env")] == [ids[1]]


def test_sync_copies_the_sweep(any_store: Store) -> None:
    """tracker sync's copy keeps a run's sweep."""
    source = open_store(f"memory://sweep-source-{id(any_store)}")
    source.start_run(_record("r", "lr"), resume=False)
    source.finish_run("r", "finished", time.time(), None)
    copy_runs(source, any_store, ["r"])
    assert any_store.get_run("r").sweep == "lr"
    assert [r.run_id for r in any_store.runs(sweep="lr")] == ["r"]


def test_an_older_sqlite_file_gains_the_sweep_column(tmp_path: Path) -> None:
    """A file from before sweeps is migrated: its runs have no sweep, new runs do."""
    path = sqlite_file_at(tmp_path / "old.db", migration_that("sweep"))
    store = SqliteStore(path)
    store.start_run(_record("new", "lr"), resume=False)
    assert store.get_run("old").sweep is None
    assert [r.run_id for r in store.runs(sweep="lr")] == ["new"]
    store.close()
