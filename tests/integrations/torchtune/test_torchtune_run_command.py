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
    config's DiskLogger kept): one run across both ranks, each step once, the epoch rank 0
    saved one checkpoint version."""
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
    saved = store.artifacts(run_id=run.run_id, kind="checkpoint")
    assert [(a.uri, a.step, a.state) for a in saved] == [(str(out / "epoch_0"), 3, "present")]


def test_the_checkpointers_epochs_and_base_model_are_the_runs_artifacts(
    assets: dict[str, Path], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """Two epochs under ``tracker run``: ``epoch_0`` and ``epoch_1`` are hashed ``checkpoint``
    versions at the steps they were saved (3, 6) with the loss then; the config's
    ``checkpoint_dir`` is the run's base model input."""
    out = tmp_path / "out"
    tune_run(assets["full_config"], out, "epochs=2", tracker_dir=tracker_dir)
    run = tracked_commands.only_run(store)
    saved = store.artifacts(run_id=run.run_id, kind="checkpoint")
    assert [(a.uri, a.step, a.state, a.meta["epoch"]) for a in saved] == [
        (str(out / "epoch_0"), 3, "present", 0),
        (str(out / "epoch_1"), 6, "present", 1),
    ]
    assert all(a.digest and a.size and "train/loss" in a.metrics for a in saved)
    (base,) = store.lineage(run.run_id).inputs
    assert (base.kind, base.uri, base.state) == (
        "model", str(assets["checkpoint"].parent), "present"
    )  # fmt: skip
    assert base.digest is not None


def test_a_run_from_another_runs_epoch_is_linked_to_it(
    assets: dict[str, Path], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """A second ``tune run`` whose ``checkpoint_dir`` is the first run's ``epoch_0``: the
    lineage of the first shows the second as a consumer, that of the second the first's
    checkpoint as its source."""
    first_out = tmp_path / "first"
    tune_run(assets["full_config"], first_out, tracker_dir=tracker_dir)
    (first,) = store.runs()
    epoch = first_out / "epoch_0"
    second_out = tmp_path / "second"
    tune_run(
        assets["full_config"], second_out, f"checkpointer.checkpoint_dir={epoch}",
        "checkpointer.checkpoint_files=[model-00001-of-00001.bin]", tracker_dir=tracker_dir,
    )  # fmt: skip
    second = next(r for r in store.runs() if r.run_id != first.run_id)
    (source,) = store.lineage(second.run_id).sources
    assert (source.run_id, source.uri) == (first.run_id, str(epoch))
    (consumer,) = store.lineage(first.run_id).consumers
    assert consumer.run_id == second.run_id
