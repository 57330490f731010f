"""Runs tracked for real with `CustomTracker`, for the tests of the commands and dashboard.

Importable as ``tracked_runs`` from the conftest files of ``tests/commands``,
``tests/importers`` and ``tests/ui`` (these folders have no ``__init__.py``); the first two
take the ``cli`` fixture from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import pytest

from tracker import CustomTracker
from tracker.cli import main


def track(
    name: str,
    *,
    project: str = "demo",
    config: Mapping[str, Any] | None = None,
    framework: str | None = "transformers",
    tags: Sequence[str] = (),
    sweep: str | None = None,
    steps: int = 20,
    offset: float = 0.0,
    extra: Mapping[str, Sequence[float]] | None = None,
    fail: bool = False,
) -> str:
    """Track one run: ``train/loss`` falling from ``2 + offset`` over ``steps`` steps,
    ``eval/loss`` every 5 steps, a checkpoint event, and ``extra`` metrics (one value per
    step). With ``fail``, the run ends failed. Returns the run id."""
    tracker = CustomTracker(
        project, name, config=config, framework=framework, tags=tags, sweep=sweep
    )
    tracker.start()
    for step in range(steps):
        metrics = {"train/loss": 2.0 / (step + 1) + offset, "train/learning_rate": 1e-3}
        if step % 5 == 0:
            metrics["eval/loss"] = 1.0 / (step + 1) + offset
        for key, values in (extra or {}).items():
            if step < len(values):
                metrics[key] = values[step]
        tracker.log_metrics(metrics, step=step)
    tracker.log_event("checkpoint", {"path": f"/ckpt/{name}"}, step=steps - 1)
    tracker.log_summary({"train/runtime": 1.5})
    run_id = tracker.run_id
    assert run_id is not None
    tracker.finish("failed" if fail else "finished", "boom" if fail else None)
    return run_id


class Result(NamedTuple):
    """What a command did: exit status, stdout, stderr."""

    code: int
    out: str
    err: str


Cli = Callable[..., Result]
"""Runs ``tracker ARGS...`` in the test's process (the ``cli`` fixture)."""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``tracker ARGS...`` in this process and capture its output."""

    def invoke(*argv: str) -> Result:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke
