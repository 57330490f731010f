"""Two processes under ``torchrun`` (gloo on the CPU) make one run, each step once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kit import run_script


@pytest.mark.parametrize(("mode", "framework"), [("trainer", "transformers"), ("sft", "trl")])
def test_torchrun_two_processes_write_one_run(
    mode: str,
    framework: str,
    model_dir: Path,
    data_dir: Path,
    tmp_path: Path,
    tracker_dir: Path,
    store: Any,
) -> None:
    """Only world process zero writes: one run, world size 2, every step logged once."""
    run_script(
        mode, str(model_dir), str(data_dir), str(tmp_path / "out"),
        tracker_dir=tracker_dir, nproc=2,
    )  # fmt: skip
    (run,) = store.runs()
    assert (run.status, run.framework) == ("finished", framework)
    assert run.config["trainer"]["world_size"] == 2
    assert [s for s, _v, _t in store.history(run.run_id, "train/loss", raw=True)] == [1, 2, 3, 4]
