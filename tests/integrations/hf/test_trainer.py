"""`CustomTrackerCallback` with the plain transformers `Trainer`: what lands in the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import transformers
from kit import make_trainer, run_script, training_args

from tracker import BackendBase, TrackerSettings
from tracker.cli import main as cli_main
from tracker.integrations.transformers import RUN_FILE, CustomTrackerCallback

SECRET = "hf_" + "x" * 34


def only_run(store: Any) -> Any:
    runs = store.runs()
    assert len(runs) == 1, [r.name for r in runs]
    return runs[0]


def steps(store: Any, run_id: str, key: str) -> list[int]:
    return [step for step, _value, _at in store.history(run_id, key, raw=True)]


def test_train_evaluate_predict_land_in_one_run(
    model_dir: Path, tmp_path: Path, store: Any
) -> None:
    """Training with eval and checkpoints, then evaluate() and predict(), make one run."""
    callback = CustomTrackerCallback(project="hf", tags=["unit"])
    trainer = make_trainer(
        model_dir,
        [callback],
        **training_args(
            tmp_path / "out",
            eval_strategy="steps",
            eval_steps=2,
            save_strategy="steps",
            save_steps=2,
            hub_token=SECRET,
            run_name="trainer-run",
        ),
    )
    trainer.train()
    trainer.evaluate()
    trainer.predict(trainer.eval_dataset)
    assert callback.tracker is not None
    callback.tracker.finish()

    run = only_run(store)
    assert (run.project, run.name, run.framework, run.status) == (
        "hf", "trainer-run", "transformers", "finished"
    )  # fmt: skip
    assert SECRET not in json.dumps(run.config)
    assert run.config["args"]["learning_rate"] == 1e-3
    assert run.config["model"]["hidden_size"] == 64
    assert run.config["generation"]["max_new_tokens"] == 8
    info = run.config["trainer"]
    assert info["trainer_class"] == "transformers.trainer.Trainer"
    assert info["world_size"] == 1
    assert info["parameters"]["total"] == info["parameters"]["trainable"] > 0

    keys = set(store.keys(run.run_id))
    assert {"train/loss", "train/grad_norm", "train/learning_rate", "train/epoch"} <= keys
    assert {"eval/loss", "predict/loss"} <= keys
    assert steps(store, run.run_id, "train/loss") == [1, 2, 3, 4]
    # evaluate() after training repeats step 4's eval/loss (the same model): the same
    # point, stored once; the Trainer's epoch, logged with each log of a step, too
    assert steps(store, run.run_id, "eval/loss") == [2, 4]
    stats = store.metric_stats(run.run_id)
    for key in keys - {k for k in keys if k.startswith("system/")}:
        assert stats[key].count == len(store.history(run.run_id, key)), key
    assert steps(store, run.run_id, "predict/loss") == [4]
    assert {"train/runtime", "train/mean_loss", "train/total_flos", "train/global_step"} <= set(
        run.summary
    )
    assert {"eval/runtime", "predict/runtime"} <= set(run.summary)

    events = store.events(run.run_id)
    saved = [(e.step, e.payload["path"]) for e in events if e.kind == "checkpoint"]
    assert saved == [(s, str(tmp_path / "out" / f"checkpoint-{s}")) for s in (2, 4)]
    for step, path in saved:
        assert json.loads((Path(path) / RUN_FILE).read_text()) == {"run_id": run.run_id}, step


def test_evaluate_after_train_is_one_run_whose_events_say_why(
    model_dir: Path, tmp_path: Path, store: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """train() then evaluate(), as the demo does: one run, finished, the evaluation's
    metrics in it, and its one event says in words why the run went on after train()
    ended (in the store, and in tracker show)."""
    callback = CustomTrackerCallback(project="hf")
    trainer = make_trainer(model_dir, [callback], **training_args(tmp_path / "out"))
    trainer.train()
    trainer.evaluate()
    assert callback.tracker is not None
    callback.tracker.finish()

    run = only_run(store)
    assert run.status == "finished"
    assert steps(store, run.run_id, "eval/loss") == [4]
    assert "eval/runtime" in run.summary
    (event,) = store.events(run.run_id)
    assert event.kind == "reopened"
    assert "evaluate() or predict() after train()" in event.payload["reason"]
    capsys.readouterr()
    assert cli_main(["show", run.run_id]) == 0
    assert event.payload["reason"] in capsys.readouterr().out


def test_added_after_printer_callback_keeps_total_flos(
    model_dir: Path, tmp_path: Path, store: Any
) -> None:
    """Added late (no on_init_end) after PrinterCallback, which pops total_flos: all kept."""
    trainer = make_trainer(model_dir, **training_args(tmp_path / "out"))
    callbacks = trainer.callback_handler.callbacks
    assert any(isinstance(c, transformers.PrinterCallback) for c in callbacks)
    trainer.add_callback(CustomTrackerCallback(project="late"))
    trainer.train()

    run = only_run(store)
    assert run.status == "finished"
    assert run.summary["train/total_flos"] > 0
    assert steps(store, run.run_id, "train/loss") == [1, 2, 3, 4]


def test_lora_config_and_trainable_parameters(model_dir: Path, tmp_path: Path, store: Any) -> None:
    """A LoRA model's adapter config (a set of target_modules) and parameter counts land."""
    peft = pytest.importorskip("peft")
    trainer = make_trainer(model_dir, **training_args(tmp_path / "out", max_steps=2))
    trainer.model = peft.get_peft_model(
        trainer.model, peft.LoraConfig(r=4, target_modules={"q_proj", "v_proj"})
    )
    trainer.model_wrapped = trainer.model
    trainer.add_callback(CustomTrackerCallback())
    trainer.train()

    run = only_run(store)
    assert run.config["peft"]["default"]["target_modules"] == ["q_proj", "v_proj"]
    counts = run.config["trainer"]["parameters"]
    assert 0 < counts["trainable"] < counts["total"]
    assert steps(store, run.run_id, "train/loss") == [1, 2]


@pytest.mark.parametrize("how", ["last-in-output-dir", "args-path"])
def test_resume_from_checkpoint_continues_the_run(
    model_dir: Path, tmp_path: Path, store: Any, how: str
) -> None:
    """Resuming from a checkpoint (train()'s argument or args') continues the same run."""
    first = make_trainer(
        model_dir,
        [CustomTrackerCallback()],
        **training_args(tmp_path / "a", save_strategy="steps", save_steps=2),
    )
    first.train()
    checkpoint = tmp_path / "a" / "checkpoint-4"
    if how == "args-path":
        args = training_args(tmp_path / "b", max_steps=6, resume_from_checkpoint=str(checkpoint))
        resume: Any = str(checkpoint)
    else:
        args = training_args(tmp_path / "a", max_steps=6)
        resume = True
    second = make_trainer(model_dir, [CustomTrackerCallback()], **args)
    second.train(resume_from_checkpoint=resume)

    run = only_run(store)
    assert run.status == "finished"
    assert steps(store, run.run_id, "train/loss") == [1, 2, 3, 4, 5, 6]
    assert "resumed" in [e.kind for e in store.events(run.run_id)]


def test_crash_inside_train_marks_the_run_failed(
    model_dir: Path, data_dir: Path, tmp_path: Path, tracker_dir: Path, store: Any
) -> None:
    """An uncaught error inside train() leaves the run failed, with its type and message."""
    done = run_script(
        "crash", str(model_dir), str(data_dir), str(tmp_path / "out"),
        tracker_dir=tracker_dir, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "boom at step 2" in done.stderr
    run = only_run(store)
    assert run.status == "failed"
    assert "RuntimeError: boom at step 2" in (run.error or "")
    assert steps(store, run.run_id, "train/loss") == [1]  # step 2 failed before its log


class BrokenStore(BackendBase):
    """A backend whose every metric write fails, as a full disk would."""

    def log_metrics(self, run_id: str, batch: Any) -> None:
        raise OSError("disk full")


def test_store_failure_never_reaches_the_training_loop(model_dir: Path, tmp_path: Path) -> None:
    """Training completes although the store fails every metric write."""
    callback = CustomTrackerCallback(
        store=BrokenStore(), settings=TrackerSettings(finish_timeout=0.5, dir=tmp_path / "t")
    )
    trainer = make_trainer(model_dir, [callback], **training_args(tmp_path / "out", max_steps=2))
    trainer.train()
    assert trainer.state.global_step == 2


def test_missing_transformers_names_the_extra() -> None:
    """Without transformers, importing the adapter says which extra to install."""
    code = (
        "import sys; sys.modules['transformers'] = None\n"
        "try:\n    import tracker.integrations.transformers\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'tracker[transformers]'" in out.stdout
