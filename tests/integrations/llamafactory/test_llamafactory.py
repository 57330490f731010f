"""LLaMA-Factory through `run_exp` with `CustomTrackerCallback`, and through
``python -m tracker.cli`` (one process, and two under ``torchrun``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from llamafactory.train.tuner import run_exp

from tracker.integrations.llamafactory import own_arguments, read_cli_args
from tracker.integrations.transformers import CustomTrackerCallback


def only_run(store: Any, config: dict[str, Any]) -> Any:
    """The one run in the store: finished, by LLaMA-Factory, the config's token redacted."""
    runs = store.runs()
    assert len(runs) == 1, [r.name for r in runs]
    (run,) = runs
    assert (run.status, run.framework) == ("finished", "llamafactory")
    assert config["hf_hub_token"] not in json.dumps(run.config)
    return run


def steps(store: Any, run_id: str, key: str) -> list[int]:
    return [step for step, _value, _at in store.history(run_id, key, raw=True)]


def tracker_cli(
    config: dict[str, Any],
    *overrides: str,
    tmp_path: Path,
    tracker_dir: Path,
    nproc: int = 1,
    command: tuple[str, ...] = ("train",),
) -> None:
    """Run ``python -m tracker.cli train CONFIG.yaml KEY=VALUE...`` (``torchrun`` for
    ``nproc`` > 1; ``command=()`` leaves the word ``train`` out)."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    if nproc > 1:
        torchrun = str(Path(sys.executable).with_name("torchrun"))
        launch = [torchrun, "--standalone", "--nproc_per_node", str(nproc), "-m", "tracker.cli"]
    else:
        launch = [sys.executable, "-m", "tracker.cli"]
    env = {**os.environ, "TRACKER_DIR": str(tracker_dir), "OMP_NUM_THREADS": "1"}
    env.pop("TRACKER_URI", None)
    done = subprocess.run(
        [*launch, *command, str(path), *overrides],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_run_exp_sft_lora_with_eval_and_predict(
    sft_config: dict[str, Any], tmp_path: Path, store: Any
) -> None:
    """SFT with LoRA, do_eval and do_predict (generation) through run_exp make one run."""
    callback = CustomTrackerCallback(
        project="lf", config={"llamafactory": own_arguments(sft_config)}
    )
    run_exp(dict(sft_config), callbacks=[callback])
    assert callback.tracker is not None
    callback.tracker.finish()

    run = only_run(store, sft_config)
    assert run.config["llamafactory"]["finetuning"]["stage"] == "sft"
    assert run.config["llamafactory"]["model"]["hf_hub_token"] == "***REDACTED***"
    assert "q_proj" in run.config["peft"]["default"]["target_modules"]
    trainer = run.config["trainer"]
    assert trainer["trainer_class"].endswith("CustomSeq2SeqTrainer")
    assert 0 < trainer["parameters"]["trainable"] < trainer["parameters"]["total"]
    assert steps(store, run.run_id, "train/loss") == [1, 2, 3, 4]
    keys = set(store.keys(run.run_id))
    assert {"eval/bleu-4", "eval/rouge-l", "predict/bleu-4", "predict/rouge-l"} <= keys
    assert steps(store, run.run_id, "predict/bleu-4") == [4]
    assert {"train/runtime", "eval/runtime", "predict/runtime"} <= set(run.summary)
    saved = [e.step for e in store.events(run.run_id) if e.kind == "checkpoint"]
    assert saved == [2, 4]


def test_run_exp_dpo(dpo_config: dict[str, Any], store: Any) -> None:
    """run_exp's DPO stage records TRL's preference metrics under train/."""
    callback = CustomTrackerCallback()
    run_exp(dict(dpo_config), callbacks=[callback])
    assert callback.tracker is not None
    callback.tracker.finish()

    run = only_run(store, dpo_config)
    assert run.config["trainer"]["trainer_class"].endswith("CustomDPOTrainer")
    keys = set(store.keys(run.run_id))
    assert {"train/loss", "train/rewards/chosen", "train/logps/rejected"} <= keys
    assert steps(store, run.run_id, "train/rewards/margins") == [1, 2, 3, 4]


def test_resume_from_checkpoint_continues_the_run(
    base_config: dict[str, Any], tmp_path: Path, store: Any
) -> None:
    """``resume_from_checkpoint`` in LLaMA-Factory's config continues the run it names."""
    config = {**base_config, "stage": "sft", "dataset": "tiny_sft"}
    config.update(save_strategy="steps", save_steps=2)
    for extra in (
        {},
        {"max_steps": 6, "resume_from_checkpoint": str(tmp_path / "out/checkpoint-4")},
    ):
        callback = CustomTrackerCallback()
        run_exp({**config, **extra}, callbacks=[callback])
        assert callback.tracker is not None
        callback.tracker.finish()

    run = only_run(store, config)
    assert steps(store, run.run_id, "train/loss") == [1, 2, 3, 4, 5, 6]
    assert [e.step for e in store.events(run.run_id) if e.kind == "checkpoint"] == [2, 4, 6]


def test_cli_reads_arguments_like_llamafactory_cli(
    sft_config: dict[str, Any], tmp_path: Path
) -> None:
    """A YAML file with key=value overrides becomes a dict; --key value stays a list."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(sft_config))
    args = read_cli_args([str(path), "max_steps=2", "template=llama3"])
    assert isinstance(args, dict)
    assert (args["max_steps"], args["template"], args["stage"]) == (2, "llama3", "sft")
    assert read_cli_args(["--stage", "sft"]) == ["--stage", "sft"]
    assert own_arguments(args)["finetuning"].stage == "sft"


@pytest.mark.parametrize("stage", ["sft", "dpo"])
def test_tracker_cli_single_process(
    stage: str,
    sft_config: dict[str, Any],
    dpo_config: dict[str, Any],
    tmp_path: Path,
    tracker_dir: Path,
    store: Any,
) -> None:
    """``python -m tracker.cli train config.yaml max_steps=2`` tracks the run it trains,
    with the YAML's datasets as inputs."""
    config = sft_config if stage == "sft" else dpo_config
    command = ("train",) if stage == "sft" else ()  # the word is optional
    tracker_cli(config, "max_steps=2", tmp_path=tmp_path, tracker_dir=tracker_dir, command=command)

    run = only_run(store, config)
    assert run.config["llamafactory"]["finetuning"]["stage"] == stage
    assert run.config["args"]["max_steps"] == 2
    assert steps(store, run.run_id, "train/loss") == [1, 2]
    if stage == "sft":  # do_predict with predict_with_generate: its generations, one per row
        rows = store.table_rows(run.run_id, "predict/generations")
        written = Path(run.config["args"]["output_dir"]) / "generated_predictions.jsonl"
        assert len(rows) == len(written.read_text().splitlines()) > 0
        assert {"step", "prompt", "predict", "label"} <= set(rows[0]) and rows[0]["step"] == 2
        assert_artifacts(store, run.run_id, config)


def assert_artifacts(store: Any, run_id: str, config: dict[str, Any]) -> None:
    """The YAML's dataset (train and eval: one file, one version) and the base model are
    hashed inputs; the checkpoint at step 2 and the saved adapter are outputs."""
    inputs = {a.kind: a for a in store.artifacts(run_id=run_id, direction="input")
              if a.kind != "dataset" or a.name == "tiny_sft"}  # fmt: skip
    data = inputs["dataset"]
    assert data.uri == str(Path(config["dataset_dir"]) / "tiny_sft.json")
    assert data.digest is not None and data.state == "present"
    assert data.meta["role"] == "train" and data.meta["split"] == "train"
    assert inputs["model"].uri == config["model_name_or_path"]
    outputs = store.artifacts(run_id=run_id, direction="output")
    out = Path(config["output_dir"])
    assert [(a.kind, a.uri, a.step) for a in outputs] == [
        ("checkpoint", str(out / "checkpoint-2"), 2),
        ("adapter", str(out), 2),
    ]


def test_tracker_cli_under_torchrun_makes_one_run(
    sft_config: dict[str, Any], tmp_path: Path, tracker_dir: Path, store: Any
) -> None:
    """``torchrun --nproc_per_node 2 -m tracker.cli train``: one run, each step once."""
    tracker_cli(sft_config, "do_predict=false", tmp_path=tmp_path, tracker_dir=tracker_dir, nproc=2)

    run = only_run(store, sft_config)
    assert run.config["trainer"]["world_size"] == 2
    assert steps(store, run.run_id, "train/loss") == [1, 2, 3, 4]
    assert steps(store, run.run_id, "eval/bleu-4") == [4]


def test_missing_llamafactory_names_the_extra() -> None:
    """Without LLaMA-Factory, ``tracker train`` says which extra to install."""
    code = (
        "import sys; sys.modules['llamafactory'] = None\n"
        "from tracker.cli import main\n"
        "try:\n    main(['train', 'config.yaml'])\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'tracker[llamafactory]'" in out.stdout
