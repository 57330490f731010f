"""What a chart draws of a metric (`tracker.ui.downsample.draw`) against the raw points,
on every built-in store and chunking: whole when short, else every slice's lowest and
highest point, the same whatever store or chunk size held the points."""

from __future__ import annotations

import math
import uuid
from array import array
from collections.abc import Iterator
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curve_truth import Logged, check_truth
from tracker import open_store
from tracker.records import MetricBatch, RunRecord, Series
from tracker.store import Store
from tracker.store import sql as sql_store
from tracker.store.series import BLOCK
from tracker.ui.api import dispatch
from tracker.ui.downsample import Curve, draw, x_of


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, empty."""
    opened = open_store(store_uri)
    yield opened
    opened.close()


def check(drawn: Curve, logged: Logged, width: int) -> None:
    """`check_truth` of the curve, with its counts of points and of non-finite ones."""
    points = logged.history()
    assert drawn.count == len(points)  # history's points
    assert drawn.nonfinite == sum(not math.isfinite(v) for _, v in points)
    check_truth(list(zip(drawn.steps.tolist(), drawn.values.tolist(), strict=True)), logged, width)


def write(store: Store, run_id: str, logged: Logged, batches: list[int], key: str = "m") -> None:
    """Log the points in batches of the given sizes (the writer's chunking)."""
    if key == "m":
        store.start_run(RunRecord(run_id, "draw", run_id, started_at=1.0), resume=False)
    start, i = 0, 0
    while start < len(logged.steps):
        end = min(len(logged.steps), start + batches[i % len(batches)])
        steps = array("q", logged.steps[start:end])
        times = array("d", (1.0 + k for k in range(start, end)))
        store.log_metrics(
            run_id, MetricBatch({key: Series(steps, array("d", logged.values[start:end]), times)})
        )
        start, i = end, i + 1


@st.composite
def series(draw_: st.DrawFn) -> Logged:
    """A metric as logged: dense, sparse (every 200) or irregular steps, some repeated or
    logged again after a resume; values with spikes, NaNs and infinities."""
    n = draw_(st.integers(1, 3000))
    rng = np.random.default_rng(draw_(st.integers(0, 2**32 - 1)))
    stride = draw_(st.sampled_from(["dense", "sparse", "irregular"]))
    gaps = {"dense": np.ones(n), "sparse": np.full(n, 200), "irregular": rng.integers(1, 50, n)}
    steps = (draw_(st.integers(0, 10**6)) + np.cumsum(gaps[stride]) - gaps[stride][0]).tolist()
    if draw_(st.booleans()) and n > 10:  # a resume logs part of the steps again
        back = int(rng.integers(0, n - 1))
        steps += steps[back : back + int(rng.integers(1, 10))]
    values = rng.normal(0, 1, len(steps)).cumsum()
    odd = rng.random(len(steps))
    values[odd < draw_(st.sampled_from([0.0, 0.01, 0.2, 1.0]))] = math.nan
    values[odd > 0.995] = math.inf
    values[(odd > 0.5) & (odd < 0.51)] *= 100  # spikes
    return Logged([int(s) for s in steps], values.tolist())


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    logged=series(),
    width=st.integers(1, 60),
    batches=st.lists(st.integers(1, 700), min_size=1, max_size=4),
    chunk=st.sampled_from([BLOCK, 3 * BLOCK, 1024]),
)
def test_a_drawn_curve_keeps_every_slices_extremes_on_any_store_and_chunking(
    store: Store, logged: Logged, width: int, batches: list[int], chunk: int
) -> None:
    """For random series, widths, batches and SQL chunk sizes: the truth rule holds and
    what is drawn is what a memory store of the same points draws."""
    run_id = uuid.uuid4().hex
    with mock.patch.object(sql_store, "CHUNK_POINTS", chunk):
        write(store, run_id, logged, batches)
    drawn = draw(store, run_id, "m", width, store.metric_stats(run_id)["m"].count)
    check(drawn, logged, width)
    reference = open_store(f"memory://draw-{run_id}")
    write(reference, run_id, logged, [len(logged.steps)])
    again = draw(reference, run_id, "m", width, len(logged.steps))
    assert drawn.steps.tolist() == again.steps.tolist()
    assert drawn.times.tolist() == again.times.tolist()


def test_a_300_point_eval_metric_at_280_pixels_is_drawn_whole(store: Store) -> None:
    """Issue 25's first case: 300 points, one every 200 steps, were drawn as 2 points."""
    logged = Logged(list(range(0, 60_000, 200)), [1 / (1 + s / 5000) for s in range(300)])
    write(store, "eval", logged, [7])
    drawn = draw(store, "eval", "m", 280, 300)
    assert drawn.steps.tolist() == logged.steps
    check(draw(store, "eval", "m", 100, 300), logged, 100)


def test_a_60000_step_loss_at_1000_pixels_has_no_long_straight_gap(store: Store) -> None:
    """Issue 25's second case: 60,000 steps at 1,000 points came back as 165 points with a
    straight gap of 1,023 steps; drawn now, no two drawn points are more than two pixel
    columns (120 steps) apart, and every column's extremes are there."""
    n = 60_000
    values = [1 / (1 + s / 5000) + ((s * 7919) % 997) / 1e4 for s in range(n)]
    logged = Logged(list(range(n)), values)
    write(store, "long", logged, [5000])
    drawn = draw(store, "long", "m", 1000, n)
    assert 1000 <= len(drawn.steps) <= 2002
    assert int(np.diff(drawn.steps).max()) <= 2 * n // 1000
    check(drawn, logged, 1000)


@pytest.mark.parametrize("n", [500, 5_000, 70_000])  # whole, point by point, from blocks
def test_drawn_along_a_metric_growing_with_the_step_slices_along_it(store: Store, n: int) -> None:
    """Along ``x`` = 2 x step + 8 (logged every 10 steps, interpolated between), a metric
    is drawn as along the step (the same slices), each point's ``xs`` its x."""
    rng = np.random.default_rng(n)
    logged = Logged(list(range(n)), rng.normal(0, 1, n).cumsum().tolist())
    write(store, "r", logged, [3000])
    x_steps = [*range(0, n, 10), n - 1]
    write(store, "r", Logged(x_steps, [2.0 * s + 8 for s in x_steps]), [3000], key="x")
    drawn = draw(store, "r", "m", 100, n, x_of(store, "r", "x"))
    assert drawn.xs is not None
    assert drawn.xs.tolist() == (2 * drawn.steps + 8).tolist()
    by_step = draw(store, "r", "m", 100, n)
    assert drawn.steps.tolist() == by_step.steps.tolist()
    check(drawn, logged, 100)


def test_curves_of_many_runs_take_as_few_queries_on_a_server_as_of_two(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/api/curves of runs named by id (as the pages name them), each drawn from its
    blocks, on each store: what it draws of 40 runs is each run's `draw`; on PostgreSQL
    (a round trip a query) it reads the runs' statistics and blocks in the same 2 queries
    for 40 runs as for 2; a run named by its name is still found."""
    store = open_store(store_uri)
    ids = [f"run{r:04d}" for r in range(40)]
    steps = array("q", range(1000))
    for r, run_id in enumerate(ids):
        store.start_run(RunRecord(run_id, "p", f"name-{r}", started_at=1.0), resume=False)
        values = array("d", (1 / (1 + s + r) for s in steps))
        store.log_metrics(run_id, MetricBatch({"loss": Series(steps, values, array("d", steps))}))
    statements: list[str] = []
    if isinstance(store, sql_store.SqlStore):
        query = store._query  # the SQL stores' one way to the database

        def counted(statement: str, *args: Any, **kwargs: Any) -> Any:
            statements.append(statement)
            return query(statement, *args, **kwargs)

        monkeypatch.setattr(store, "_query", counted)

    def queries(runs: list[str], width: int) -> int:
        statements.clear()
        asked = {"key": ["loss"], "run": runs, "width": [str(width)]}  # drawn from blocks
        curves = dispatch(store, "/api/curves", asked)["curves"]
        assert [c["run"] for c in curves] == runs
        made = len(statements)
        for curve in curves:
            drawn = draw(store, curve["run"], "loss", width, 1000)
            assert (curve["steps"], curve["values"]) == (
                drawn.steps.tolist(),
                drawn.values.tolist(),
            )
        return made

    many, two = queries(ids, 5), queries(ids[:2], 4)
    if store_uri.startswith("postgresql"):
        assert many == two == 2
    named = {"key": ["loss"], "run": ["name-3", ids[0]], "width": ["5"]}
    assert [c["run"] for c in dispatch(store, "/api/curves", named)["curves"]] == [ids[3], ids[0]]
    store.close()
