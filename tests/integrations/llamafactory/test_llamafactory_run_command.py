"""``tracker run -- llamafactory-cli train``, LLaMA-Factory's own launcher: relaunched under
torchrun by ``FORCE_TORCHRUN=1``, it is one run across its ranks, with its own config."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_llamafactory import assert_artifacts, only_run, steps

from tracked_commands import BIN, tracker_run
from tracker import Store


@pytest.mark.slow
def test_force_torchrun_llamafactory_cli_is_one_run(
    sft_config: dict[str, Any], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """Two ranks under the torchrun LLaMA-Factory starts: one run, each step once, with
    LLaMA-Factory's arguments (the token redacted) and the command's exit code."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**sft_config, "do_predict": False}))
    tracker_run(
        BIN / "llamafactory-cli", "train", config,
        tracker_dir=tracker_dir, env={"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2"},
    )  # fmt: skip
    run = only_run(store, sft_config)
    assert run.config["trainer"]["world_size"] == 2
    assert run.config["llamafactory"]["finetuning"]["stage"] == "sft"
    assert run.config["llamafactory"]["model"]["hf_hub_token"] == "***REDACTED***"
    assert steps(store, run.run_id, "train/loss") == [1, 2, 3, 4]
    assert steps(store, run.run_id, "eval/bleu-4") == [4]
    assert run.summary["command/exit_code"] == 0
    kinds = [e.kind for e in store.events(run.run_id)]
    assert kinds.count("checkpoint") == 2 and "resumed" not in kinds  # one run, made once
    saved = store.artifacts(run_id=run.run_id, kind="checkpoint")
    assert [a.step for a in saved] == [2, 4]  # rank 0's saves, each once
    datasets = store.artifacts(run_id=run.run_id, kind="dataset")
    assert [a.name for a in datasets if a.name == "tiny_sft"] == ["tiny_sft"]


def test_tracker_train_under_tracker_run_is_one_run(
    base_config: dict[str, Any], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """``tracker run -- python -m tracker.cli train``: tracker train's own callback is the
    one run_exp and the Trainer keep; each step once."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**base_config, "stage": "sft", "dataset": "tiny_sft"}))
    tracker_run(
        sys.executable, "-m", "tracker.cli", "train", config, "max_steps=2",
        tracker_dir=tracker_dir, options=["--project", "lf-run"],
    )  # fmt: skip
    run = only_run(store, base_config)
    assert (run.project, run.config["llamafactory"]["finetuning"]["stage"]) == ("lf-run", "sft")
    assert steps(store, run.run_id, "train/loss") == [1, 2]


def test_llamafactory_cli_predictions_under_tracker_run_are_a_table(
    sft_config: dict[str, Any], tmp_path: Path, tracker_dir: Path, store: Store
) -> None:
    """``tracker run -- llamafactory-cli train`` with ``do_predict``: the generations
    LLaMA-Factory writes become the run's table ``predict/generations``, as with
    ``tracker train``; the YAML's dataset, the checkpoint and the adapter its artifacts."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**sft_config, "max_steps": 2}))
    tracker_run(BIN / "llamafactory-cli", "train", config, tracker_dir=tracker_dir)
    run = only_run(store, sft_config)
    rows = store.table_rows(run.run_id, "predict/generations")
    written = Path(run.config["args"]["output_dir"]) / "generated_predictions.jsonl"
    assert len(rows) == len(written.read_text().splitlines()) > 0
    assert {"step", "prompt", "predict", "label"} <= set(rows[0]) and rows[0]["step"] == 2
    assert_artifacts(store, run.run_id, sft_config)
