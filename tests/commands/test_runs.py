"""`tracker runs`: the table of runs, its filters and its JSON."""

from __future__ import annotations

import io
import json
import sys

import pytest

from tracked_runs import Cli, track
from tracker import CustomTracker
from tracker.cli import main


def test_table_lists_runs_newest_first_with_final_losses(cli: Cli, runs: dict[str, str]) -> None:
    """Every run is a row, newest first, with its status, last step and final losses."""
    result = cli("runs")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split()[:5] == ["ID", "PROJECT", "NAME", "FRAMEWORK", "STATUS"]
    names = [line.split()[2] for line in lines[1:]]
    assert names == ["gamma", "beta", "alpha"]
    alpha = lines[3].split()
    assert alpha[0] == runs["alpha"]
    assert alpha[4] == "finished"
    assert alpha[-3:] == ["19", "0.1", "0.0625"]  # last step, train loss 2/20, eval 1/16


def test_filters_narrow_the_table(cli: Cli, runs: dict[str, str]) -> None:
    """--project, --status, --tag, --framework and --name each keep only matching runs."""

    def names(*args: str) -> list[str]:
        return [row["name"] for row in json.loads(cli("runs", "--json", *args).out)]

    assert names("--project", "demo") == ["beta", "alpha"]
    assert names("--status", "failed") == ["gamma"]
    assert names("--tag", "sweep") == ["beta"]
    assert names("--framework", "torchtune") == ["gamma"]
    assert names("--name", "ALP") == ["alpha"]
    assert names("--limit", "1") == ["gamma"]


def test_json_rows_carry_the_run_fields(cli: Cli, runs: dict[str, str]) -> None:
    """--json prints one object per run with ids, status, step and losses as numbers."""
    rows = json.loads(cli("runs", "--json").out)
    beta = next(r for r in rows if r["name"] == "beta")
    assert beta["id"] == runs["beta"]
    assert beta["status"] == "finished"
    assert beta["tags"] == ["sweep"]
    assert beta["step"] == 19
    assert beta["train_loss"] == 2.0 / 20 + 0.5


def test_json_is_one_line_piped_and_indented_on_a_terminal(
    cli: Cli, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piped, --json is one line (the standard library's C encoder); on a terminal it is
    indented for a person; both the same value."""
    piped = cli("runs", "--json").out
    assert piped.count("\n") == 1 and [r["name"] for r in json.loads(piped)][1] == "beta"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["runs", "--json"]) == 0
    assert out.getvalue().startswith('[\n  {\n    "id": ')
    assert json.loads(out.getvalue()) == json.loads(piped)


def test_piped_output_is_plain_and_color_can_be_forced(cli: Cli, runs: dict[str, str]) -> None:
    """Without a terminal there are no escape codes; --color always adds them."""
    assert "\x1b[" not in cli("runs").out
    assert "\x1b[32mfinished\x1b[0m" in cli("runs", "--color", "always").out


def test_control_characters_in_names_are_escaped(cli: Cli, tracker_dir: object) -> None:
    """A run name holding a terminal escape sequence is shown escaped, never sent raw."""
    track("evil\x1b[2Jname")
    out = cli("runs").out
    assert "\x1b" not in out
    assert "evil\\x1b[2Jname" in out


def test_an_empty_store_prints_only_the_header(cli: Cli, tracker_dir: object) -> None:
    """No runs yet is not an error."""
    result = cli("runs")
    assert result.code == 0
    assert result.out.splitlines()[0].startswith("ID")
    assert len(result.out.splitlines()) == 1


def test_sweep_keeps_the_runs_of_one_sweep(cli: Cli, tracker_dir: object) -> None:
    """--sweep NAME lists only that sweep's runs; --json rows carry the sweep."""
    track("one", sweep="lr")
    track("lone")
    track("two", sweep="lr")
    rows = json.loads(cli("runs", "--json", "--sweep", "lr").out)
    assert [(r["name"], r["sweep"]) for r in rows] == [("two", "lr"), ("one", "lr")]
    assert cli("runs", "--sweep", "other").out.splitlines()[1:] == []


def test_group_by_prints_each_groups_count_mean_min_and_max(cli: Cli, tracker_dir: object) -> None:
    """--group-by config.learning_rate --metric eval/loss: a line per value, numbers in
    order, runs without the key last; --json carries the same with run ids."""
    ids = {}
    for name, lr, offset in [("a", 0.1, 0.0), ("b", 0.01, 0.5), ("c", 0.1, 1.0), ("d", None, 2.0)]:
        config = {"learning_rate": lr} if lr is not None else {"other": 1}
        ids[name] = track(name, config=config, offset=offset, sweep="lr")
    track("outside", config={"learning_rate": 0.1}, offset=9.0)
    result = cli("runs", "--sweep", "lr", "--group-by", "config.learning_rate", "--metric",
                 "eval/loss")  # fmt: skip
    assert result.code == 0, result.err
    lines = [line.split() for line in result.out.splitlines()]
    assert lines[0] == ["CONFIG.LEARNING_RATE", "RUNS", "EVAL/LOSS", "MEAN", "MIN", "MAX"]
    last = 1.0 / 16  # eval/loss at step 15, plus each run's offset
    assert lines[1] == ["0.01", "1", f"{last + 0.5:.4g}", f"{last + 0.5:.4g}", f"{last + 0.5:.4g}"]
    assert lines[2] == ["0.1", "2", f"{last + 0.5:.4g}", f"{last:.4g}", f"{last + 1:.4g}"]
    assert lines[3] == ["-", "1", f"{last + 2:.4g}", f"{last + 2:.4g}", f"{last + 2:.4g}"]
    groups = json.loads(cli("runs", "--sweep", "lr", "--group-by", "config.learning_rate",
                            "--metric", "eval/loss", "--json").out)  # fmt: skip
    assert [(g["value"], g["count"]) for g in groups] == [(0.01, 1), (0.1, 2), (None, 1)]
    assert sorted(groups[1]["run_ids"]) == sorted([ids["a"], ids["c"]])
    assert groups[1]["mean"] == last + 0.5 and groups[1]["metric"] == "eval/loss"


def test_group_by_a_metric_no_run_has_says_which_they_have(cli: Cli, tracker_dir: object) -> None:
    """--metric eval/los (a typo): one line naming the metrics the runs have, as
    ``tf.history`` says it, and exit status 1, not a table of ``-``; a number of the
    summary is a metric too."""
    track("a", config={"learning_rate": 0.1}, sweep="lr")
    typo = cli("runs", "--sweep", "lr", "--group-by", "config.learning_rate", "--metric",
               "eval/los")  # fmt: skip
    assert typo.code == 1 and typo.out == ""
    (line,) = typo.err.splitlines()
    assert "no run of 1 has the metric(s) 'eval/los'; their metrics are: 'eval/loss'" in line
    with CustomTracker("demo", "s", sweep="lr") as run:
        run.log_summary({"trial/value": 0.5})
    summary = cli("runs", "--sweep", "lr", "--group-by", "sweep", "--metric", "trial/value")
    assert summary.code == 0 and "0.5" in summary.out


def test_group_by_without_a_metric_counts_and_bad_fields_say_what_works(
    cli: Cli, runs: dict[str, str]
) -> None:
    """Without --metric a group is its count; a field that cannot group, or --metric
    alone, is one line naming what to write."""
    lines = [line.split() for line in cli("runs", "--group-by", "project").out.splitlines()]
    assert lines == [["PROJECT", "RUNS"], ["demo", "2"], ["other", "1"]]
    bad = cli("runs", "--group-by", "learning_rate")
    assert bad.code == 1 and "config.learning_rate" in bad.err and "\n" not in bad.err.strip()
    alone = cli("runs", "--metric", "eval/loss")
    assert alone.code == 1 and "--group-by" in alone.err
