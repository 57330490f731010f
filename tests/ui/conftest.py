"""Fixtures of the dashboard tests: a store with ordinary and hostile runs, served."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from ui_kit import (  # noqa: E402
    HOSTILE_CONFIG,
    HOSTILE_METRIC,
    HOSTILE_NAME,
    LONG_POINTS,
    SPIKE_EVERY,
    Served,
    serve,
)

from tracked_runs import track  # noqa: E402


@pytest.fixture
def filled_store(tracker_dir: Path) -> dict[str, str]:
    """Runs tracked for real: ``alpha`` (with ``train/long``, LONG_POINTS points with
    spikes), ``beta`` (other config, higher loss), and one whose name, config and a
    metric name are hostile, with NaN and infinite values."""
    return {
        "alpha": track(
            "alpha",
            config={"lr": 0.1, "model": {"layers": 2}},
            steps=LONG_POINTS,
            extra={"train/long": [float(i % SPIKE_EVERY == 0) for i in range(LONG_POINTS)]},
        ),
        "beta": track("beta", config={"lr": 0.2, "model": {"layers": 4}}, offset=0.5),
        "hostile": track(
            HOSTILE_NAME,
            config=HOSTILE_CONFIG,
            extra={HOSTILE_METRIC: [float("nan"), float("inf"), 1.0, 2.0]},
        ),
    }


@pytest.fixture
def served(filled_store: dict[str, str]) -> Iterator[Served]:
    """The dashboard over ``filled_store`` on 127.0.0.1, any free port."""
    pytest.importorskip("bokeh")
    with serve() as url:
        yield Served(url, filled_store)
