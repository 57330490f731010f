"""Fixtures of the command tests: a store of real tracked runs and a way to run commands."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from tracked_runs import cli, track  # noqa: E402, F401 (cli: a fixture)


@pytest.fixture
def runs(tracker_dir: Path) -> dict[str, str]:
    """Three tracked runs in the default store, by name: ``alpha`` and ``beta`` (project
    demo; beta has a higher loss, other config and a tag), ``gamma`` (failed, torchtune)."""
    return {
        "alpha": track("alpha", config={"lr": 0.1, "model": {"name": "tiny", "layers": 2}}),
        "beta": track(
            "beta",
            config={"lr": 0.2, "model": {"name": "tiny", "layers": 4}},
            offset=0.5,
            tags=["sweep"],
        ),
        "gamma": track(
            "gamma", project="other", framework="torchtune", config={"lr": 0.1}, fail=True
        ),
    }
