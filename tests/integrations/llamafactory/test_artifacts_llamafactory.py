"""LLaMA-Factory's `run_exp` through `CustomTrackerCallback`: its checkpoints, its final
LoRA adapter and its base model land as artifacts, as with any Trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llamafactory.train.tuner import run_exp

from tracker.integrations.transformers import CustomTrackerCallback


def test_sft_lora_checkpoints_adapter_and_base_model(
    base_config: dict[str, Any], model_dir: Path, tmp_path: Path, store: Any
) -> None:
    """Checkpoints at 2 and 4, the adapter LLaMA-Factory saves at the end, the base model
    and the training set as inputs."""
    config = {**base_config, "stage": "sft", "dataset": "tiny_sft"}
    config.update(save_strategy="steps", save_steps=2)
    callback = CustomTrackerCallback(project="lf")
    run_exp(config, callbacks=[callback])
    assert callback.tracker is not None
    callback.tracker.finish()
    (run,) = store.runs()
    outputs = store.artifacts(run_id=run.run_id, direction="output")
    assert [(a.kind, a.step) for a in outputs] == [
        ("checkpoint", 2),
        ("checkpoint", 4),
        ("adapter", 4),
    ]
    assert outputs[-1].uri == str(tmp_path / "out") and outputs[-1].digest
    inputs = {a.kind: a for a in store.artifacts(run_id=run.run_id, direction="input")}
    assert inputs["model"].uri == str(model_dir)
    assert inputs["dataset"].meta["role"] == "train" and inputs["dataset"].meta["rows"] > 0
