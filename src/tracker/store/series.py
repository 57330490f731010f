"""Helpers every store shares for a metric's points: step order, chunking, statistics."""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Iterable, Iterator

from tracker.records import Series
from tracker.store.base import HISTORY_CHUNK, Extremes, MetricStats, Store, StoredExtremes

__all__ = [
    "EXTREMES_SLICE",
    "chunks",
    "extreme_indices",
    "extremes_of",
    "finite_range",
    "in_step_order",
    "metric_extremes",
    "stats_of",
]

EXTREMES_SLICE = 1024
"""Points per slice where `Extremes` are computed from a metric's points."""


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


def extreme_indices(values: array[float]) -> tuple[list[int], int]:
    """The positions of the first, lowest, highest and last finite value, in order and
    each once (none where no value is finite), and how many values are not finite."""
    if math.isfinite(sum(values)):  # every value finite (an overflow takes the long way)
        lo, hi = values.index(min(values)), values.index(max(values))
        return sorted({0, lo, hi, len(values) - 1}), 0
    finite = [i for i, v in enumerate(values) if math.isfinite(v)]
    if not finite:
        return [], len(values)
    lo = min(finite, key=values.__getitem__)
    hi = max(finite, key=values.__getitem__)
    return sorted({finite[0], lo, hi, finite[-1]}), len(values) - len(finite)


def extremes_of(pieces: Iterable[Series], size: int = EXTREMES_SLICE) -> Extremes:
    """`Extremes` of the points of ``pieces``, slice by slice of ``size`` points."""
    points, count, nonfinite = Series(), 0, 0
    for piece in pieces:
        for start in range(0, len(piece), size):
            values = piece.values[start : start + size]
            indices, bad = extreme_indices(values)
            for i in indices:
                points.steps.append(piece.steps[start + i])
                points.values.append(values[i])
                points.times.append(piece.times[start + i])
            count += len(values)
            nonfinite += bad
    return Extremes(points, count, nonfinite)


def metric_extremes(store: Store, run_id: str, key: str, *, raw: bool = False) -> Extremes:
    """The `Extremes` of metric ``key`` (of `Store.history`'s points, or with ``raw`` of
    every point in logging order): read as stored where the store keeps them
    (`StoredExtremes`: a few numbers a chunk), else computed from the points."""
    if isinstance(store, StoredExtremes):
        return store.metric_extremes(run_id, key, raw=raw)
    return extremes_of(store.iter_history(run_id, key, raw=raw))
