"""``tracker run -- accelerate launch`` with a script whose Accelerator lists no tracker of
ours, and how the hook adds ours to the ``log_with`` a script gives."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("accelerate")

from accelerate_loop import CONFIG, STEPS, Recorder

from tracked_commands import BIN, only_run, tracker_run
from tracker import Store
from tracker.autoattach.accelerate import _with_ours
from tracker.integrations.accelerate import CustomTracker

LOOP = Path(__file__).with_name("accelerate_loop.py")


@pytest.mark.slow
def test_accelerate_launch_two_processes_make_one_run(tracker_dir: Path, store: Store) -> None:
    """``accelerate launch --multi_gpu --num_processes 2`` (torchrun; the script asks for the
    CPU, gloo): one run of both processes, every step once, init_trackers' config, and
    --project over init_trackers' project."""
    tracker_run(
        BIN / "accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--main_process_port", "0", "--mixed_precision", "no", "--dynamo_backend", "no",
        LOOP, "theirs", "untracked",
        tracker_dir=tracker_dir, options=["--project", "ours", "--name", "launched"],
    )  # fmt: skip
    run = only_run(store)
    assert (run.project, run.name, run.framework, run.status) == (
        "ours", "launched", "accelerate", "finished"
    )  # fmt: skip
    assert run.environment["world_size"] == 2
    assert run.config == CONFIG
    raw = store.history(run.run_id, "train/loss", raw=True)
    assert [step for step, _, _ in raw] == list(range(STEPS))


def test_ours_is_added_beside_the_users_trackers() -> None:
    """log_with keeps the user's trackers, in order, and gains ours at the end."""
    mine = Recorder()
    for theirs, listed in [
        (None, []),
        ("wandb", ["wandb"]),
        ("all", ["all"]),
        ([mine], [mine]),
        ((mine, "tensorboard"), [mine, "tensorboard"]),
    ]:
        added = _with_ours(theirs)
        assert added[:-1] == listed and isinstance(added[-1], CustomTracker), theirs


@pytest.mark.parametrize("theirs", ["tracker", [CustomTracker()], ["wandb", CustomTracker()]])
def test_a_tracker_of_ours_already_listed_is_the_only_one(theirs: object) -> None:
    """A log_with that names ours (by instance or registered name) is left as it is."""
    assert _with_ours(theirs) is theirs
