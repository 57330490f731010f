"""`tracker export`: every point, streamed, as CSV, JSON lines or Parquet."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from tracked_runs import Cli, track
from tracker import open_store
from tracker.store.base import HISTORY_CHUNK


def test_csv_has_every_point_of_every_metric(cli: Cli, runs: dict[str, str]) -> None:
    """One row per stored point, with key, step, value and time."""
    result = cli("export", "alpha")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == 20 + 20 + 4  # train/loss, train/learning_rate, eval/loss
    loss = [r for r in rows if r["key"] == "train/loss"]
    assert [int(r["step"]) for r in loss] == list(range(20))
    assert float(loss[-1]["value"]) == 0.1


def test_a_long_metric_is_exported_across_chunks(cli: Cli, tracker_dir: Path) -> None:
    """More points than one chunk holds all come out, in step order."""
    n = HISTORY_CHUNK + 10
    run_id = track("long", steps=n)
    result = cli("export", run_id, "--metric", "train/loss", "--format", "jsonl")
    lines = result.out.splitlines()
    assert len(lines) == n
    assert [json.loads(line)["step"] for line in lines[-3:]] == [n - 3, n - 2, n - 1]


def test_jsonl_names_non_finite_values(cli: Cli, tracker_dir: Path) -> None:
    """NaN and infinity become "NaN" and "Infinity" so every line is strict JSON."""
    track("odd", extra={"train/odd": [float("nan"), float("inf"), 1.5]})
    out = cli("export", "odd", "--format", "jsonl", "--metric", "train/odd").out
    values = [json.loads(line)["value"] for line in out.splitlines()]
    assert values == ["NaN", "Infinity", 1.5]


def test_export_to_a_file_reports_the_count(cli: Cli, runs: dict[str, str], tmp_path: Path) -> None:
    """-o writes the file and says on stderr how many points it holds."""
    target = tmp_path / "alpha.csv"
    result = cli("export", "alpha", "-o", str(target))
    assert result.code == 0
    assert "wrote 44 points of 3 metrics" in result.err
    assert target.read_text().startswith("key,step,value,time\n")


def test_parquet_round_trips(cli: Cli, runs: dict[str, str], tmp_path: Path) -> None:
    """A Parquet export reads back with the same points."""
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "alpha.parquet"
    assert cli("export", "alpha", "--format", "parquet", "-o", str(target)).code == 0
    table = pq.read_table(target)
    assert table.num_rows == 44
    assert table.column_names == ["key", "step", "value", "time"]
    store = open_store()
    expected = [v for _, v, _ in store.history(runs["alpha"], "eval/loss")]
    rows = table.to_pylist()
    assert [r["value"] for r in rows if r["key"] == "eval/loss"] == expected


def test_parquet_without_pyarrow_names_the_install(
    cli: Cli, runs: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyarrow the error says to pip install pyarrow."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = cli("export", "alpha", "--format", "parquet", "-o", str(tmp_path / "x.parquet"))
    assert result.code == 1
    assert result.err.strip() == (
        "tracker export: error: exporting parquet needs pyarrow: pip install pyarrow"
    )


def test_parquet_needs_a_file_and_metrics_must_exist(cli: Cli, runs: dict[str, str]) -> None:
    """Binary output is refused on stdout; an unknown metric lists the known ones."""
    assert "write it to a file with -o PATH" in cli("export", "alpha", "--format", "parquet").err
    result = cli("export", "alpha", "--metric", "nope")
    assert result.code == 1
    assert "has no metric 'nope'" in result.err and "train/loss" in result.err
