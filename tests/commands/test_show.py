"""`tracker show`: one run in full, named by id, id prefix or name."""

from __future__ import annotations

import json

from tracked_runs import Cli, track


def test_show_prints_config_tree_metrics_and_events(cli: Cli, runs: dict[str, str]) -> None:
    """The config is an indented tree; each metric has its last value and range."""
    result = cli("show", "alpha")
    assert result.code == 0, result.err
    out = result.out
    assert out.splitlines()[0] == f"alpha  ({runs['alpha']})"
    assert "  model:\n    name: tiny\n    layers: 2\n" in out
    metric = next(line for line in out.splitlines() if line.startswith("train/loss"))
    assert metric.split() == ["train/loss", "0.1", "19", "0.1", "2", "20"]
    assert "checkpoint" in out and "/ckpt/alpha" in out
    assert "train/runtime: 1.5" in out
    assert "Environment" in out


def test_runs_are_found_by_id_prefix_and_name(cli: Cli, runs: dict[str, str]) -> None:
    """A full id, a unique start of an id, and a name all name the same run."""
    run_id = runs["beta"]
    for ref in (run_id, run_id[:7], "beta"):
        detail = json.loads(cli("show", ref, "--json").out)
        assert detail["id"] == run_id


def test_json_has_config_metrics_and_events(cli: Cli, runs: dict[str, str]) -> None:
    """--json carries the whole run, failure reason included."""
    detail = json.loads(cli("show", "gamma", "--json").out)
    assert detail["status"] == "failed"
    assert detail["error"] == "boom"
    assert detail["config"] == {"lr": 0.1}
    assert detail["metrics"]["train/loss"]["count"] == 20
    assert detail["events"][0]["kind"] == "checkpoint"


def test_an_ambiguous_name_lists_the_candidates(cli: Cli, tracker_dir: object) -> None:
    """Two runs of one name: exit 1, one line naming both ids, no traceback."""
    first, second = track("twin"), track("twin")
    result = cli("show", "twin")
    assert result.code == 1
    assert result.out == ""
    assert len(result.err.splitlines()) == 1
    assert first in result.err and second in result.err
    assert "Traceback" not in result.err


def test_an_unknown_run_is_one_line_on_stderr(cli: Cli, runs: dict[str, str]) -> None:
    """A name that matches nothing fails with exit 1 and a one-line message."""
    result = cli("show", "no-such-run")
    assert result.code == 1
    assert result.err.startswith("tracker show: error: no run has the id, id prefix or name")
    assert len(result.err.splitlines()) == 1


def test_nan_metrics_show_in_json_as_strings(cli: Cli, tracker_dir: object) -> None:
    """JSON has no NaN: non-finite values are written as "NaN" / "Infinity"."""
    track("odd", extra={"train/odd": [float("nan"), float("inf")]})
    detail = json.loads(cli("show", "odd", "--json").out)
    odd = detail["metrics"]["train/odd"]
    assert odd["last_value"] == "Infinity"
    assert odd["count"] == 2


def test_a_runs_sweep_is_shown(cli: Cli, tracker_dir: object) -> None:
    """A run of a sweep shows the sweep under its header; --json carries it."""
    track("trial", sweep="lr-search")
    assert "sweep: lr-search" in cli("show", "trial").out.splitlines()[3]
    assert json.loads(cli("show", "trial", "--json").out)["sweep"] == "lr-search"
