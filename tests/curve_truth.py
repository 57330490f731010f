"""The truth rule of a drawn curve (`tracker.ui.downsample.draw`), checked against the
raw points: what the store tests and the browser tests of what BokehJS holds share.

Importable as ``curve_truth`` (the tests folder is on the path)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.store.series import BLOCK
from tracker.ui.downsample import BLOCKS_PER_COLUMN, WHOLE


@dataclass
class Logged:
    """Points as logged, in order (steps may repeat or go back)."""

    steps: list[int]
    values: list[float]

    def history(self) -> list[tuple[int, float]]:
        """`Store.history`'s points: in step order, the last logged value of each step."""
        return sorted(dict(zip(self.steps, self.values, strict=True)).items())


def expected_slices(logged: Logged, width: int) -> dict[int, list[tuple[int, float]]]:
    """The truth rule, from the raw points: each slice's finite points, in order, by
    slice; slices are the ``width`` pixel columns of the finite points' step range, a
    point's column its own, or where the metric has at least `BLOCKS_PER_COLUMN` blocks a
    column its block's (of `BLOCK` points from the first) middle's column."""
    points = logged.history()
    finite = [(s, v) for s, v in points if math.isfinite(v)]
    low, high = finite[0][0], finite[-1][0]

    def column(x: float) -> int:
        if high <= low:
            return 0
        return min(width - 1, max(0, math.floor((x - low) / (high - low) * width)))

    blocks = len(logged.steps) >= BLOCK * BLOCKS_PER_COLUMN * width
    slices: dict[int, list[tuple[int, float]]] = {}
    for i, (step, value) in enumerate(points):
        if not math.isfinite(value):
            continue
        if blocks:
            start = i - i % BLOCK
            block = points[start : start + BLOCK]
            at = column((block[0][0] + block[-1][0]) / 2)
        else:
            at = column(step)
        slices.setdefault(at, []).append((step, value))
    return slices


def check_truth(drawn: Sequence[tuple[int, float]], logged: Logged, width: int) -> None:
    """The (step, value) points drawn at ``width`` pixels against the raw points: whole
    when at most `WHOLE` a column; else each slice's lowest and highest point kept
    (`expected_slices`) and the first and last point, nothing else, in order, no slice
    with points skipped."""
    points = logged.history()
    finite = [(s, v) for s, v in points if math.isfinite(v)]
    got = [(int(s), float(v)) for s, v in drawn]
    if len(logged.steps) <= WHOLE * width or not finite:
        assert got == finite
        return
    assert set(got) <= set(finite)
    assert got == sorted(got)
    slices = expected_slices(logged, width)
    assert len(got) <= 2 * len(slices) + 2
    kept = set(got)
    assert got[0] == finite[0] and got[-1] == finite[-1]
    for members in slices.values():
        lowest = min(v for _, v in members)
        highest = max(v for _, v in members)
        assert any(p in kept for p in members if p[1] == lowest)
        assert any(p in kept for p in members if p[1] == highest)
    # no drawn segment spans a slice with points in it
    at = {p: s for s, members in slices.items() for p in members}
    drawn_slices = [at[p] for p in got]
    assert drawn_slices == sorted(drawn_slices)
    assert set(drawn_slices) == set(slices)
