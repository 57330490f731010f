"""Smoke tests for the ``llamafactory`` environment: LLaMA-Factory's run_exp trains on the CPU.

``run_exp`` takes the same keys as a LLaMA-Factory YAML file, as a dict. Both tests use
LoRA on the tiny random Llama from tests/assets.py and the dataset_dir from
``build_llamafactory_data`` (``tiny_sft`` alpaca set, ``tiny_dpo`` pairwise set).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llamafactory")
from llamafactory.train.tuner import run_exp

from assets import build_hf_model, build_llamafactory_data

MAX_STEPS = 2


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hf_model(tmp_path_factory.mktemp("tiny-llama"), arch="llama")


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_llamafactory_data(tmp_path_factory.mktemp("lf-data"))


def base_args(model_dir: Path, dataset_dir: Path, output_dir: Path) -> dict[str, Any]:
    """The keys every tiny LLaMA-Factory run here needs (same names as in its YAML files)."""
    return {
        "model_name_or_path": str(model_dir),
        "template": "default",
        "dataset_dir": str(dataset_dir),
        "cutoff_len": 64,
        "max_samples": 8,
        "overwrite_cache": True,
        "preprocessing_num_workers": 1,
        "finetuning_type": "lora",
        "lora_target": "all",
        "lora_rank": 4,
        "output_dir": str(output_dir),
        "overwrite_output_dir": True,
        "per_device_train_batch_size": 2,
        "per_device_eval_batch_size": 2,
        "gradient_accumulation_steps": 1,
        "max_steps": MAX_STEPS,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "plot_loss": False,
        "use_cpu": True,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "seed": 0,
    }


def read_trainer_state(output_dir: Path) -> dict[str, Any]:
    return json.loads((output_dir / "trainer_state.json").read_text())


def test_sft_lora_train_eval_predict(model_dir: Path, dataset_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sft"
    run_exp(
        {
            **base_args(model_dir, dataset_dir, out),
            "stage": "sft",
            "do_train": True,
            "dataset": "tiny_sft",
            "do_eval": True,
            "do_predict": True,
            "eval_dataset": "tiny_sft",
            "predict_with_generate": True,
            "max_new_tokens": 4,
            "do_sample": False,
        }
    )
    state = read_trainer_state(out)
    assert state["global_step"] == MAX_STEPS
    assert sum("loss" in h for h in state["log_history"]) == MAX_STEPS
    assert (out / "adapter_model.safetensors").is_file()
    # do_eval + do_predict write their metrics; predict_with_generate writes generations
    assert json.loads((out / "eval_results.json").read_text())
    assert "predict_bleu-4" in json.loads((out / "predict_results.json").read_text())
    lines = (out / "generated_predictions.jsonl").read_text().splitlines()
    assert len(lines) == 8
    assert {"prompt", "predict", "label"} <= json.loads(lines[0]).keys()


def test_dpo_lora(model_dir: Path, dataset_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dpo"
    run_exp(
        {
            **base_args(model_dir, dataset_dir, out),
            "stage": "dpo",
            "do_train": True,
            "dataset": "tiny_dpo",
            "pref_beta": 0.1,
            "pref_loss": "sigmoid",
        }
    )
    state = read_trainer_state(out)
    assert state["global_step"] == MAX_STEPS
    assert any("rewards/chosen" in h for h in state["log_history"]), state["log_history"]
    assert (out / "adapter_model.safetensors").is_file()
