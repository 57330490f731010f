"""``tracker run -- COMMAND`` with a Trainer the command's code knows nothing of: a script,
``trl sft`` and ``torchrun``; a callback added by hand; an exit code after training."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kit import SCRIPT, SCRIPT_PATH

from tracked_commands import BIN, only_run, tracker_run
from tracker import Store

PY = sys.executable
SCRIPT_ENV = {"PYTHONPATH": SCRIPT_PATH}


Script = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def script(model_dir: Path, data_dir: Path, tmp_path: Path, tracker_dir: Path) -> Script:
    """``script(MODE, [EXIT_CODE], launcher=(python,), **tracker_run options)`` runs
    ``tracker run -- LAUNCHER train_script.py MODE ...`` on the tiny model."""

    def run(*argv: str, launcher: tuple[str | Path, ...] = (PY,), **options: Any) -> Any:
        return tracker_run(
            *launcher, SCRIPT, argv[0], model_dir, data_dir, tmp_path / "out", *argv[1:],
            tracker_dir=tracker_dir, env=SCRIPT_ENV, **options,
        )  # fmt: skip

    return run


def steps(store: Store, run_id: str, key: str = "train/loss") -> list[int]:
    """Every step ``key`` was logged at, in logging order (a step twice shows twice)."""
    return [step for step, _value, _at in store.history(run_id, key, raw=True)]


def test_a_script_with_a_trainer_is_tracked(script: Script, store: Store) -> None:
    """The Trainer gets the callback: config, every step once, the run's options; the
    Trainer's own reporting (its printed logs) carries on beside it."""
    done = script("untracked", options=["--project", "hf", "--tag", "auto"])
    assert "'train_runtime'" in done.stdout
    run = only_run(store)
    assert (run.project, run.tags, run.framework, run.status) == (
        "hf", ["auto"], "transformers", "finished"
    )  # fmt: skip
    assert run.config["args"]["max_steps"] == 4
    assert steps(store, run.run_id) == [1, 2, 3, 4]
    assert run.environment["command"][1:3] == [str(SCRIPT), "untracked"]
    assert run.summary["command/exit_code"] == 0
    assert store.events(run.run_id) == []


def test_a_callback_added_by_hand_makes_one_run(script: Script, store: Store) -> None:
    """A script that adds CustomTrackerCallback itself: that one records, each step once."""
    script("trainer")
    run = only_run(store)
    assert (run.project, run.status) == ("script", "finished")
    assert steps(store, run.run_id) == [1, 2, 3, 4]


def test_an_exit_code_after_training_fails_the_run(script: Script, store: Store) -> None:
    """Training finished, then the script exits with 3: tracker run exits 3, the run failed."""
    script("untracked", "3", returncode=3)
    run = only_run(store)
    assert (run.status, run.error) == ("failed", "the command exited with code 3")
    assert steps(store, run.run_id) == [1, 2, 3, 4]


def test_trl_sft_command(
    model_dir: Path, data_dir: Path, tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """``trl sft`` on a local model folder and JSON dataset is one TRL run."""
    tracker_run(
        BIN / "trl", "sft", "--model_name_or_path", model_dir,
        "--dataset_name", data_dir / "completions", "--output_dir", tmp_path / "out",
        "--max_steps", "4", "--per_device_train_batch_size", "2", "--logging_steps", "1",
        "--max_length", "32", "--report_to", "none", "--save_strategy", "no", "--use_cpu",
        tracker_dir=tracker_dir, options=["--name", "sft-cli"],
    )  # fmt: skip
    run = only_run(store)
    assert (run.name, run.framework, run.status) == ("sft-cli", "trl", "finished")
    assert run.config["trainer"]["trainer_class"] == "trl.trainer.sft_trainer.SFTTrainer"
    assert run.config["args"]["max_length"] == 32
    assert {"train/loss", "train/mean_token_accuracy"} <= set(store.keys(run.run_id))
    assert steps(store, run.run_id) == [1, 2, 3, 4]


def test_torchrun_two_processes_make_one_run(script: Script, store: Store) -> None:
    """``torchrun --nproc_per_node 2`` under tracker run: one run, world size 2, steps once."""
    script("untracked", launcher=(BIN / "torchrun", "--standalone", "--nproc_per_node", "2"))
    run = only_run(store)
    assert (run.status, run.config["trainer"]["world_size"]) == ("finished", 2)
    assert run.environment["world_size"] == 2
    assert steps(store, run.run_id) == [1, 2, 3, 4]
