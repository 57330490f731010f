"""Helpers every store shares for a metric's points: step order, chunking, statistics."""

from __future__ import annotations

import math
import operator
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence

from tracker.records import Series
from tracker.store.base import HISTORY_CHUNK, Blocks, MetricStats, Store, StoredBlocks

__all__ = [
    "BLOCK",
    "BLOCK_RECORD",
    "blocks_of",
    "chunks",
    "extreme_indices",
    "finite_range",
    "in_step_order",
    "metric_blocks",
    "metric_blocks_of",
    "pack_blocks",
    "stats_of",
]

BLOCK = 32
"""Points per block of `Blocks`: a chart drawn from blocks reads about an eighth of the
bytes of the points, and any width with at least 4 blocks a pixel column is drawn from
them (`tracker.ui.downsample`)."""

BLOCK_RECORD = struct.Struct("<7q10d")
"""One block of `Blocks`, little-endian: int64 first step, last step, non-finite values,
the 4 kept points' steps; float64 first time, last time, the 4 kept points' values, their
times (`pack_blocks`)."""


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


def pack_blocks(steps: array[int], values: array[float], times: array[float]) -> bytes:
    """The `Blocks` records of these points, cut into blocks of `BLOCK` from the first."""
    records = []
    for start in range(0, len(steps), BLOCK):
        end = min(start + BLOCK, len(steps))
        indices, nonfinite = extreme_indices(values[start:end])
        kept = [start + i for i in indices]
        unused = 4 - len(kept)
        records.append(
            BLOCK_RECORD.pack(
                steps[start],
                steps[end - 1],
                nonfinite,
                *[steps[i] for i in kept],
                *[steps[start]] * unused,
                times[start],
                times[end - 1],
                *[values[i] for i in kept],
                *[math.nan] * unused,
                *[times[i] for i in kept],
                *[times[start]] * unused,
            )
        )
    return b"".join(records)


def blocks_of(pieces: Iterable[Series]) -> Blocks:
    """`Blocks` of the points of ``pieces`` (read whole: for stores that keep none)."""
    points = Series()
    for piece in pieces:
        points.steps.extend(piece.steps)
        points.values.extend(piece.values)
        points.times.extend(piece.times)
    return Blocks(pack_blocks(points.steps, points.values, points.times), len(points))


def metric_blocks(store: Store, run_id: str, key: str, *, raw: bool = False) -> Blocks:
    """The `Blocks` of metric ``key`` (of `Store.history`'s points, or with ``raw`` of
    every point in logging order): read as stored where the store keeps them
    (`StoredBlocks`), else computed from the points."""
    return next(metric_blocks_of(store, [run_id], key, raw=raw))[1]


def metric_blocks_of(
    store: Store, run_ids: Sequence[str], key: str, *, raw: bool = False
) -> Iterator[tuple[str, Blocks]]:
    """``(run_id, metric_blocks)`` of each run, in order (each run once), as they are
    read: those of many runs in one query where the store keeps them (`StoredBlocks`),
    so that a caller holds one query's blocks at a time (a page of 100 runs of 100,000
    points is 43 MB)."""
    if isinstance(store, StoredBlocks):
        yield from store.metric_blocks_of(run_ids, key, raw=raw)
        return
    for run_id in dict.fromkeys(run_ids):
        yield run_id, blocks_of(store.iter_history(run_id, key, raw=raw))
