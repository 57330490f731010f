"""Helpers of the Hugging Face adapter tests, shared by the tests and their subprocess scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import datasets
import transformers

from assets import instruct_records

SCRIPT = Path(__file__).with_name("train_script.py")
SCRIPT_PATH = os.pathsep.join([str(SCRIPT.parent), str(SCRIPT.parent.parent.parent)])
"""The ``PYTHONPATH`` of train_script.py: this folder (``kit``) and ``tests/`` (``assets``)."""


def training_args(output_dir: Path, **overrides: Any) -> dict[str, Any]:
    """TrainingArguments for a few CPU steps (TRL configs take them too)."""
    return {
        "output_dir": str(output_dir),
        "max_steps": 4,
        "per_device_train_batch_size": 2,
        "per_device_eval_batch_size": 4,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "seed": 0,
        **overrides,
    }


def lm_dataset(tokenizer: Any, n: int = 16) -> datasets.Dataset:
    """A tokenized causal-LM dataset of ``n`` tiny instruct records."""
    texts = [f"{r['instruction']} {r['input']} {r['output']}" for r in instruct_records(n)]
    return datasets.Dataset.from_dict({"text": texts}).map(
        lambda b: tokenizer(b["text"], truncation=True, max_length=32),
        batched=True,
        remove_columns=["text"],
    )


def make_trainer(
    model_dir: Path, callbacks: list[Any] | None = None, **args: Any
) -> transformers.Trainer:
    """A `Trainer` of the tiny model with train and eval sets."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
    return transformers.Trainer(
        model=model,
        args=transformers.TrainingArguments(**args),
        train_dataset=lm_dataset(tokenizer),
        eval_dataset=lm_dataset(tokenizer, 8),
        data_collator=transformers.DataCollatorForLanguageModeling(tokenizer, mlm=False),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def run_script(
    *argv: str, tracker_dir: Path, nproc: int = 1, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run train_script.py with ``argv``, under ``torchrun`` when ``nproc`` > 1."""
    if nproc > 1:
        torchrun = Path(sys.executable).with_name("torchrun")
        command = [str(torchrun), "--standalone", "--nproc_per_node", str(nproc)]
    else:
        command = [sys.executable]
    env = {
        **os.environ,
        "TRACKER_DIR": str(tracker_dir),
        "TRACKER_FLUSH_INTERVAL": "0.05",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": SCRIPT_PATH,
    }
    env.pop("TRACKER_URI", None)
    done = subprocess.run(
        [*command, str(SCRIPT), *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done
