"""A group of runs' curves of one metric as one band: at common steps, the mean line and
the lowest and highest value of the runs there (seeds of one setting, drawn as one).

The runs need not log at the same steps: each curve is interpolated linearly onto the
common steps (its own steps, all runs' together, or ``points`` evenly spaced ones where
those are more), and counts only inside its own range of steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tracker.ui.downsample import Curve

__all__ = ["Band", "band_of"]

Floats = npt.NDArray[np.float64]


@dataclass(slots=True)
class Band:
    """Mean, min and max of a group's curves at ``steps``, and how many runs count there."""

    steps: Floats
    mean: Floats
    min: Floats
    max: Floats
    runs: npt.NDArray[np.int64]


def band_of(curves: Sequence[Curve], points: int) -> Band:
    """The band of ``curves`` at no more than ``points`` common steps."""
    drawn = [c for c in curves if len(c.steps)]
    if not drawn:
        empty = np.empty(0, dtype=np.float64)
        return Band(empty, empty, empty, empty, np.empty(0, dtype=np.int64))
    steps = np.unique(np.concatenate([c.steps for c in drawn]))
    if len(steps) > points:
        steps = np.linspace(steps[0], steps[-1], max(2, points))
    grid = np.vstack(
        [np.interp(steps, c.steps, c.values, left=np.nan, right=np.nan) for c in drawn]
    )
    present = ~np.isnan(grid)
    runs = present.sum(axis=0)
    some = runs > 0
    total = np.where(present, grid, 0.0).sum(axis=0)
    mean = np.divide(total, runs, out=np.full(len(steps), np.nan), where=some)
    low = np.where(present, grid, np.inf).min(axis=0)
    high = np.where(present, grid, -np.inf).max(axis=0)
    return Band(steps[some], mean[some], low[some], high[some], runs[some].astype(np.int64))
