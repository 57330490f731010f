"""Smoke tests for the ``hf`` environment: transformers and TRL really train on the CPU.

Each test trains a random 2-layer model (tests/assets.py) for two optimizer steps, offline.
Copy these as templates for the adapter tests: build assets once per module, keep
``max_steps`` tiny, ``report_to="none"``, ``save_strategy="no"``, ``use_cpu=True``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")

from assets import (  # noqa: E402  (after importorskip on purpose)
    build_hf_data,
    build_hf_model,
    instruct_records,
)
from workers import worker_env  # noqa: E402

MAX_STEPS = 2


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hf_model(tmp_path_factory.mktemp("tiny-llama"), arch="llama")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hf_data(tmp_path_factory.mktemp("data"))


def common_args(output_dir: Path) -> dict[str, Any]:
    """TrainingArguments shared by every trainer here (TRL configs subclass TrainingArguments)."""
    return {
        "output_dir": str(output_dir),
        "max_steps": MAX_STEPS,
        "per_device_train_batch_size": 2,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "seed": 0,
    }


def load_json(path: Path) -> Any:
    return datasets.load_dataset("json", data_files=str(path), split="train")


def assert_trained(trainer: Any) -> None:
    assert trainer.state.global_step == MAX_STEPS
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == MAX_STEPS, trainer.state.log_history


def test_assets_load_offline(model_dir: Path) -> None:
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    assert tok.pad_token_id is not None and tok.eos_token_id is not None
    assert model.config.vocab_size == len(tok)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|assistant|>\n")


def test_transformers_trainer(model_dir: Path, tmp_path: Path) -> None:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
    texts = [f"{r['instruction']} {r['input']} {r['output']}" for r in instruct_records(16)]
    ds = datasets.Dataset.from_dict({"text": texts}).map(
        lambda b: tok(b["text"], truncation=True, max_length=64),
        batched=True,
        remove_columns=["text"],
    )
    trainer = transformers.Trainer(
        model=model,
        args=transformers.TrainingArguments(**common_args(tmp_path)),
        train_dataset=ds,
        data_collator=transformers.DataCollatorForLanguageModeling(tok, mlm=False),
        processing_class=tok,
    )
    trainer.train()
    assert_trained(trainer)


def test_trl_sft(model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    # conversational ("messages") format, so the tokenizer's chat template is used
    ds = load_json(data_dir / "sft.json").map(
        lambda r: {
            "messages": [
                {"role": "user", "content": f"{r['instruction']} {r['input']}"},
                {"role": "assistant", "content": r["output"]},
            ]
        },
        remove_columns=["instruction", "input", "output"],
    )
    trainer = trl.SFTTrainer(
        model=str(model_dir),
        args=trl.SFTConfig(**common_args(tmp_path), max_length=64),
        train_dataset=ds,
    )
    trainer.train()
    assert_trained(trainer)


def test_trl_dpo(model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    # standard (non-chat) preference format: prompt / chosen / rejected
    trainer = trl.DPOTrainer(
        model=str(model_dir),
        args=trl.DPOConfig(**common_args(tmp_path), max_length=64, beta=0.1),
        train_dataset=load_json(data_dir / "pref.json"),
    )
    trainer.train()
    assert_trained(trainer)


def reward_short_digits(completions: list[str], **_: Any) -> list[float]:
    """Toy reward: fraction of digit characters in each completion."""
    return [sum(ch.isdigit() for ch in c) / max(len(c), 1) for c in completions]


def test_trl_grpo(model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    args = trl.GRPOConfig(
        **common_args(tmp_path),
        num_generations=2,  # group size; the generation batch must divide by it
        max_completion_length=4,
        temperature=1.0,
    )
    trainer = trl.GRPOTrainer(
        model=str(model_dir),
        reward_funcs=reward_short_digits,
        args=args,
        train_dataset=load_json(data_dir / "prompts.json"),
    )
    trainer.train()
    assert_trained(trainer)


DDP_SCRIPT = Path(__file__).with_name("ddp_trainer_script.py")


def test_torchrun_two_process_trainer(model_dir: Path, tmp_path: Path) -> None:
    """2-process DDP (gloo) of a tiny Trainer on the CPU through torchrun."""
    torchrun = Path(sys.executable).with_name("torchrun")
    env = worker_env()
    proc = subprocess.run(
        [
            str(torchrun),
            "--standalone",  # local rendezvous on a free port (a fixed --master_port may clash)
            "--nproc_per_node",
            "2",
            str(DDP_SCRIPT),
            str(model_dir),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "DDP_OK rank=0 world_size=2" in proc.stdout
    assert "DDP_OK rank=1 world_size=2" in proc.stdout
