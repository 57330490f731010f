"""Reading a metric into arrays and drawing it at a chart's width, with numpy.

What a chart draws of a metric depends on its width in pixels and the points, never on
how the writer chunked them (`draw`):

* a metric of at most `WHOLE` points a pixel column is drawn whole;
* a longer one is cut into ``width`` equal slices of its x range (the x of its first to
  its last finite point), one a pixel column, and of each slice its lowest and highest
  finite point are kept, with the metric's first and last finite point: every spike and
  dip is drawn, and a line never crosses a pixel column that holds points without a point
  in it. This is M4 (Jugel et al., VLDB 2014) without each slice's first and last point:
  those only place the short segment between two columns exactly, and would double what
  an overlay of 100 runs sends and the browser draws (measured: docs/benchmarks.md);
* where a slice holds at least `BLOCKS_PER_COLUMN` blocks of `tracker.store.BLOCK`
  points, the same is read from the metric's `tracker.store.Blocks` (what the SQL stores
  keep beside each chunk: an eighth of the bytes), each block going whole to the slice its
  middle falls in: a slice's edges move by at most half a block (an eighth of the slice),
  and its lowest and highest point are still exactly kept.

Largest-Triangle-Three-Buckets (`lttb`, Steinarsson, 2013), for a plot of a few hundred
points in a terminal (``tracker plot``), keeps the first and last points and, from each of
``n - 2`` equal buckets between them, the point that makes the largest triangle with the
point kept before it and the mean of the next bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tracker.naming import sampled_by_time
from tracker.store.base import Blocks, Store
from tracker.store.series import BLOCK, metric_blocks, metric_blocks_of

__all__ = ["BLOCKS_PER_COLUMN", "WHOLE", "Curve", "draw", "draw_all", "lttb", "read_curve"]

Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]

WHOLE = 2
"""Points a pixel column a metric may have and still be drawn whole."""
BLOCKS_PER_COLUMN = 4
"""Blocks a pixel column must hold for a metric to be drawn from its blocks."""

_BLOCK_DTYPE = np.dtype(
    [
        ("first_step", "<i8"),
        ("last_step", "<i8"),
        ("nonfinite", "<i8"),
        ("steps", "<i8", (4,)),
        ("first_time", "<f8"),
        ("last_time", "<f8"),
        ("values", "<f8", (4,)),
        ("times", "<f8", (4,)),
    ]
)  # tracker.store.BLOCK_RECORD


@dataclass(slots=True)
class Curve:
    """A metric's points in step order as three arrays, non-finite values left out; with
    ``xs`` where it is drawn along another metric (`draw`)."""

    steps: Floats
    values: Floats
    times: Floats
    count: int  # every point, the non-finite ones included
    nonfinite: int
    xs: Floats | None = None

    def thinned(self, points: int) -> Curve:
        """At most ``points`` of the curve, chosen by `lttb` over (step, value)."""
        return self._only(lttb(self.steps, self.values, points))

    def _only(self, keep: Indices | npt.NDArray[np.bool_]) -> Curve:
        return Curve(
            self.steps[keep],
            self.values[keep],
            self.times[keep],
            self.count,
            self.nonfinite,
            None if self.xs is None else self.xs[keep],
        )


def read_curve(store: Store, run_id: str, key: str) -> Curve:
    """Metric ``key`` of the run, read chunk by chunk into arrays: one point per step, or
    every sample of a metric sampled by time (``system/``)."""
    steps: list[Floats] = []
    values: list[Floats] = []
    times: list[Floats] = []
    for chunk in store.iter_history(run_id, key, raw=sampled_by_time(key)):
        # from the array's buffer: element by element (np.asarray) takes as long as reading
        steps.append(np.frombuffer(chunk.steps, dtype=np.int64).astype(np.float64))
        values.append(np.frombuffer(chunk.values, dtype=np.float64))
        times.append(np.frombuffer(chunk.times, dtype=np.float64))
    if not steps:
        empty = np.empty(0, dtype=np.float64)
        return Curve(empty, empty, empty, 0, 0)
    all_values = np.concatenate(values)
    finite = np.isfinite(all_values)
    return Curve(
        np.concatenate(steps)[finite],
        all_values[finite],
        np.concatenate(times)[finite],
        count=len(all_values),
        nonfinite=int(len(all_values) - finite.sum()),
    )


def draw_all(
    store: Store,
    key: str,
    width: int,
    counts: Mapping[str, int],
    along: Mapping[str, Curve] | None = None,
) -> dict[str, Curve]:
    """`draw` of metric ``key`` of each run of ``counts`` (its count of points), along
    the run's curve in ``along`` if given; the blocks of the runs drawn from them read
    together (`tracker.store.metric_blocks_of`: on a server, one query for many runs), each
    run drawn as its blocks come."""
    from_blocks = [run_id for run_id, count in counts.items() if _from_blocks_at(count, width)]
    blocks = metric_blocks_of(store, from_blocks, key, raw=sampled_by_time(key))
    drawn = {
        run_id: _from_blocks(read, key, width, None if along is None else along[run_id])
        for run_id, read in blocks
    }
    for run_id, count in counts.items():
        if run_id not in drawn:
            drawn[run_id] = draw(
                store, run_id, key, width, count, None if along is None else along[run_id]
            )
    return {run_id: drawn[run_id] for run_id in counts}


def draw(
    store: Store,
    run_id: str,
    key: str,
    width: int,
    count: int,
    along: Curve | None = None,
) -> Curve:
    """What a chart ``width`` pixels wide draws of metric ``key`` (of ``count`` points, as
    `tracker.store.MetricStats` counts them), as the module says; with ``along`` (another
    metric of the run, growing with the step: `x_of`), sliced along it, each point's x in
    ``xs`` and the points outside its steps left out. x is the step, or the time for a
    metric sampled by time."""
    if _from_blocks_at(count, width):
        blocks = metric_blocks(store, run_id, key, raw=sampled_by_time(key))
        return _from_blocks(blocks, key, width, along)
    curve = read_curve(store, run_id, key)
    x = _x(curve.steps, curve.times, key, along)
    if along is not None:
        curve = curve._only(~np.isnan(x))
        x = curve.xs = x[~np.isnan(x)]
    if count <= WHOLE * width:
        return curve
    return curve._only(_lowest_and_highest(_columns(x, x, width), curve.values))


def x_of(store: Store, run_id: str, key: str) -> Curve:
    """Metric ``key`` of the run as an x axis: its finite points, where it goes down its
    running maximum (an x axis only grows)."""
    curve = read_curve(store, run_id, key)
    curve.values = np.maximum.accumulate(curve.values) if len(curve.values) else curve.values
    return curve


def _x(steps: Floats, times: Floats, key: str, along: Curve | None) -> Floats:
    """The x of points: the step, the time (a metric sampled by time), or ``along``'s
    value at the step (NaN outside its steps)."""
    if along is None:
        return times if sampled_by_time(key) else steps
    if not len(along.steps):
        return np.full(len(steps), np.nan)
    inside = (steps >= along.steps[0]) & (steps <= along.steps[-1])
    return np.where(inside, np.interp(steps, along.steps, along.values), np.nan)


def _from_blocks_at(count: int, width: int) -> bool:
    """Whether a metric of ``count`` points is drawn from its blocks at ``width``."""
    return count >= BLOCK * BLOCKS_PER_COLUMN * width


def _from_blocks(blocks: Blocks, key: str, width: int, along: Curve | None) -> Curve:
    records = np.frombuffer(blocks.records, dtype=_BLOCK_DTYPE)
    middle = (
        _x(records["first_step"].astype(np.float64), records["first_time"], key, along)
        + _x(records["last_step"].astype(np.float64), records["last_time"], key, along)
    ) / 2
    steps = records["steps"].astype(np.float64).ravel()
    times, values = records["times"].ravel(), records["values"].ravel()
    x = _x(steps, times, key, along)
    kept = np.isfinite(values) & ~np.isnan(x)
    middles = np.repeat(middle, 4)[kept]
    x = x[kept]
    # a block whose middle is outside `along` has its points' own x (they are inside)
    middles = np.where(np.isnan(middles), x, middles)
    curve = Curve(
        steps[kept],
        values[kept],
        times[kept],
        blocks.count,
        int(records["nonfinite"].sum()),
        None if along is None else x,
    )
    return curve._only(_lowest_and_highest(_columns(middles, x, width), curve.values))


def _columns(x: Floats, finite_x: Floats, width: int) -> npt.NDArray[np.int64]:
    """The pixel column of each ``x`` on a chart ``width`` wide spanning ``finite_x``."""
    if not len(x):
        return np.empty(0, dtype=np.int64)
    low, high = float(finite_x.min()), float(finite_x.max())
    if high <= low:
        return np.zeros(len(x), dtype=np.int64)
    column = np.floor((x - low) / (high - low) * width).astype(np.int64)
    return np.clip(column, 0, width - 1)


def _lowest_and_highest(columns: npt.NDArray[np.int64], values: Floats) -> Indices:
    """Indices, in order, of the first and last value and of the lowest and highest of
    each column (the first of equal values)."""
    n = len(values)
    if not n:
        return np.empty(0, dtype=np.intp)
    order = None
    if np.any(columns[1:] < columns[:-1]):  # x went back (a clock): group the columns
        order = np.argsort(columns, kind="stable")
        columns, values = columns[order], values[order]
    starts = np.flatnonzero(np.r_[True, columns[1:] != columns[:-1]])
    sizes = np.diff(np.r_[starts, n])
    at = np.arange(n)
    lowest = np.repeat(np.minimum.reduceat(values, starts), sizes) == values
    highest = np.repeat(np.maximum.reduceat(values, starts), sizes) == values
    chosen = [
        np.minimum.reduceat(np.where(lowest, at, n), starts),
        np.minimum.reduceat(np.where(highest, at, n), starts),
    ]
    keep = np.zeros(n, dtype=np.bool_)  # a mask, not np.unique: 10 times faster here
    keep[[0, n - 1]] = True
    for found in chosen:
        keep[found if order is None else order[found]] = True
    return np.flatnonzero(keep)


PRESELECT = 4  # slices per output point, each giving its lowest and highest point


def lttb(x: Floats, y: Floats, points: int) -> npt.NDArray[np.intp]:
    """Indices of at most ``points`` points of ``(x, y)`` that keep its shape (LTTB).

    ``x`` must be sorted. With ``points`` below 3 or at least ``len(x)``, every index.
    A long series is first cut to the lowest and highest point of each of
    ``PRESELECT * points`` equal slices (MinMaxLTTB, Van Der Donckt et al., 2023): LTTB
    then weighs a few candidates per bucket instead of thousands, with the same peaks kept.
    """
    n = len(x)
    if points >= n or points < 3:
        return np.arange(n)
    pool = _extremes(y, PRESELECT * points) if n > 2 * PRESELECT * points else np.arange(n)
    return pool[_lttb(x[pool], y[pool], points)]


def _extremes(y: Floats, slices: int) -> npt.NDArray[np.intp]:
    """The first and last index and, of each of about ``slices`` equal slices of the
    points between them (a shorter one last), the indices of the lowest and the highest
    value: sorted, without repeats."""
    n = len(y)
    size = -(-(n - 2) // slices)
    whole = (n - 2) // size
    body = y[1 : 1 + whole * size].reshape(whole, size)
    starts = 1 + np.arange(whole) * size
    found = [np.array([0, n - 1]), starts + body.argmin(axis=1), starts + body.argmax(axis=1)]
    rest = y[1 + whole * size : n - 1]
    if len(rest):
        found.append(1 + whole * size + np.array([rest.argmin(), rest.argmax()]))
    return np.unique(np.concatenate(found))


def _lttb(x: Floats, y: Floats, points: int) -> npt.NDArray[np.intp]:
    """Plain LTTB over ``points - 2`` equal buckets; ``3 <= points < len(x)``."""
    n = len(x)
    edges = np.linspace(1, n - 1, points - 1).astype(np.intp)  # points - 2 buckets
    # the mean of each bucket and of the last point, the "next bucket" of the last one
    counts = np.diff(np.append(edges, n))
    mean_x = (np.add.reduceat(x, edges) / counts).tolist()
    mean_y = (np.add.reduceat(y, edges) / counts).tolist()
    xs, ys, bounds = x.tolist(), y.tolist(), edges.tolist()
    keep = [0]
    chosen = 0
    for i in range(points - 2):
        ax, ay, cx, cy = xs[chosen], ys[chosen], mean_x[i + 1], mean_y[i + 1]
        best = -1.0
        for j in range(bounds[i], bounds[i + 1]):
            area = abs((ax - cx) * (ys[j] - ay) - (ax - xs[j]) * (cy - ay))
            if area > best:
                best, chosen = area, j
        keep.append(chosen)
    keep.append(n - 1)
    return np.array(keep, dtype=np.intp)
