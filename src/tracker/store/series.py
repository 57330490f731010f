"""Helpers every store shares for a metric's points: step order, chunking, statistics."""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Iterator

from tracker.records import Series
from tracker.store.base import HISTORY_CHUNK, MetricStats

__all__ = ["chunks", "finite_range", "in_step_order", "stats_of"]


def in_step_order(series: Series) -> Series:
    """The points sorted by step, keeping the one logged last for each step."""
    steps = series.steps
    if all(map(operator.lt, steps, steps[1:])):
        return series
    latest = {step: i for i, step in enumerate(steps)}
    order = [latest[step] for step in sorted(latest)]
    return Series(
        array("q", (steps[i] for i in order)),
        array("d", (series.values[i] for i in order)),
        array("d", (series.times[i] for i in order)),
    )


def chunks(series: Series, size: int = HISTORY_CHUNK) -> Iterator[Series]:
    """``series`` cut into consecutive pieces of at most ``size`` points."""
    for start in range(0, len(series), size):
        end = start + size
        yield Series(series.steps[start:end], series.values[start:end], series.times[start:end])


def finite_range(values: array[float]) -> tuple[float, float]:
    """Smallest and largest value, NaNs left out (NaN, NaN if every value is NaN)."""
    lo, hi = min(values), max(values)
    if math.isnan(lo) or math.isnan(hi):  # a leading NaN poisons min/max: drop NaNs
        finite = [v for v in values if not math.isnan(v)]
        lo, hi = (min(finite), max(finite)) if finite else (math.nan, math.nan)
    return lo, hi


def stats_of(steps: array[int], values: array[float], times: array[float]) -> MetricStats:
    """`MetricStats` of one metric's columns."""
    lo, hi = finite_range(values)
    return MetricStats(
        count=len(steps),
        last_step=steps[-1],
        last_value=values[-1],
        last_time=times[-1],
        min=lo,
        max=hi,
    )
