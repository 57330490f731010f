"""Fixtures of the importer tests: the real trackers write runs offline, in processes of
their own (`produce.py`); ``tracker import`` runs in this process or as a command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
_TESTS = str(_HERE.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from tracked_runs import cli  # noqa: E402, F401 (a fixture)

OFFLINE = {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ALLOW_FILE_STORE": "true",
    "DO_NOT_TRACK": "true",
    "HF_HUB_OFFLINE": "1",
    "TRACKIO_TELEMETRY": "0",
}
"""No tracker contacts the network: W&B offline, MLflow's and Trackio's telemetry off."""

Produce = Callable[..., str]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test runs with the trackers offline and their folders in tmp_path."""
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-home"))
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))


@pytest.fixture
def produce(tracker_dir: Path) -> Produce:
    """Write a run with a real tracker: ``produce(tool, where, name, steps, *more)``;
    what the process printed."""

    def run(tool: str, where: str | Path, name: str, steps: int, *more: str) -> str:
        done = subprocess.run(
            [sys.executable, str(_HERE / "produce.py"), tool, str(where), name, str(steps), *more],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ},
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip()

    return run
