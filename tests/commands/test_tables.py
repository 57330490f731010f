"""``tracker show --table`` and ``tracker export --table``: a run's table read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracked_runs import Cli
from tracker import CustomTracker


@pytest.fixture
def completions(tracker_dir: Path) -> str:
    """A run with the table train/completions at steps 100 and 200, two rows each."""
    with CustomTracker(project="demo", run_name="grpo") as run:
        for step in (100, 200):
            run.log_metrics({"train/loss": 1.0}, step=step)
            run.log_table(
                "train/completions",
                [
                    {
                        "prompt": f"p{step}",
                        "completion": "line one\nline two " + "x" * 200,
                        "reward": 0.5,
                    },
                    {"prompt": "\x1b[31mred", "completion": "ok", "reward": None},
                ],
            )
    assert run.run_id is not None
    return run.run_id


def test_show_lists_tables_and_prints_a_step(completions: str, cli: Cli) -> None:
    """show names the tables; --table prints the last step's rows, folded and escaped."""
    overview = cli("show", "grpo")
    assert overview.code == 0 and "train/completions" in overview.out
    shown = cli("show", "grpo", "--table", "train/completions")
    assert shown.code == 0, shown.err
    assert "at step 200" in shown.out and "p200" in shown.out and "p100" not in shown.out
    assert "\x1b" not in shown.out and "\\x1b[31mred" in shown.out
    assert "line one line two" in shown.out and "…" in shown.out
    earlier = cli("show", "grpo", "--table", "train/completions", "--step", "100", "--json")
    assert [r["prompt"] for r in json.loads(earlier.out)] == ["p100", "\x1b[31mred"]


def test_show_a_missing_table_or_step_says_what_exists(completions: str, cli: Cli) -> None:
    """A wrong table or step is one line naming what the run has."""
    missing = cli("show", "grpo", "--table", "eval/nothing")
    assert missing.code == 1 and "it has: train/completions" in missing.err
    wrong = cli("show", "grpo", "--table", "train/completions", "--step", "7")
    assert wrong.code == 1 and "its steps: 100, 200" in wrong.err


def test_export_a_table_as_jsonl_csv_and_parquet(
    completions: str, cli: Cli, tmp_path: Path
) -> None:
    """Every row of every step, with its step; parquet keeps numbers as numbers."""
    out = cli("export", "grpo", "--table", "train/completions", "--format", "jsonl")
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert [(r["step"], r["prompt"]) for r in rows][:3] == [
        (100, "p100"),
        (100, "\x1b[31mred"),
        (200, "p200"),
    ]
    csv_out = cli("export", "grpo", "--table", "train/completions", "--step", "200")
    assert csv_out.out.splitlines()[0] == "step,prompt,completion,reward"
    parquet = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "c.parquet"
    done = cli(
        "export", "grpo", "--table", "train/completions", "--format", "parquet", "-o", str(path)
    )
    assert done.code == 0, done.err
    table = parquet.read_table(path)
    assert table.num_rows == 4 and str(table.schema.field("reward").type) == "double"
