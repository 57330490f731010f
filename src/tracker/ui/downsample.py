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

__all__ = ["Curve", "lttb", "read_curve"]

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
        steps.append(np.asarray(chunk.steps, dtype=np.float64))
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


def lttb(x: Floats, y: Floats, points: int) -> npt.NDArray[np.intp]:
    """Indices of at most ``points`` points of ``(x, y)`` that keep its shape (LTTB).

    ``x`` must be sorted. With ``points`` below 3 or at least ``len(x)``, every index.
    """
    n = len(x)
    if points >= n or points < 3:
        return np.arange(n)
    edges = np.linspace(1, n - 1, points - 1).astype(np.intp)  # points - 2 buckets
    keep = np.empty(points, dtype=np.intp)
    keep[0], keep[-1] = 0, n - 1
    chosen = 0
    for i in range(points - 2):
        start, end = edges[i], edges[i + 1]
        after_end = edges[i + 2] if i + 2 < len(edges) else n
        mean_x, mean_y = x[end:after_end].mean(), y[end:after_end].mean()
        ax, ay = x[chosen], y[chosen]
        areas = np.abs((ax - mean_x) * (y[start:end] - ay) - (ax - x[start:end]) * (mean_y - ay))
        chosen = start + int(areas.argmax())
        keep[i + 1] = chosen
    return keep
