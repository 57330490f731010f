"""Reading a metric into arrays and thinning it for drawing (LTTB), with numpy.

Largest-Triangle-Three-Buckets (Steinarsson, 2013) keeps the first and last points and,
from each of ``n - 2`` equal buckets between them, the point that makes the largest
triangle with the point kept before it and the mean of the next bucket: peaks, dips and
the overall shape survive where taking every k-th point would lose them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tracker.naming import sampled_by_time
from tracker.store.base import Store
from tracker.store.series import metric_extremes

__all__ = ["Curve", "lttb", "read_curve", "read_overview"]

Floats = npt.NDArray[np.float64]


@dataclass(slots=True)
class Curve:
    """A metric's points in step order as three arrays, non-finite values left out."""

    steps: Floats
    values: Floats
    times: Floats
    count: int  # every point, the non-finite ones included
    nonfinite: int

    def thinned(self, points: int) -> Curve:
        """At most ``points`` of the curve, chosen by `lttb` over (step, value)."""
        keep = lttb(self.steps, self.values, points)
        return self._only(keep)

    def envelope(self, points: int) -> Curve:
        """At most about ``points`` of the curve: the first, the last, and the lowest and
        highest of each of ``points / 2`` equal slices (no LTTB: a line among many in an
        overlay needs its envelope, and this is 25 times cheaper)."""
        if points >= len(self.steps) or points < 4:
            return self
        return self._only(_extremes(self.values, points // 2))

    def _only(self, keep: npt.NDArray[np.intp]) -> Curve:
        return Curve(
            self.steps[keep], self.values[keep], self.times[keep], self.count, self.nonfinite
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


def read_overview(store: Store, run_id: str, key: str) -> Curve:
    """`read_curve` cut down to each stored chunk's first, lowest, highest and last point
    (`tracker.store.metric_extremes`): what a line among many in an overlay shows, read
    without reading the points where the store keeps them (the SQL stores)."""
    extremes = metric_extremes(store, run_id, key, raw=sampled_by_time(key))
    points = extremes.points
    return Curve(
        np.frombuffer(points.steps, dtype=np.int64).astype(np.float64),
        np.frombuffer(points.values, dtype=np.float64),
        np.frombuffer(points.times, dtype=np.float64),
        count=extremes.count,
        nonfinite=extremes.nonfinite,
    )


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
