"""The torchtune logger against real `tune run` recipes and the real OmegaConf, on the CPU."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torchtune")

import torch
from omegaconf import OmegaConf

from assets import patch_recipe_for_cpu
from tracker import RunRecord, Store, open_store
from tracker.artifacts import digest_path
from tracker.integrations.torchtune import CustomTrackerLogger

TUNE = str(Path(sys.executable).with_name("tune"))
OURS = "metric_logger._component_=tracker.integrations.torchtune.CustomTrackerLogger"
RECIPE_KEYS = {"train/loss", "train/learning_rate", "train/tokens_per_second", "train/grad_norm"}


def tune(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the ``tune`` CLI; with ``ok``, assert it succeeded."""
    done = subprocess.run(
        [TUNE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    if ok:
        assert done.returncode == 0, done.stderr[-6000:]
    return done


def only_run(store: Store, project: str) -> RunRecord:
    """The single run of ``project``, asserting there is exactly one."""
    runs = store.runs(project=project)
    assert len(runs) == 1, runs
    return runs[0]


def assert_steps(store: Store, run: RunRecord, keys: set[str], steps: list[int]) -> None:
    """Each of ``keys`` was logged once at each of ``steps``, as floats."""
    assert keys <= set(store.keys(run.run_id))
    for key in keys:
        raw = store.history(run.run_id, key, raw=True)
        assert [step for step, _, _ in raw] == steps, key
        assert all(isinstance(value, float) for _, value, _ in raw), key


def assert_config_resolved(run: RunRecord, out: Path) -> None:
    """The stored config has its interpolations resolved (``${output_dir}`` is ``out``)."""
    assert "${" not in json.dumps(run.config)
    assert run.config["checkpointer"]["output_dir"] == str(out)
    assert run.config["metric_logger"]["log_dir"] == f"{out}/logs"


def test_full_finetune_single_device(assets: dict[str, Path], store: Store, tmp_path: Path) -> None:
    """Full single-device recipe, logger from the CLI: one run, resolved config, floats at
    1..3, the checkpointer's ``checkpoint_dir`` as the base model input."""
    out = tmp_path / "out"
    tune(
        "run", "full_finetune_single_device", "--config", str(assets["full_config"]),
        f"output_dir={out}", "clip_grad_norm=1.0",
        OURS, "metric_logger.project=tt-full", "metric_logger.name=full",
        "metric_logger.tags=[tiny,full]",
        cwd=tmp_path,
    )  # fmt: skip
    run = only_run(store, "tt-full")
    assert (run.name, run.tags, run.framework) == ("full", ["full", "tiny"], "torchtune")
    assert run.status == "finished"
    assert_config_resolved(run, out)
    assert_steps(store, run, RECIPE_KEYS, [1, 2, 3])
    assert {k for k in store.keys(run.run_id) if not k.startswith("system/")} == RECIPE_KEYS
    assert {v for _, v, _ in store.history(run.run_id, "train/learning_rate")} == {1e-3}
    (base,) = store.artifacts(run_id=run.run_id, direction="input")
    assert (base.kind, base.uri) == ("model", str(assets["checkpoint"].parent))


def test_the_plain_route_logs_each_saved_epoch(
    assets: dict[str, Path], store: Store, tmp_path: Path
) -> None:
    """Two epochs with the logger from the CLI (no ``tracker run``): ``epoch_0`` and
    ``epoch_1`` are hashed ``checkpoint`` versions at the steps they were saved (3, 6),
    each with the loss logged at that step."""
    out = tmp_path / "out"
    tune(
        "run", "full_finetune_single_device", "--config", str(assets["full_config"]),
        f"output_dir={out}", "epochs=2", OURS, "metric_logger.project=tt-epochs",
        cwd=tmp_path,
    )  # fmt: skip
    run = only_run(store, "tt-epochs")
    saved = store.artifacts(run_id=run.run_id, kind="checkpoint")
    assert [(a.uri, a.step, a.state) for a in saved] == [
        (str(out / "epoch_0"), 3, "present"),
        (str(out / "epoch_1"), 6, "present"),
    ]
    loss = {step: value for step, value, _ in store.history(run.run_id, "train/loss")}
    assert [a.metrics["train/loss"] for a in saved] == [loss[3], loss[6]]
    assert [a.digest for a in saved] == [digest_path(out / f"epoch_{n}").digest for n in (0, 1)]


def test_lora_finetune_single_device_to_a_given_store(
    assets: dict[str, Path], tracker_dir: Path, tmp_path: Path
) -> None:
    """LoRA single-device recipe writes to metric_logger.store, the lr following its schedule."""
    out, uri = tmp_path / "out", f"sqlite:///{tmp_path / 'lora.db'}"
    tune(
        "run", "lora_finetune_single_device", "--config", str(assets["lora_config"]),
        f"output_dir={out}", OURS, "metric_logger.project=tt-lora", f"metric_logger.store={uri}",
        cwd=tmp_path,
    )  # fmt: skip
    assert not (tracker_dir / "tracker.db").exists()
    store = open_store(uri)
    run = only_run(store, "tt-lora")
    assert run.status == "finished"
    assert_config_resolved(run, out)
    assert_steps(store, run, RECIPE_KEYS - {"train/grad_norm"}, [1, 2, 3])
    lrs = [v for _, v, _ in store.history(run.run_id, "train/learning_rate")]
    assert lrs[0] == 1e-3 and lrs[0] > lrs[1] > lrs[2]  # warmed up in one step, then cosine
    store.close()


@pytest.mark.slow
def test_full_finetune_distributed_two_ranks(
    assets: dict[str, Path], store: Store, tmp_path: Path
) -> None:
    """2-rank full_finetune_distributed on CPU (tune cp copy, patched here): one run, steps once."""
    recipe = tmp_path / "full_finetune_distributed_cpu.py"
    tune("cp", "full_finetune_distributed", str(recipe), cwd=tmp_path)
    patch_recipe_for_cpu(recipe)
    out = tmp_path / "out"
    tune(
        "run", "--nproc_per_node", "2", recipe.name, "--config", str(assets["full_config"]),
        f"output_dir={out}", "clip_grad_norm=1.0", OURS, "metric_logger.project=tt-ddp",
        cwd=tmp_path,
    )  # fmt: skip
    run = only_run(store, "tt-ddp")
    assert (run.status, run.environment["world_size"]) == ("finished", 2)
    assert_config_resolved(run, out)
    assert_steps(store, run, RECIPE_KEYS, [1, 2, 3])


def test_crash_after_training_fails_the_run(
    assets: dict[str, Path], store: Store, tmp_path: Path
) -> None:
    """A recipe crashing without close() leaves a failed run with its error and every step."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "epoch_0").write_text("in the way")
    done = tune(
        "run", "full_finetune_single_device", "--config", str(assets["full_config"]),
        f"output_dir={out}", OURS, "metric_logger.project=tt-crash",
        cwd=tmp_path, ok=False,
    )  # fmt: skip
    assert done.returncode != 0
    run = only_run(store, "tt-crash")
    assert run.status == "failed"
    assert run.error is not None and "FileExistsError" in run.error
    assert_steps(store, run, RECIPE_KEYS - {"train/grad_norm"}, [1, 2, 3])


@pytest.mark.slow
def test_sigterm_interrupts_the_run(assets: dict[str, Path], store: Store, tmp_path: Path) -> None:
    """SIGTERM to a running `tune run` ends the run interrupted, keeping the steps so far."""
    command = [TUNE, "run", "full_finetune_single_device", "--config", str(assets["full_config"])]
    command += [f"output_dir={tmp_path / 'out'}", "epochs=100", OURS]
    command += ["metric_logger.project=tt-term"]
    with (tmp_path / "tune.log").open("w") as output:
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=output, stderr=output)
        try:
            steps = wait_for_steps(store, "tt-term", 2, proc)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == -signal.SIGTERM
        finally:
            proc.kill()
    run = only_run(store, "tt-term")
    assert run.status == "interrupted"
    assert run.error is not None and "SIGTERM" in run.error
    logged = [step for step, _, _ in store.history(run.run_id, "train/loss", raw=True)]
    assert logged == list(range(1, len(logged) + 1)) and len(logged) >= steps


def wait_for_steps(store: Store, project: str, n: int, proc: subprocess.Popen[Any]) -> int:
    """Wait until the run of ``project`` has ``n`` losses stored; how many it has."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        runs = store.runs(project=project)
        if runs and len(store.history(runs[0].run_id, "train/loss")) >= n:
            return n
        time.sleep(0.1)
    raise AssertionError(f"no {n} steps stored (tune exited with {proc.returncode})")


def test_logger_maps_keys_and_tensors(store: Store) -> None:
    """torchtune's keys land under the shared names, 0-d tensors as floats; unknown keys pass."""
    logger = CustomTrackerLogger(project="tt-unit", log_dir="/nowhere", entity="ignored")
    logger.log_dict(
        {
            "loss": torch.tensor(2.5),
            "lr": 1e-4,
            "tokens_per_second_per_gpu": torch.tensor(100.0),
            "grad_norm": torch.tensor(0.5),
            "peak_memory_active": 1.5,
            "peak_memory_alloc": 1.25,
            "peak_memory_reserved": 2.0,
        },
        step=1,
    )
    logger.log("loss", torch.tensor(1.5), step=2)
    logger.close()
    run = only_run(store, "tt-unit")
    assert run.status == "finished"
    values = {k: store.history(run.run_id, k) for k in store.keys(run.run_id)}
    train = {k: [(s, v) for s, v, _ in h] for k, h in values.items() if not k.startswith("system/")}
    assert train == {
        "train/loss": [(1, 2.5), (2, 1.5)],
        "train/learning_rate": [(1, 1e-4)],
        "train/tokens_per_second": [(1, 100.0)],
        "train/grad_norm": [(1, 0.5)],
    }
    peaks = {k: v[0][1] for k, v in values.items() if k.startswith("system/peak_memory_")}
    assert peaks == {
        "system/peak_memory_active": 1.5,
        "system/peak_memory_allocated": 1.25,
        "system/peak_memory_reserved": 2.0,
    }


def test_log_config_stores_the_resolved_config(store: Store) -> None:
    """log_config resolves a DictConfig's interpolations before storing it."""
    config = OmegaConf.create({"output_dir": "/out", "logs": {"dir": "${output_dir}/logs"}})
    logger = CustomTrackerLogger(project="tt-config")
    logger.log_config(config)
    logger.close()
    assert only_run(store, "tt-config").config == {
        "output_dir": "/out",
        "logs": {"dir": "/out/logs"},
    }


def test_unresolvable_config_is_stored_as_written(store: Store) -> None:
    """An unresolvable interpolation does not stop training: the config is stored as written."""
    logger = CustomTrackerLogger(project="tt-unresolved")
    logger.log_config(OmegaConf.create({"a": 1, "b": "${nowhere}"}))
    logger.close()
    assert only_run(store, "tt-unresolved").config == {"a": 1, "b": "${nowhere}"}


def test_missing_torchtune_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without torchtune, importing the adapter says which extra to install."""
    for name in [m for m in sys.modules if m.startswith(("torchtune.", "tracker.integrations."))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torchtune", None)
    with pytest.raises(ImportError) as caught:
        import tracker.integrations.torchtune  # noqa: F401
    assert str(caught.value) == (
        "tracker.integrations.torchtune needs torchtune, which is not installed: "
        "pip install 'tracker[torchtune]'"
    )
