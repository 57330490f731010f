"""The accelerate adapter against the real accelerate, on the CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("accelerate")

import accelerate.tracking
from accelerate import Accelerator
from accelerate_loop import CONFIG, STEPS, Recorder, train

from tracker import Store
from tracker.integrations.accelerate import CustomTracker
from workers import worker_env

HERE = Path(__file__).resolve().parent


def only_run(store: Store, project: str) -> Any:
    """The single run of ``project``, asserting there is exactly one."""
    runs = store.runs(project=project)
    assert len(runs) == 1, runs
    return runs[0]


def assert_every_step_once(store: Store, run_id: str, losses: list[float] | None = None) -> None:
    """``train/loss`` and ``train/learning_rate`` hold steps 0..STEPS-1, once each."""
    for key in ("train/loss", "train/learning_rate"):
        raw = store.history(run_id, key, raw=True)
        assert [step for step, _, _ in raw] == list(range(STEPS)), key
    loss = [value for _, value, _ in store.history(run_id, "train/loss")]
    if losses is not None:
        assert loss == pytest.approx(losses)
    assert all(isinstance(v, float) for v in loss)
    assert {v for _, v, _ in store.history(run_id, "train/learning_rate")} == {CONFIG["lr"]}


def test_instance_in_log_with(store: Store) -> None:
    """An instance in log_with: project from init_trackers, config, tensor losses as floats."""
    accelerator = Accelerator(cpu=True, log_with=CustomTracker(run_name="single"))
    losses = train(accelerator, "acc-single")
    run = only_run(store, "acc-single")
    assert (run.name, run.framework, run.status) == ("single", "accelerate", "finished")
    assert run.config == CONFIG
    assert store.keys(run.run_id) == ["train/learning_rate", "train/loss"]
    assert_every_step_once(store, run.run_id, losses)


def test_in_a_list_with_another_tracker(store: Store) -> None:
    """In a list with another tracker both get every step; get_tracker unwraps to our run."""
    ours, other = CustomTracker(run_name="listed", tags=["a"]), Recorder()
    accelerator = Accelerator(cpu=True, log_with=[other, ours])
    train(accelerator, "acc-list")
    assert other.steps == list(range(STEPS))
    assert accelerator.get_tracker("tracker", unwrap=True) is ours.tracker
    run = only_run(store, "acc-list")
    assert (run.name, run.tags, run.status) == ("listed", ["a"], "finished")
    assert_every_step_once(store, run.run_id)


def test_explicit_project_wins(store: Store) -> None:
    """A project given to the constructor wins over init_trackers' project_name."""
    train(Accelerator(cpu=True, log_with=CustomTracker("mine")), "theirs")
    assert only_run(store, "mine").status == "finished"
    assert store.runs(project="theirs") == []


@pytest.mark.skipif(
    not hasattr(accelerate.tracking, "register_tracker_class"),
    reason="this accelerate has no register_tracker_class",
)
def test_by_registered_name(store: Store) -> None:
    """log_with="tracker" works, with init_kwargs reaching our constructor."""
    accelerator = Accelerator(cpu=True, log_with="tracker")
    init = {"init_kwargs": {"tracker": {"run_name": "by-name", "tags": ["x"]}}}
    train(accelerator, "acc-name", **init)
    run = only_run(store, "acc-name")
    assert (run.name, run.tags, run.status) == ("by-name", ["x"], "finished")
    assert run.config == CONFIG
    assert_every_step_once(store, run.run_id)


def test_tracker_before_init_trackers_says_what_to_do() -> None:
    """Using the run before init_trackers raises with the call to make."""
    with pytest.raises(RuntimeError, match=r"init_trackers\(\)"):
        CustomTracker().log({"loss": 1.0}, step=0)


@pytest.mark.slow
def test_accelerate_tracking_example_keeps_its_epoch_curves(store: Store) -> None:
    """As accelerate's examples/by_feature/tracking.py logs: train_loss, accuracy and f1
    once an epoch at step=epoch are curves (train/loss, eval/accuracy, eval/f1), not a
    summary value."""
    accelerator = Accelerator(cpu=True, log_with=CustomTracker(run_name="tracking"))
    accelerator.init_trackers("example", config={"lr": 2e-5})
    for epoch in range(3):
        accelerator.log(
            {
                "accuracy": 0.5 + epoch / 10,
                "f1": 0.4 + epoch / 10,
                "train_loss": 1.0 / (epoch + 1),
                "epoch": epoch,
            },
            step=epoch,
        )
    accelerator.end_training()
    (run,) = store.runs()
    assert [s for s, _v, _t in store.history(run.run_id, "train/loss")] == [0, 1, 2]
    assert [s for s, _v, _t in store.history(run.run_id, "eval/accuracy")] == [0, 1, 2]
    assert "eval/f1" in store.keys(run.run_id)
    assert "train/mean_loss" not in run.summary


def test_the_adapters_run_is_safe_on_every_rank(
    tracker_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a process other than the main one, the adapter's .tracker is a no-op run."""
    for name, value in {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    adapter = CustomTracker(run_name="other-rank")
    adapter.tracker.log_summary({"best/eval_loss": 1.7})
    adapter.tracker.log_event("checkpoint", {"path": "x"}, step=1)
    assert not adapter.tracker.enabled


def test_two_processes_make_one_run(store: Store, tracker_dir: Path, tmp_path: Path) -> None:
    """Under torchrun with 2 processes (gloo) there is one run, each step logged once, and
    each save_state folder one checkpoint version."""
    env = worker_env(TRACKER_DIR=str(tracker_dir))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += ["--standalone", str(HERE / "accelerate_loop.py"), "acc-ddp", str(tmp_path)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    run = only_run(store, "acc-ddp")
    assert (run.name, run.status) == ("ddp", "finished")
    assert run.environment["world_size"] == 2
    assert run.config == CONFIG
    assert "best/loss" in run.summary  # rank 1's .tracker.log_summary did not crash it
    assert "last/loss" in run.summary  # nor get_tracker("tracker", unwrap=True).log_summary
    assert [e.kind for e in store.events(run.run_id)].count("trained") == 1  # rank 0's only
    assert_every_step_once(store, run.run_id)
    saved = store.artifacts(run_id=run.run_id)
    folders = [str(tmp_path / "checkpoints" / f"checkpoint_{i}") for i in (0, 1)]
    assert [(a.kind, a.uri, a.step, a.state) for a in saved] == [
        ("checkpoint", folders[0], 2, "present"),
        ("checkpoint", folders[1], 5, "present"),
    ]


def test_save_state_folders_are_checkpoints_and_rotation_marks_them_gone(
    store: Store, tmp_path: Path
) -> None:
    """save_state every 2 steps with automatic naming and total_limit=2: three checkpoint
    versions at steps 1, 3, 5 with the loss then, the kept two hashed, the first gone."""
    from accelerate.utils import ProjectConfiguration

    saves = ProjectConfiguration(tmp_path, automatic_checkpoint_naming=True, total_limit=2)
    adapter = CustomTracker(run_name="saves")
    accelerator = Accelerator(cpu=True, log_with=adapter, project_config=saves)
    losses = train(accelerator, "acc-saves", save_every=2)
    run = only_run(store, "acc-saves")
    saved = store.artifacts(run_id=run.run_id, kind="checkpoint")
    assert [(a.uri, a.step, a.state) for a in saved] == [
        (str(tmp_path / "checkpoints" / f"checkpoint_{i}"), step, state)
        for i, step, state in [(0, 1, "gone"), (1, 3, "present"), (2, 5, "present")]
    ]
    assert all(a.digest and a.size for a in saved[1:])  # the first may be gone before hashed
    assert saved[1].metrics["train/loss"] == pytest.approx(losses[3])


def test_missing_accelerate_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without accelerate, importing the adapter says which extra to install."""
    for name in [m for m in sys.modules if m.startswith(("accelerate.", "tracker.integrations."))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "accelerate", None)
    with pytest.raises(ImportError) as caught:
        import tracker.integrations.accelerate  # noqa: F401
    assert str(caught.value) == (
        "tracker.integrations.accelerate needs accelerate, which is not installed: "
        "pip install 'tracker[accelerate]'"
    )
