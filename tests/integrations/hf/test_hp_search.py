"""Trainer.hyperparameter_search(backend="optuna") with `CustomTrackerCallback`, for real
(transformers and TRL on a tiny CPU model): each trial its own run, all in one sweep,
with the trial's number and sampled values in its config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kit import lm_dataset, training_args

from tracker.integrations.transformers import CustomTrackerCallback

optuna = pytest.importorskip("optuna")
transformers = pytest.importorskip("transformers")


def _space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
        "per_device_train_batch_size": trial.suggest_categorical(
            "per_device_train_batch_size", [1, 2]
        ),
    }


def _assert_one_run_per_trial(store: Any, sweep: str, trials: int, framework: str) -> None:
    runs = sorted(store.runs(sweep=sweep), key=lambda r: r.config["trial"]["number"])
    assert [r.config["trial"]["number"] for r in runs] == list(range(trials))
    assert len({r.run_id for r in runs}) == trials and len(store.runs()) == trials
    for number, run in enumerate(runs):
        assert (run.status, run.framework, run.sweep) == ("finished", framework, sweep)
        assert run.name == f"{sweep}-trial-{number}"
        params = run.config["trial"]["params"]
        assert set(params) == {"learning_rate", "per_device_train_batch_size"}
        assert run.config["args"]["learning_rate"] == params["learning_rate"]
        assert (
            run.config["args"]["per_device_train_batch_size"]
            == params["per_device_train_batch_size"]
        )
        assert [s for s, _v, _t in store.history(run.run_id, "train/loss")] == [1, 2]
        assert "eval/loss" in store.keys(run.run_id)  # the objective's evaluation
        # as W&B's run.summary: the metric's last value (summary.eval/loss in a runs frame)
        (*_, (_s, last, _t)) = store.history(run.run_id, "eval/loss", raw=True)
        assert run.summary["eval/loss"] == last


def test_trainer_search_records_each_trial_in_one_sweep(
    model_dir: Path, tmp_path: Path, store: Any
) -> None:
    """Three Optuna trials of a Trainer are three finished runs of the study's sweep."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    trainer = transformers.Trainer(
        model_init=lambda: transformers.AutoModelForCausalLM.from_pretrained(model_dir),
        args=transformers.TrainingArguments(**training_args(tmp_path, max_steps=2)),
        train_dataset=lm_dataset(tokenizer),
        eval_dataset=lm_dataset(tokenizer, 8),
        data_collator=transformers.DataCollatorForLanguageModeling(tokenizer, mlm=False),
        processing_class=tokenizer,
        callbacks=[CustomTrackerCallback(project="hp")],
    )
    best = trainer.hyperparameter_search(
        backend="optuna", n_trials=3, direction="minimize", hp_space=_space, study_name="lr"
    )
    _assert_one_run_per_trial(store, "lr", 3, "transformers")
    (best_run,) = [r for r in store.runs() if r.config["trial"]["number"] == int(best.run_id)]
    assert best_run.config["trial"]["params"] == best.hyperparameters


def test_trl_search_records_each_trial_in_the_named_sweep(
    model_dir: Path, data_dir: Path, tmp_path: Path, store: Any
) -> None:
    """Through TRL's SFTTrainer, with sweep= on the callback: the trials land in it."""
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    data = datasets.load_dataset(str(data_dir / "completions"), split="train")
    trainer = trl.SFTTrainer(
        model=str(model_dir),
        args=trl.SFTConfig(**training_args(tmp_path, max_steps=2), max_length=32),
        train_dataset=data,
        eval_dataset=data.select(range(4)),
        callbacks=[CustomTrackerCallback(project="hp", sweep="sft-search")],
    )

    def model_init() -> Any:
        # SFTTrainer takes no model_init and prepares only the model it is given (TRL
        # 1.16: a fused LM head), so each trial's model is prepared the same way here
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
        trl.trainer.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
        return model

    trainer.model_init = model_init
    trainer.hyperparameter_search(backend="optuna", n_trials=2, hp_space=_space)
    _assert_one_run_per_trial(store, "sft-search", 2, "trl")
