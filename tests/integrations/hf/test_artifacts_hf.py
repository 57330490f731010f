"""Artifacts from real Trainer and TRL runs: checkpoints with metrics at save, rotation,
the best one, the final model, inputs, and a second run started from the first's best."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kit import make_trainer, training_args

from tracker import open_store
from tracker.integrations.transformers import CustomTrackerCallback

_SRC = str(Path(__file__).resolve().parents[3] / "src")


def _train_with_checkpoints(model_dir: Path, out: Path, project: str) -> Any:
    callback = CustomTrackerCallback(project=project)
    trainer = make_trainer(
        model_dir,
        [callback],
        **training_args(
            out,
            max_steps=4,
            eval_strategy="steps",
            eval_steps=1,
            save_strategy="steps",
            save_steps=1,
            save_total_limit=2,
            load_best_model_at_end=True,
            metric_for_best_model="eval_loss",
        ),
    )
    trainer.train()
    trainer.save_model(str(out / "final"))  # after train(): the run re-opens for it...
    assert callback.tracker is not None
    callback.tracker.finish()  # ...and ends here, as at the process's exit
    return trainer


def _tracker_best(tracker_dir: Path, *args: str) -> str:
    """``tracker best ...`` in its own process, as a script would call it."""
    env = {**os.environ, "PYTHONPATH": _SRC, "TRACKER_DIR": str(tracker_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "best", *args],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_checkpoints_rotation_best_final_model_and_inputs(
    model_dir: Path, tmp_path: Path, store: Any
) -> None:
    """Each checkpoint at its step with eval/loss at save; rotated ones gone, the kept
    ones present; the trainer's best marked; save_model a model; base model and
    datasets as inputs."""
    trainer = _train_with_checkpoints(model_dir, tmp_path / "out", "hf-art")
    (run,) = store.runs()
    found = store.artifacts(run_id=run.run_id, kind="checkpoint")
    assert [a.step for a in found] == [1, 2, 3, 4]
    for a in found:
        assert a.metrics["eval/loss"] == pytest.approx(
            next(v for s, v, _ in store.history(run.run_id, "eval/loss") if s == a.step)
        )
        assert a.state == ("present" if Path(a.uri).exists() else "gone"), a
        if a.state == "present" or a.digest:
            assert a.digest and a.size and a.files, a
        else:  # rotated away before the low-priority hasher reached it (a save every step)
            assert a.meta.get("error") == "deleted before it was hashed", a
    assert sum(a.state == "gone" for a in found) >= 2
    (best,) = [a for a in found if a.best]
    assert best.uri == str(Path(trainer.state.best_model_checkpoint).absolute())
    assert {a.meta["weights"] for a in found} == {"full"}
    (model,) = store.artifacts(run_id=run.run_id, kind="model", direction="output")
    assert model.uri == str(tmp_path / "out" / "final") and model.state == "present"
    # load_best_model_at_end: the final model holds the best checkpoint's weights
    assert model.meta["loaded_from"] == best.uri
    assert (model.step, model.metrics) == (best.step, best.metrics)
    assert model.metrics["eval/loss"] == trainer.state.best_metric
    inputs = {a.kind: a for a in store.artifacts(run_id=run.run_id, direction="input")}
    assert inputs["model"].uri == str(model_dir) and inputs["model"].digest
    datasets = store.artifacts(run_id=run.run_id, kind="dataset")
    assert sorted((a.name, a.version, a.meta["rows"]) for a in datasets) == [
        ("eval: in-memory data (no split)", 1, 8),
        ("train: in-memory data (no split)", 1, 16),
    ]


def test_a_run_from_the_best_checkpoint_shows_lineage(
    model_dir: Path, tmp_path: Path, store: Any, tracker_dir: Path
) -> None:
    """`tracker best` names the first run's best checkpoint; a second run trained from it
    lists the first as its source, and the first lists the second as a consumer."""
    _train_with_checkpoints(model_dir, tmp_path / "sft", "chain")
    (first,) = store.runs()
    best = _tracker_best(tracker_dir, "chain", "--metric", "eval/loss", "--kind", "checkpoint")
    assert best == next(a.uri for a in store.artifacts(run_id=first.run_id) if a.best)
    second = make_trainer(
        Path(best),
        [CustomTrackerCallback(project="chain")],
        **training_args(tmp_path / "dpo", max_steps=2),
    )
    second.train()
    second_run = next(r for r in store.runs() if r.run_id != first.run_id)
    lineage = store.lineage(second_run.run_id)
    assert [(a.run_id, a.uri) for a in lineage.sources] == [(first.run_id, best)]
    consumers = store.lineage(first.run_id).consumers
    assert [a.run_id for a in consumers] == [second_run.run_id]


def test_trl_sft_records_checkpoints_and_inputs(
    model_dir: Path, data_dir: Path, tmp_path: Path, tracker_dir: Path
) -> None:
    """TRL's SFTTrainer through the same callback: checkpoints and the base model input."""
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    data = datasets.load_dataset(str(data_dir / "completions"), split="train")
    trainer = trl.SFTTrainer(
        model=str(model_dir),
        args=trl.SFTConfig(
            **training_args(tmp_path, max_steps=2, save_strategy="steps", save_steps=1),
            max_length=32,
        ),
        train_dataset=data,
        callbacks=[CustomTrackerCallback(project="trl")],
    )
    trainer.train()
    store = open_store()
    (run,) = store.runs()
    assert [a.step for a in store.artifacts(run_id=run.run_id, kind="checkpoint")] == [1, 2]
    (base,) = store.artifacts(run_id=run.run_id, kind="model", direction="input")
    assert base.uri == str(model_dir)
    (data_input,) = store.artifacts(run_id=run.run_id, kind="dataset")
    assert data_input.meta["split"] == "train" and data_input.meta["rows"] == data.num_rows
    assert data_input.name == "train: completions (train split)"  # its role, name and split
    store.close()


def test_save_model_of_a_peft_model_is_an_adapter(
    model_dir: Path, tmp_path: Path, store: Any
) -> None:
    """A LoRA model's save_model(dir) after training is an `adapter` version at the last step."""
    peft = pytest.importorskip("peft")
    callback = CustomTrackerCallback()
    trainer = make_trainer(model_dir, **training_args(tmp_path / "out", max_steps=2))
    trainer.model = peft.get_peft_model(
        trainer.model, peft.LoraConfig(r=4, target_modules={"q_proj"})
    )
    trainer.model_wrapped = trainer.model
    trainer.add_callback(callback)
    trainer.train()
    trainer.save_model(str(tmp_path / "lora"))
    assert callback.tracker is not None
    callback.tracker.finish()
    (run,) = store.runs()
    (adapter,) = store.artifacts(run_id=run.run_id, direction="output")
    assert (adapter.kind, adapter.step, adapter.name) == ("adapter", 2, "lora")
    assert adapter.files and adapter.state == "present"
