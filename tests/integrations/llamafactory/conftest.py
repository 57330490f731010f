"""Fixtures of the LLaMA-Factory tests: a tiny offline model, a dataset_dir, configs.

Makes ``tests/assets.py`` importable (no ``__init__.py`` here).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

_TESTS = str(Path(__file__).resolve().parent.parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

if find_spec("llamafactory") is None:  # another test environment: nothing here can run
    collect_ignore_glob = ["*.py"]

from assets import build_hf_model, build_llamafactory_data  # noqa: E402

SECRET = "hf_" + "y" * 34


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama with its tokenizer, saved offline."""
    return build_hf_model(tmp_path_factory.mktemp("tiny-llama"), arch="llama")


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LLaMA-Factory dataset_dir with ``tiny_sft`` and ``tiny_dpo``."""
    return build_llamafactory_data(tmp_path_factory.mktemp("lf-data"))


@pytest.fixture
def base_config(model_dir: Path, dataset_dir: Path, tmp_path: Path) -> dict[str, Any]:
    """What every stage here shares: LoRA on the tiny model, 4 CPU steps, no reporting."""
    return {
        "model_name_or_path": str(model_dir),
        "hf_hub_token": SECRET,
        "do_train": True,
        "finetuning_type": "lora",
        "lora_target": "all",
        "lora_rank": 4,
        "dataset_dir": str(dataset_dir),
        "template": "default",
        "cutoff_len": 64,
        "max_samples": 16,
        "overwrite_cache": True,
        "preprocessing_num_workers": 1,
        "output_dir": str(tmp_path / "out"),
        "logging_steps": 1,
        "save_strategy": "no",
        "max_steps": 4,
        "per_device_train_batch_size": 2,
        "per_device_eval_batch_size": 4,
        "learning_rate": 1.0e-3,
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
    }


@pytest.fixture
def sft_config(base_config: dict[str, Any]) -> dict[str, Any]:
    """Stage ``sft`` with checkpoints, ``do_eval`` and ``do_predict`` with generation."""
    return {
        **base_config,
        "stage": "sft",
        "dataset": "tiny_sft",
        "eval_dataset": "tiny_sft",
        "save_strategy": "steps",
        "save_steps": 2,
        "do_eval": True,
        "do_predict": True,
        "predict_with_generate": True,
        "max_new_tokens": 4,
    }


@pytest.fixture
def dpo_config(base_config: dict[str, Any]) -> dict[str, Any]:
    """Stage ``dpo`` on the pairwise set."""
    return {**base_config, "stage": "dpo", "dataset": "tiny_dpo", "pref_beta": 0.1}
