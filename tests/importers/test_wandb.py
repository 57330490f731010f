"""``tracker import wandb``: offline runs written by wandb itself (WANDB_MODE=offline)."""

from __future__ import annotations

from pathlib import Path

from checks import counts, expected, only_run, points, same

from conftest import Produce
from tracked_runs import Cli
from tracker.store import Store


def test_offline_runs_import_with_config_history_summary_and_system(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """Config, tags, summary, every history point (NaN and inf kept) at its step, status;
    a second import adds nothing."""
    produce("wandb", tmp_path, "first", 6)
    produce("wandb", tmp_path, "second", 3)
    result = cli("import", "wandb", str(tmp_path / "wandb"))
    assert result.code == 0, result.err
    run = only_run(store, "wandb", "first")
    assert run.project == "wproj" and run.status == "finished" and run.tags == ["baseline"]
    assert run.config == {"lr": 0.1, "optimizer": "adam"}
    assert run.summary["best"] == 0.9 and "_step" not in run.summary
    for key, want in expected(6).items():
        assert same(points(store, run, key), want), key
    assert 0 < run.started_at <= (run.ended_at or 0)
    before = counts(store)
    again = cli("import", "wandb", str(tmp_path / "wandb"))
    assert again.code == 0 and "0 written" in again.out
    assert counts(store) == before


def test_a_damaged_log_keeps_its_points_and_the_other_runs(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """A .wandb log cut short: its run is imported up to the cut (status crashed: no exit
    record), the report says where it stopped, the other run whole; a file that is no
    record log is skipped with the reason."""
    produce("wandb", tmp_path, "cut", 200)
    produce("wandb", tmp_path, "whole", 3)
    (log,) = [p for p in (tmp_path / "wandb").rglob("*.wandb") if _name_of(p) == "cut"]
    with log.open("r+b") as handle:
        handle.truncate(log.stat().st_size * 2 // 3)
    (tmp_path / "wandb" / "junk.wandb").write_bytes(b"nothing of W&B")
    result = cli("import", "wandb", str(tmp_path / "wandb"))
    assert result.code == 0, result.err
    assert "cut short" in result.err and "not a W&B record log" in result.err
    assert "; 1 skipped, 1 read up to damage" in result.out  # the junk; the cut one imported
    assert "read up to damage cut" in result.err and "skipped cut" not in result.err
    cut = only_run(store, "wandb", "cut")
    loss = points(store, cut, "train/loss")
    assert 0 < len(loss) < 200 and same(loss, expected(200)["train/loss"][: len(loss)])
    assert cut.status == "crashed"
    assert len(points(store, only_run(store, "wandb", "whole"), "train/loss")) == 3


def _name_of(log: Path) -> str:
    from tracker.importers.wandb import _peek

    return str(_peek(log).display_name)


def test_a_metric_that_is_sometimes_text_keeps_its_numbers_once(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """Text values of a metric are skipped and said; imported again, its numbers are
    neither lost nor doubled."""
    produce("wandb", tmp_path, "mixed", 6, "0", "--mixed")
    first = cli("import", "wandb", str(tmp_path / "wandb"))
    assert first.code == 0 and "values that are not numbers" in first.err
    run = only_run(store, "wandb", "mixed")
    want = [(0, 0.0), (2, 2.0), (4, 4.0)]
    assert points(store, run, "train/mixed") == want
    assert cli("import", "wandb", str(tmp_path / "wandb")).code == 0
    assert points(store, run, "train/mixed") == want
