"""`tracker compare`: config differences and final/best metrics side by side."""

from __future__ import annotations

import json

from tracked_runs import Cli


def test_compare_shows_only_differing_config(cli: Cli, runs: dict[str, str]) -> None:
    """Keys equal in both runs are left out; differing ones show each run's value."""
    result = cli("compare", "alpha", "beta")
    assert result.code == 0, result.err
    rows = {line.split()[0]: line.split()[1:] for line in result.out.splitlines() if line}
    assert rows["lr"] == ["0.1", "0.2"]
    assert rows["model.layers"] == ["2", "4"]
    assert "model.name" not in rows


def test_compare_json_has_final_and_best_metrics(cli: Cli, runs: dict[str, str]) -> None:
    """Final is the last value, best the minimum for losses."""
    data = json.loads(cli("compare", "alpha", runs["beta"], "--json").out)
    assert [r["name"] for r in data["runs"]] == ["alpha", "beta"]
    assert {row["key"] for row in data["config"]} == {"lr", "model.layers"}
    loss = next(row for row in data["metrics"] if row["key"] == "train/loss")
    assert loss["final"] == [0.1, 0.6]
    assert loss["best"] == [0.1, 0.6]


def test_compare_needs_two_distinct_runs(cli: Cli, runs: dict[str, str]) -> None:
    """One run, or the same run twice, is a usage error on one line."""
    assert cli("compare", "alpha").code == 1
    twice = cli("compare", "alpha", runs["alpha"])
    assert twice.code == 1
    assert "the same run is named twice" in twice.err
