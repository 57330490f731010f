"""The API the grouped views read, over real tracked runs of a sweep: groups with a
metric's statistics, the config keys that differ with each run's metric, and each group's
curves as one mean/min/max band."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tracked_runs import track
from tracker import open_store
from tracker.ui.api import ApiError, dispatch

LAST = 1.0 / 16  # eval/loss at the last evaluation (step 15), before a run's offset


@pytest.fixture
def sweep(tracker_dir: Path) -> dict[tuple[float, int], str]:
    """Six runs of the sweep ``lr``: learning rates 0.1 and 0.01, seeds 0-2 each (the
    offset of their losses is the seed / 10, plus 1 for lr 0.01); one run outside it."""
    ids = {}
    for lr in (0.1, 0.01):
        for seed in range(3):
            config = {"learning_rate": lr, "seed": seed, "model": "tiny", "layers": [2, 2]}
            ids[lr, seed] = track(f"lr{lr}-s{seed}", config=config, sweep="lr",
                                  offset=seed / 10 + (lr == 0.01))  # fmt: skip
    track("outside", config={"learning_rate": 0.5, "seed": 0})
    return ids


def _get(path: str, **query: Any) -> Any:
    store = open_store()
    try:
        params = {k: v if isinstance(v, list) else [str(v)] for k, v in query.items()}
        return json.loads(json.dumps(dispatch(store, path, params)))
    finally:
        store.close()


def test_groups_of_a_sweep_carry_count_mean_min_max(sweep: dict[Any, str]) -> None:
    """/api/groups?by=config.learning_rate&metric=eval/loss&sweep=lr: one group per rate."""
    found = _get("/api/groups", by="config.learning_rate", metric="eval/loss", sweep="lr")
    assert (found["by"], found["metric"]) == ("config.learning_rate", "eval/loss")
    (low, high) = found["groups"]
    assert (low["value"], low["count"], high["value"], high["count"]) == (0.01, 3, 0.1, 3)
    assert sorted(high["run_ids"]) == sorted(sweep[0.1, s] for s in range(3))
    assert high["min"] == pytest.approx(LAST) and high["max"] == pytest.approx(LAST + 0.2)
    assert high["mean"] == pytest.approx(LAST + 0.1)
    assert low["mean"] == pytest.approx(LAST + 1.1)


def test_config_diff_names_the_keys_that_differ_with_each_runs_metric(
    sweep: dict[Any, str],
) -> None:
    """/api/config-diff: only learning_rate and seed differ; each run's eval/loss beside."""
    found = _get("/api/config-diff", sweep="lr", metric="eval/loss")
    assert [row["key"] for row in found["config"]] == ["learning_rate", "seed"]
    assert len(found["runs"]) == 6 and {r["sweep"] for r in found["runs"]} == {"lr"}
    by_id = dict(zip([r["id"] for r in found["runs"]], found["metric"]["values"], strict=True))
    assert by_id[sweep[0.1, 2]] == pytest.approx(LAST + 0.2)
    named = _get("/api/config-diff", run=[sweep[0.1, 0], sweep[0.1, 1]])
    assert [row["key"] for row in named["config"]] == ["seed"] and named["metric"] is None


def test_group_curves_are_a_mean_band_per_group(sweep: dict[Any, str]) -> None:
    """/api/group-curves?by=config.learning_rate&key=train/loss: per group, at each step,
    the mean, lowest and highest of its three seeds."""
    found = _get("/api/group-curves", by="config.learning_rate", key="train/loss", sweep="lr")
    (low, high) = found["groups"]
    assert (low["value"], high["value"], high["runs"]) == (0.01, 0.1, 3)
    assert high["steps"] == list(range(20)) and high["counts"] == [3] * 20
    assert high["mean"][0] == pytest.approx(2.0 + 0.1) and high["min"][0] == pytest.approx(2.0)
    assert high["max"][19] == pytest.approx(2.0 / 20 + 0.2)
    thin = _get("/api/group-curves", by="sweep", key="train/loss", sweep="lr", points=5)
    assert [len(g["steps"]) for g in thin["groups"]] == [5]


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/api/groups", {}, "by= names"),
        ("/api/groups", {"by": "learning_rate"}, "config.learning_rate"),
        ("/api/group-curves", {"by": "sweep"}, "key= names"),
        ("/api/config-diff", {"run": "nope"}, "nope"),
    ],
)
def test_bad_requests_say_what_to_send(
    sweep: dict[Any, str], path: str, query: dict[str, str], message: str
) -> None:
    """A missing or bad parameter, or an unknown run, is an ApiError naming the fix."""
    with pytest.raises(ApiError, match=message) as raised:
        _get(path, **query)
    assert raised.value.status in (400, 404)
