"""`CustomTrackerCallback` with TRL's SFT, DPO and GRPO trainers: TRL's own metric keys
land under the train/eval naming scheme, and the run's framework is ``trl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kit import training_args

from tracker.integrations.transformers import CustomTrackerCallback

trl = pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")


def load_json(path: Path) -> Any:
    return datasets.load_dataset("json", data_files=str(path), split="train")


def finished_run(store: Any) -> Any:
    (run,) = store.runs()
    assert (run.status, run.framework) == ("finished", "trl")
    return run


def test_sft_trainer(model_dir: Path, data_dir: Path, tmp_path: Path, store: Any) -> None:
    """SFTTrainer's loss, token accuracy and config (SFTConfig) are recorded."""
    data = datasets.load_dataset(str(data_dir / "completions"), split="train")
    trainer = trl.SFTTrainer(
        model=str(model_dir),
        args=trl.SFTConfig(**training_args(tmp_path, max_steps=2), max_length=32),
        train_dataset=data,
        callbacks=[CustomTrackerCallback(project="trl")],
    )
    trainer.train()

    run = finished_run(store)
    assert run.config["trainer"]["trainer_class"] == "trl.trainer.sft_trainer.SFTTrainer"
    assert run.config["args"]["max_length"] == 32
    keys = set(store.keys(run.run_id))
    assert {"train/loss", "train/mean_token_accuracy"} <= keys
    assert [s for s, _v, _t in store.history(run.run_id, "train/loss")] == [1, 2]


def test_dpo_trainer(model_dir: Path, data_dir: Path, tmp_path: Path, store: Any) -> None:
    """DPOTrainer's rewards and log-probabilities keep their names under train/ and eval/."""
    data = load_json(data_dir / "pref.json")
    trainer = trl.DPOTrainer(
        model=str(model_dir),
        args=trl.DPOConfig(
            **training_args(tmp_path, max_steps=2, eval_strategy="steps", eval_steps=2),
            max_length=32,
        ),
        train_dataset=data,
        eval_dataset=data.select(range(4)),
        callbacks=[CustomTrackerCallback()],
    )
    trainer.train()

    run = finished_run(store)
    keys = set(store.keys(run.run_id))
    assert {"train/loss", "train/rewards/chosen", "train/rewards/margins"} <= keys
    assert {"eval/loss", "eval/rewards/chosen"} <= keys
    assert [s for s, _v, _t in store.history(run.run_id, "eval/rewards/chosen")] == [2]


def digit_share(completions: list[str], **_: Any) -> list[float]:
    """Toy reward: the share of digits in each completion."""
    return [sum(ch.isdigit() for ch in c) / max(len(c), 1) for c in completions]


def abstains(completions: list[str], **_: Any) -> list[float | None]:
    """A reward function with no opinion on any sample: GRPO logs None for its mean/std."""
    return [None] * len(completions)


def test_grpo_trainer_with_none_rewards(
    model_dir: Path, data_dir: Path, tmp_path: Path, store: Any
) -> None:
    """GRPO's reward curves land; the None it logs for an abstaining reward is skipped."""
    trainer = trl.GRPOTrainer(
        model=str(model_dir),
        reward_funcs=[digit_share, abstains],
        args=trl.GRPOConfig(
            **training_args(tmp_path, max_steps=2),
            num_generations=2,
            max_completion_length=4,
        ),
        train_dataset=load_json(data_dir / "prompts.json"),
        callbacks=[CustomTrackerCallback()],
    )
    trainer.train()

    run = finished_run(store)
    keys = set(store.keys(run.run_id))
    assert {"train/reward", "train/reward_std", "train/rewards/digit_share/mean"} <= keys
    assert "train/completions/mean_length" in keys
    assert not {"train/rewards/abstains/mean", "train/rewards/abstains/std"} & keys
    assert [s for s, _v, _t in store.history(run.run_id, "train/reward", raw=True)] == [1, 2]
