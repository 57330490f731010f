"""``tracker run -- tune run``: the recipe's configured metric logger keeps writing, and
what the recipe logs reaches the run too."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torchtune")

from test_torchtune_logger import (
    OURS,
    RECIPE_KEYS,
    TUNE,
    assert_config_resolved,
    assert_steps,
    tune,
)

import tracked_commands
from assets import patch_recipe_for_cpu
from tracker import Store


def tune_run(config: Path, out: Path, *overrides: str, tracker_dir: Path) -> None:
    """``tracker run --project tt-run -- tune run full_finetune_single_device`` on the CPU."""
    tracked_commands.tracker_run(
        TUNE, "run", "full_finetune_single_device", "--config", config,
        f"output_dir={out}", "clip_grad_norm=1.0", *overrides,
        tracker_dir=tracker_dir, options=["--project", "tt-run"], cwd=out.parent,
    )  # fmt: skip


def test_the_recipes_own_logger_and_the_run_both_get_every_step(
    assets: dict[str, Path], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """With the config's DiskLogger: one run with the resolved config and each step once,
    and DiskLogger's file still holds every step."""
    out = tmp_path / "out"
    tune_run(assets["full_config"], out, tracker_dir=tracker_dir)
    run = tracked_commands.only_run(store)
    assert (run.project, run.framework, run.status) == ("tt-run", "torchtune", "finished")
    assert_config_resolved(run, out)
    assert_steps(store, run, RECIPE_KEYS, [1, 2, 3])
    (disk_log,) = (out / "logs").glob("log_*.txt")
    assert [line.split()[1] for line in disk_log.read_text().splitlines()] == ["1", "2", "3"]


def test_a_logger_of_ours_in_the_config_makes_one_run(
    assets: dict[str, Path], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """metric_logger._component_ set to CustomTrackerLogger: that one records, each step once."""
    tune_run(assets["full_config"], tmp_path / "out", OURS, tracker_dir=tracker_dir)
    run = tracked_commands.only_run(store)
    assert (run.project, run.status) == ("tt-run", "finished")
    assert_steps(store, run, RECIPE_KEYS, [1, 2, 3])


@pytest.mark.slow
def test_a_two_rank_tune_run_under_tracker_run_is_one_run(
    assets: dict[str, Path], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """``tracker run -- tune run --nproc_per_node 2`` (torchtune's own torchrun launch, the
    config's DiskLogger kept): one run across both ranks, each step once."""
    recipe = tmp_path / "full_finetune_distributed_cpu.py"
    tune("cp", "full_finetune_distributed", str(recipe), cwd=tmp_path)
    patch_recipe_for_cpu(recipe)
    out = tmp_path / "out"
    tracked_commands.tracker_run(
        TUNE, "run", "--nproc_per_node", "2", recipe.name, "--config", assets["full_config"],
        f"output_dir={out}", "clip_grad_norm=1.0",
        tracker_dir=tracker_dir, options=["--project", "tt-run-ddp"], cwd=tmp_path,
    )  # fmt: skip
    run = tracked_commands.only_run(store)
    assert (run.project, run.status, run.environment["world_size"]) == ("tt-run-ddp", "finished", 2)
    assert_steps(store, run, RECIPE_KEYS, [1, 2, 3])
