"""/api/params and /api/groups over a real 50-run sweep (5 learning rates x 10 seeds):
varying keys, final metrics, groups on a shared step grid, and bad input answered, never
a crash; the compare API's keys alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ui_kit import (
    HOSTILE_CONFIG,
    LEARNING_RATES,
    SEEDS,
    SWEEP_STEPS,
    Served,
    sweep_loss,
)

from tracker import CustomTracker, open_store
from tracker.ui import groups as groups_module

pytest.importorskip("bokeh")


def _get(served: Served, path: str, status: int = 200) -> Any:
    reply = served.get(path)
    body = json.loads(reply.body)
    assert reply.status == status, body
    return body


def test_params_lists_the_keys_that_vary_with_each_runs_values(sweep_served: Served) -> None:
    """Every run with its values of the varying keys and its final metrics; a list and a
    key that is a number here and a string there are categories of text."""
    data = _get(sweep_served, "/api/params?project=sweep")
    assert data["project"] == "sweep"
    assert len(data["runs"]) == len(LEARNING_RATES) * SEEDS
    params = {p["key"]: p for p in data["params"]}
    assert sorted(params) == [
        "learning_rate", "note", "optim.betas", "output_dir", "seed", "warmup",
    ]  # fmt: skip
    assert params["learning_rate"] == {
        "key": "learning_rate", "kind": "number", "values": LEARNING_RATES, "unset": 0,
    }  # fmt: skip
    assert params["seed"]["values"] == list(range(SEEDS))
    assert params["optim.betas"]["kind"] == "category"
    assert params["optim.betas"]["values"] == ["[0.9, 0.999]", "[0.9, 0.99]"]  # as text
    assert params["warmup"] == {
        "key": "warmup", "kind": "category", "values": ["100", "auto"], "unset": 0,
    }  # fmt: skip
    assert params["note"] == {"key": "note", "kind": "category", "values": ["rerun"], "unset": 45}
    assert data["constant"] == 2  # model.name and model.layers
    assert data["metrics"] == ["eval/loss", "train/loss"]
    assert data["metric"] == "eval/loss"
    run = next(r for r in data["runs"] if r["id"] == sweep_served.runs["lr0.0001-s3"])
    assert run["name"] == "lr0.0001-s3"
    assert run["params"] == {
        "learning_rate": 1e-4, "seed": 3, "optim.betas": "[0.9, 0.99]", "warmup": "100",
        "output_dir": "/out/lr0.0001-s3", "note": None,
    }  # fmt: skip
    assert run["final"] == {
        "train/loss": sweep_loss(1e-4, 3, SWEEP_STEPS - 1),
        "eval/loss": sweep_loss(1e-4, 3, 15) / 2,
    }


def test_groups_give_mean_min_and_max_per_step(sweep_served: Served) -> None:
    """Grouped by learning rate: 5 groups of 10 runs, each step the seeds' mean, lowest
    and highest loss, in the key's order."""
    data = _get(sweep_served, "/api/groups?project=sweep&key=learning_rate&metric=train/loss")
    assert (data["key"], data["metric"], data["x"], data["missing"]) == (
        "learning_rate", "train/loss", "step", [],
    )  # fmt: skip
    assert [g["value"] for g in data["groups"]] == LEARNING_RATES
    for group in data["groups"]:
        lr = group["value"]
        assert sorted(group["runs"]) == sorted(
            sweep_served.runs[f"lr{lr:g}-s{s}"] for s in range(SEEDS)
        )
        assert group["steps"] == list(range(SWEEP_STEPS))
        assert group["count"] == [SEEDS] * SWEEP_STEPS
        losses = [[sweep_loss(lr, s, step) for s in range(SEEDS)] for step in range(SWEEP_STEPS)]
        assert group["mean"] == pytest.approx([sum(at) / SEEDS for at in losses])
        assert group["min"] == pytest.approx([min(at) for at in losses])
        assert group["max"] == pytest.approx([max(at) for at in losses])


def test_groups_share_a_downsampled_grid(sweep_served: Served) -> None:
    """With fewer points than steps, each group is on the same grid of equal slices, each
    run's values averaged within a slice first."""
    data = _get(sweep_served, "/api/groups?project=sweep&key=seed&metric=train/loss&points=4")
    assert len(data["groups"]) == SEEDS
    grids = {tuple(g["steps"]) for g in data["groups"]}
    assert grids == {(2.0, 7.0, 12.0, 17.0)}  # 20 steps in 4 slices of 5, at their mean step
    first = data["groups"][0]  # seed 0: the 5 learning rates
    expected = [
        sum(sweep_loss(lr, 0, step) for step in range(5)) / 5 for lr in LEARNING_RATES
    ]  # each run's mean over steps 0-4
    assert first["mean"][0] == pytest.approx(sum(expected) / len(expected))
    assert first["min"][0] == pytest.approx(min(expected))


def test_many_points_are_sliced_in_one_pass(
    sweep_served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_POINTS the grid is found without sorting: steps a slice apart or more
    come back as they are, with the same means."""
    monkeypatch.setattr(groups_module, "EXACT_POINTS", 0)
    data = _get(
        sweep_served, "/api/groups?project=sweep&key=learning_rate&metric=train/loss&points=100"
    )
    for group in data["groups"]:
        assert group["steps"] == list(range(SWEEP_STEPS))
        assert group["mean"][-1] == pytest.approx(
            sum(sweep_loss(group["value"], s, SWEEP_STEPS - 1) for s in range(SEEDS)) / SEEDS
        )


def test_a_list_a_mixed_key_and_a_key_some_runs_lack_group_as_text(sweep_served: Served) -> None:
    """A list value, a key that is a number in some runs and a string in others, and a key
    only some runs set each group as text; the runs without it last, as ``None``."""
    betas = _get(sweep_served, "/api/groups?project=sweep&key=optim.betas&metric=eval/loss")
    assert [(g["value"], len(g["runs"])) for g in betas["groups"]] == [
        ("[0.9, 0.999]", 25), ("[0.9, 0.99]", 25),
    ]  # fmt: skip
    warmup = _get(sweep_served, "/api/groups?project=sweep&key=warmup&metric=eval/loss")
    assert [(g["value"], len(g["runs"])) for g in warmup["groups"]] == [("100", 25), ("auto", 25)]
    assert warmup["groups"][0]["steps"] == [0, 5, 10, 15]
    note = _get(sweep_served, "/api/groups?project=sweep&key=note&metric=eval/loss")
    assert [(g["value"], len(g["runs"])) for g in note["groups"]] == [("rerun", 5), (None, 45)]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/groups?project=sweep&metric=train/loss", 400, "key= names the config key"),
        ("/api/groups?project=sweep&key=seed", 400, "metric= the metric"),
        (
            "/api/groups?project=sweep&key=nope&metric=train/loss",
            404,
            "no run has the config key 'nope'; the runs have: learning_rate, model.layers",
        ),
        ("/api/groups?project=sweep&key=seed&metric=nope", 404, "no run has the metric 'nope'"),
        ("/api/groups?project=nosuch&key=seed&metric=train/loss", 404, "no run has the config"),
        ("/api/groups?project=sweep&key=seed&metric=eval/loss&points=x", 400, "points must be"),
        ("/api/params?status=sleeping", 400, "status must be one of"),
    ],
)
def test_bad_requests_are_answered(
    sweep_served: Served, path: str, status: int, message: str
) -> None:
    """An unknown key or metric, a missing parameter, a bad number: a JSON error."""
    assert message in _get(sweep_served, path, status)["error"]


def test_a_key_set_per_run_is_too_many_groups(
    sweep_served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key with more values than MAX_GROUPS is refused with what to group by instead."""
    monkeypatch.setattr(groups_module, "MAX_GROUPS", 20)
    error = _get(sweep_served, "/api/groups?project=sweep&key=output_dir&metric=eval/loss", 400)
    assert error["error"].startswith("'output_dir' has 50 different values; group by a key")
    ten = _get(sweep_served, "/api/groups?project=sweep&key=seed&metric=eval/loss")
    assert len(ten["groups"]) == SEEDS


def test_an_empty_project_has_no_params(sweep_served: Served) -> None:
    """A project without runs: no runs, no keys, no metric."""
    data = _get(sweep_served, "/api/params?project=nosuch")
    assert (data["runs"], data["params"], data["metric"]) == ([], [], None)


def test_params_of_hostile_configs_are_text(served: Served) -> None:
    """HTML keys and values come back as given; a 100,000-character value is cut to a
    text that ends in a hash of the whole."""
    data = _get(served, "/api/params?project=demo")
    params = {p["key"]: p for p in data["params"]}
    for key in HOSTILE_CONFIG:
        assert params[key]["kind"] == "category"
    hostile = next(r for r in data["runs"] if r["id"] == served.runs["hostile"])
    assert hostile["params"]["<b>key</b>"] == HOSTILE_CONFIG["<b>key</b>"]
    long = hostile["params"]["long"]
    assert long.startswith("x" * groups_module.TEXT_LIMIT + "… #") and len(long) < 250
    assert params["lr"] == {"key": "lr", "kind": "number", "values": [0.1, 0.2], "unset": 1}
    grouped = _get(served, "/api/groups?project=demo&key=long&metric=train/loss")
    assert [len(g["runs"]) for g in grouped["groups"]] == [1, 2]


def test_compare_lists_the_keys_alike(sweep_served: Served) -> None:
    """Two seeds of one learning rate: the differing keys, and those alike with their value."""
    a, b = sweep_served.runs["lr0.001-s1"], sweep_served.runs["lr0.001-s2"]
    data = _get(sweep_served, f"/api/compare?run={a}&run={b}")
    assert [row["key"] for row in data["config"]] == ["optim.betas", "output_dir", "seed"]
    assert data["config_same"] == [
        {"key": "learning_rate", "value": 0.001},
        {"key": "model.layers", "value": 2},
        {"key": "model.name", "value": "tiny"},
        {"key": "warmup", "value": 100},
    ]


def test_groups_of_a_json_lines_store(tmp_path: Path) -> None:
    """The same grouping over a JSON-lines store, read through the store protocol only;
    a metric sampled by time (``system/``) is gathered by the seconds since each start."""
    uri = f"jsonl:///{tmp_path / 'runs'}"
    for seed in range(3):
        with CustomTracker("js", f"s{seed}", config={"lr": 0.1, "seed": seed}, store=uri) as run:
            for step in range(4):
                run.log_metrics({"train/loss": seed + step, "system/load": 1.0}, step=step)
    store = open_store(uri)
    try:
        data = groups_module.group_curves(store, store.runs(), "lr", "train/loss", 100)
        by_time = groups_module.group_curves(store, store.runs(), "seed", "system/load", 100)
    finally:
        store.close()
    (group,) = data["groups"]
    assert (group["value"], group["steps"], group["mean"]) == (0.1, [0, 1, 2, 3], [1, 2, 3, 4])
    assert (group["min"], group["max"], group["count"]) == ([0, 1, 2, 3], [2, 3, 4, 5], [3] * 4)
    assert by_time["x"] == "time" and len(by_time["groups"]) == 3
    for group in by_time["groups"]:  # seconds since each run started, not steps
        assert 0 <= group["steps"][0] <= group["steps"][-1] < 60
        assert set(group["mean"]) == {1.0}
