"""The tables part of the contract, on every built-in store: rows per step, read back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tracker import open_store
from tracker.records import RunRecord
from tracker.store import Store


@pytest.fixture
def any_store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, with one run ``r``."""
    store = open_store(store_uri)
    now = time.time()
    store.start_run(RunRecord("r", "p", "n", started_at=now, heartbeat_at=now), resume=False)
    yield store
    store.close()


def test_rows_are_kept_per_step_and_read_back(any_store: Store) -> None:
    """Two steps of one table and another table: keys, steps and rows (with their step)."""
    any_store.log_table("r", "train/completions", 200, [{"prompt": "a", "reward": 1.0}])
    any_store.log_table(
        "r", "train/completions", 100, [{"prompt": "b", "reward": None}, {"prompt": "c"}]
    )
    any_store.log_table("r", "eval/sample", 0, [{"text": "Once upon a time… ✓"}])
    assert any_store.table_keys("r") == ["eval/sample", "train/completions"]
    assert any_store.table_steps("r", "train/completions") == [100, 200]
    assert any_store.table_rows("r", "train/completions", step=200) == [
        {"step": 200, "prompt": "a", "reward": 1.0}
    ]
    assert any_store.table_rows("r", "train/completions") == [
        {"step": 100, "prompt": "b", "reward": None},
        {"step": 100, "prompt": "c"},
        {"step": 200, "prompt": "a", "reward": 1.0},
    ]
    assert any_store.table_rows("r", "train/completions", limit=1) == [
        {"step": 100, "prompt": "b", "reward": None}
    ]
    assert any_store.table_rows("r", "eval/sample")[0]["text"] == "Once upon a time… ✓"
    assert any_store.table_rows("r", "train/completions", step=7) == []


def test_a_step_logged_again_replaces_only_that_step(any_store: Store) -> None:
    """Logging a step's rows again replaces them; other steps keep theirs."""
    any_store.log_table("r", "t", 1, [{"x": 1}, {"x": 2}])
    any_store.log_table("r", "t", 2, [{"x": 3}])
    any_store.log_table("r", "t", 1, [{"x": 9}])
    assert any_store.table_rows("r", "t") == [{"step": 1, "x": 9}, {"step": 2, "x": 3}]
    assert any_store.table_steps("r", "t") == [1, 2]


def test_deleting_a_run_removes_its_tables(any_store: Store) -> None:
    """delete_run takes the run's tables with it."""
    any_store.log_table("r", "t", 1, [{"x": 1}])
    any_store.delete_run("r")
    now = time.time()
    any_store.start_run(RunRecord("r", "p", "n", started_at=now, heartbeat_at=now), resume=False)
    assert any_store.table_keys("r") == []
