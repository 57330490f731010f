"""Smoke tests for the ``torchtune`` environment: torchtune recipes train on the CPU.

The recipes run as subprocesses through the ``tune`` CLI, with the configs written by
``build_torchtune_assets`` (tiny llama2, SentencePiece tokenizer, JSON alpaca data, cpu/fp32).
Config keys can be overridden on the command line as ``key=value``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torchtune")

from assets import build_torchtune_assets, patch_recipe_for_cpu

MAX_STEPS = 3
TUNE = str(Path(sys.executable).with_name("tune"))


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_torchtune_assets(
        tmp_path_factory.mktemp("torchtune"), max_steps_per_epoch=MAX_STEPS
    )


def tune(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [TUNE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, (
        f"tune {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    )
    return proc


def logged_steps(output: str) -> int:
    """Steps whose loss the recipe printed (progress bar lines look like ``1|3|Loss: 5.47``)."""
    return len(set(re.findall(r"\b1\|(\d+)\|Loss: [0-9.]+", output)))


def test_full_finetune_single_device(assets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = tune(
        "run", "full_finetune_single_device",
        "--config", str(assets["full_config"]),
        f"output_dir={out}",
        cwd=tmp_path,
    )  # fmt: skip
    assert logged_steps(proc.stdout + proc.stderr) == MAX_STEPS
    assert (out / "epoch_0" / "model-00001-of-00001.bin").is_file()
    assert list((out / "logs").glob("log_*.txt"))


def test_lora_finetune_single_device(assets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = tune(
        "run", "lora_finetune_single_device",
        "--config", str(assets["lora_config"]),
        f"output_dir={out}",
        cwd=tmp_path,
    )  # fmt: skip
    assert logged_steps(proc.stdout + proc.stderr) == MAX_STEPS
    assert (out / "epoch_0" / "adapter_model.pt").is_file()


# The stock full_finetune_distributed recipe assumes an accelerator in two places. The test
# patches its own COPY (made with `tune cp`); torchtune itself is left alone.


def test_full_finetune_distributed_two_processes(assets: dict[str, Path], tmp_path: Path) -> None:
    recipe = tmp_path / "full_finetune_distributed_cpu.py"
    tune("cp", "full_finetune_distributed", str(recipe), cwd=tmp_path)
    patch_recipe_for_cpu(recipe)

    out = tmp_path / "out"
    # without an explicit rendezvous endpoint `tune run` uses torchrun's --standalone mode
    # (free port); on CPU the recipe picks the gloo backend itself
    proc = tune(
        "run", "--nproc_per_node", "2",
        recipe.name,  # relative to cwd: `tune run` turns a recipe path into a module name
        "--config", str(assets["full_config"]),
        f"output_dir={out}",
        cwd=tmp_path,
        timeout=300,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert "Distributed training is enabled" in output
    assert logged_steps(output) == MAX_STEPS
    assert (out / "epoch_0" / "model-00001-of-00001.bin").is_file()
