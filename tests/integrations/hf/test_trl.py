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


def test_sft_evaluation_token_counts_stay_in_eval(
    model_dir: Path, data_dir: Path, tmp_path: Path, store: Any
) -> None:
    """SFTTrainer with evaluation: eval_num_tokens is eval/, the training token count has
    one point per step, and tokens/s is never computed from a repeated count (no 0.0)."""
    data = datasets.load_dataset(str(data_dir / "completions"), split="train")
    trainer = trl.SFTTrainer(
        model=str(model_dir),
        args=trl.SFTConfig(
            **training_args(tmp_path, max_steps=4, eval_strategy="steps", eval_steps=2),
            max_length=32,
        ),
        train_dataset=data,
        eval_dataset=data.select(range(4)),
        callbacks=[CustomTrackerCallback(project="trl")],
    )
    trainer.train()

    run = finished_run(store)
    tokens = store.history(run.run_id, "train/num_input_tokens_seen", raw=True)
    steps = [s for s, _v, _t in tokens]
    assert steps == sorted(set(steps)), f"one training token count per step, got {steps}"
    assert [s for s, _v, _t in store.history(run.run_id, "eval/num_input_tokens_seen")] == [2, 4]
    rates = store.history(run.run_id, "train/tokens_per_second", raw=True)
    assert rates and all(v > 0 for _s, v, _t in rates)


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


def with_extra(completions: list[str], log_extra: Any = None, **_: Any) -> list[float]:
    """A reward function that also adds a column to the completions table."""
    if log_extra is not None:
        log_extra("length", [len(c) for c in completions])
    return [0.5] * len(completions)


def test_grpo_completions_table(
    model_dir: Path, data_dir: Path, tmp_path: Path, store: Any
) -> None:
    """log_completions=True: every logging step's completions are the table
    train/completions with a column per reward function (None where it abstains), the
    advantage and log_extra's column; the whole history is kept, no wandb needed."""
    trainer = trl.GRPOTrainer(
        model=str(model_dir),
        reward_funcs=[digit_share, abstains, with_extra],
        args=trl.GRPOConfig(
            **training_args(tmp_path, max_steps=2),
            num_generations=2,
            max_completion_length=4,
            log_completions=True,
        ),
        train_dataset=load_json(data_dir / "prompts.json"),
        callbacks=[CustomTrackerCallback()],
    )
    trainer.train()

    run = finished_run(store)
    assert store.table_keys(run.run_id) == ["train/completions"]
    assert store.table_steps(run.run_id, "train/completions") == [1, 2]
    rows = store.table_rows(run.run_id, "train/completions", step=2)
    assert rows and all(r["step"] == 2 for r in rows)
    assert {
        "prompt",
        "completion",
        "digit_share",
        "abstains",
        "with_extra",
        "advantage",
        "length",
    } <= set(rows[0])
    assert all(r["abstains"] is None or r["abstains"] != r["abstains"] for r in rows)  # None/NaN
    assert all(r["with_extra"] == 0.5 and isinstance(r["length"], int) for r in rows)


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
