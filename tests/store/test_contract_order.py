"""Sorting runs on every built-in store: one rule (`tracker.store.order`) for every column."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from old_schema import OLD_RUN, sqlite_file_at
from tracker import open_store
from tracker.records import MetricBatch, RunRecord, Series
from tracker.store import RunQuery, Store
from tracker.store.order import RunColumn, RunOrder
from tracker.store.schema import RUN_VALUES_MIGRATION
from tracker.store.sqlite import SqliteStore


@pytest.fixture
def any_store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, empty."""
    store = open_store(store_uri)
    yield store
    store.close()


# run id -> its config; started in this order (the last the newest)
CONFIGS: dict[str, dict[str, Any]] = {
    "a": {"opt": {"lr": 0.001}},
    "b": {"opt": {"lr": 1}},
    "c": {"opt": {"lr": -2.5}},
    "d": {"opt": {"lr": "B"}},
    "e": {"opt": {"lr": "a"}},
    "f": {"opt": {"lr": True}},
    "g": {"opt": {"lr": False}},
    "h": {"opt": {"lr": None}},
    "i": {"opt": 3},
    "j": {"opt": {"lr": float("nan")}, "clip": float("inf"), "note": "NaN or -Infinity"},
    "k": {},
    "l": {"opt": {"lr": 0.001}},
    "m": {"opt": {"lr": "é"}},
    "n": {"opt": {"lr": [1, 2]}},
    "o": {"opt": [5, 6]},
}


def _fill(store: Store, configs: dict[str, dict[str, Any]]) -> None:
    for i, (run_id, config) in enumerate(configs.items()):
        record = RunRecord(run_id, "p", f"run-{run_id}", started_at=1000.0 + i, tags=["t"])
        record.heartbeat_at, record.heartbeat_interval = 1000.0 + i, 60
        record.config = config
        store.start_run(record, resume=False)
        store.finish_run(run_id, "finished", 2000.0, None)


def _ids(store: Store, order: str, **filters: Any) -> list[str]:
    return [r.run_id for r in store.runs(RunQuery(order=RunOrder.parse(order), **filters))]


def test_config_paths_sort_numbers_texts_bools_lists_then_missing(any_store: Store) -> None:
    """Numbers by value, texts by code point, bools, lists, then every run without the
    value (None, NaN, a path through a number or a list, no key), newest first on ties;
    descending reverses inside the groups and keeps the missing ones last."""
    _fill(any_store, CONFIGS)
    missing = ["o", "k", "j", "i", "h"]
    assert _ids(any_store, "config:opt.lr") == [
        *["c", "l", "a", "b"], *["d", "e", "m"], *["g", "f"], "n", *missing
    ]  # fmt: skip
    assert _ids(any_store, "-config:opt.lr") == [
        *["b", "l", "a", "c"], *["m", "e", "d"], *["f", "g"], "n", *missing
    ]  # fmt: skip


def test_a_number_in_a_path_is_a_key_not_a_list_index(any_store: Store) -> None:
    """``opt.0`` names a key ``0``: a list's first item is not it."""
    _fill(any_store, {"x": {"opt": [5, 6]}, "y": {"opt": {"0": 7}}, "z": {"opt": {"0": 1}}})
    assert _ids(any_store, "config:opt.0") == ["z", "y", "x"]


def test_pages_filters_and_order_go_together(any_store: Store) -> None:
    """``limit`` and ``offset`` cut the sorted list; filters apply first."""
    _fill(any_store, CONFIGS)
    order = RunOrder.parse("config:opt.lr")
    pages = [
        [r.run_id for r in any_store.runs(RunQuery(order=order, limit=4, offset=o))]
        for o in (0, 4, 12)
    ]
    assert pages == [["c", "l", "a", "b"], ["d", "e", "m", "g"], ["j", "i", "h"]]
    assert _ids(any_store, "config:opt.lr", name_contains="run-", status="finished")[:2] == [
        "c",
        "l",
    ]
    assert _ids(any_store, "config:opt.lr", status="crashed") == []


def test_final_metrics_sort_numerically_and_the_runs_without_one_last(any_store: Store) -> None:
    """A metric column sorts by each run's last value; NaN, inf and no metric sort last."""
    _fill(any_store, {run_id: {} for run_id in "vwxyz"})
    finals = {"v": 0.5, "w": float("nan"), "x": 10.0, "y": float("inf")}  # z: none
    for run_id, final in finals.items():
        steps, values, times = array("q", [0, 1]), array("d", [99.0, final]), array("d", [1, 2])
        any_store.log_metrics(run_id, MetricBatch({"eval/loss": Series(steps, values, times)}))
    assert _ids(any_store, "metric:eval/loss") == ["v", "x", "z", "y", "w"]
    assert _ids(any_store, "-metric:eval/loss") == ["x", "v", "z", "y", "w"]
    # with a tag filter and every run read (a status told by the heartbeat) alike
    assert _ids(any_store, "-metric:eval/loss", tags=["t"], limit=2) == ["x", "v"]
    assert _ids(any_store, "metric:eval/loss", status="crashed") == []
    assert _ids(any_store, "metric:eval/loss", tags=["t"]) == ["v", "x", "z", "y", "w"]


def test_summary_paths_and_run_fields_sort_too(any_store: Store) -> None:
    """``summary:`` paths and the run's name and start sort by the same rule."""
    _fill(any_store, {"s": {}, "t": {}, "u": {}})
    any_store.log_summary("s", {"best": {"acc": 0.7}})
    any_store.log_summary("t", {"best": {"acc": 0.9}})
    assert _ids(any_store, "-summary:best.acc") == ["t", "s", "u"]
    assert _ids(any_store, "name") == ["s", "t", "u"]
    assert _ids(any_store, "-name") == ["u", "t", "s"]
    assert _ids(any_store, "started_at") == ["s", "t", "u"]


def test_columns_read_and_write_as_the_address_spells_them() -> None:
    """``config:a.b``, ``metric:eval/loss``, ``name``; a ``-`` for descending; unknown
    sources and fields say what is accepted."""
    order = RunOrder.parse("-config:model.lora.r")
    assert order == RunOrder(RunColumn("config", "model.lora.r"), descending=True)
    assert str(order) == "-config:model.lora.r"
    assert str(RunColumn.parse("metric:eval/loss")) == "metric:eval/loss"
    assert RunColumn.parse("name") == RunColumn("run", "name")
    with pytest.raises(ValueError, match="config:PATH"):
        RunColumn.parse("params:lr")
    with pytest.raises(ValueError, match="config:PATH"):
        RunColumn.parse("heartbeat_at")
    with pytest.raises(ValueError, match="needs a key"):
        RunColumn.parse("config:")


def test_runs_of_an_older_sqlite_file_sort_after_its_migration(tmp_path: Path) -> None:
    """A file from before ``run_values``: its runs' configs and summaries are entered when
    it is opened, so they sort as the runs written since do."""
    runs = [
        {**OLD_RUN, "run_id": run_id, "name": run_id, "started_at": started,
         "config": json.dumps({"opt": {"lr": lr}, "clip": float("nan")}),
         "summary": json.dumps({"best": lr})}
        for run_id, lr, started in [("x", 0.3, 1.0), ("y", 0.1, 2.0), ("z", None, 3.0)]
    ]  # fmt: skip
    path = sqlite_file_at(tmp_path / "old.db", RUN_VALUES_MIGRATION, runs)
    store = SqliteStore(path)
    _fill(store, {"w": {"opt": {"lr": 0.2}}})
    assert _ids(store, "config:opt.lr") == ["y", "w", "x", "z"]
    assert _ids(store, "-summary:best") == ["x", "y", "w", "z"]
    store.close()
