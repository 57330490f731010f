"""What the browser draws of a metric is the truth about its points: the workspace's and
the run page's BokehJS data sources, read in a real chromium, checked against the raw
store points under the rule the server keeps (`curve_truth.check_truth`) at the width the
page asked for."""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ui_kit import Served, open_page, serve

from curve_truth import Logged, check_truth
from tracker import CustomTracker, open_store
from tracker.records import MetricBatch, RunRecord, Series

pytest.importorskip("bokeh")

LONG = 80_000  # run-0's train/loss: long enough to be drawn from its blocks
SHORT = 6_000  # the others': drawn point by point


def _track(i: int, steps: int) -> str:
    rng = random.Random(i)
    run = CustomTracker("truth", f"run-{i}").start()
    for step in range(steps):
        loss = 2.0 / (1 + step / 500) + rng.gauss(0, 0.05) + (5.0 if rng.random() < 1e-3 else 0)
        metrics = {"train/loss": math.nan if rng.random() < 1e-3 else loss}
        if step % 20 == 0 and step < 6_000:  # 300 points, one every 20 steps
            metrics["eval/loss"] = 1.0 / (1 + step / 1000) + i * 0.1
        run.log_metrics(metrics, step=step)
    run.finish()
    assert run.run_id is not None
    return run.run_id


@pytest.fixture
def served(tracker_dir: Path) -> Iterator[Served]:
    """The dashboard over three runs of project ``truth``: one of LONG steps, two of SHORT."""
    runs = {f"run-{i}": _track(i, LONG if i == 0 else SHORT) for i in range(3)}
    with serve() as url:
        yield Served(url, runs)


def _widths(page: Any) -> dict[str, int]:
    """The width= each curve request of the page asks for, by its key=, as they are sent."""
    asked: dict[str, int] = {}

    def seen(request: Any) -> None:
        query = parse_qs(urlsplit(request.url).query)
        if "/curve" in request.url and "width" in query:
            asked[query["key"][0]] = int(query["width"][0])

    page.on("request", seen)
    return asked


def _raw(run_id: str, key: str) -> Logged:
    store = open_store()
    try:
        points = store.history(run_id, key)
        return Logged(list(points.steps), list(points.values))
    finally:
        store.close()


_OVERLAY = (
    "key => { const node = [...document.querySelectorAll('.chart')]"
    ".find(c => c.dataset.key === key); const data = node?.chart?.overlay?.shown.data;"
    " return data && data.xs.length === 3 ? { xs: data.xs.map(a => [...a]),"
    " ys: data.ys.map(a => [...a]), name: [...data.name] } : null; }"
)


@pytest.mark.parametrize("key", ["train/loss", "eval/loss"])
def test_the_workspace_draws_each_runs_points_under_the_truth_rule(
    page: Any, served: Served, key: str
) -> None:
    """Every line of the workspace's overlay, as BokehJS holds it, is what the rule keeps
    of the run's stored points at the chart's width: whole when short (the 300-point
    eval/loss), else every slice's lowest and highest point."""
    asked = _widths(page)
    open_page(page, f"{served.url}/?project=truth")
    page.locator(f'.chart[data-key="{key}"]').scroll_into_view_if_needed()
    page.wait_for_function(f"key => ({_OVERLAY})(key) !== null", arg=key, timeout=30_000)
    data = page.evaluate(_OVERLAY, key)
    width = asked[key]
    assert 300 <= width <= 1280
    for name, xs, ys in zip(data["name"], data["xs"], data["ys"], strict=True):
        logged = _raw(served.runs[name], key)
        check_truth(list(zip(xs, ys, strict=True)), logged, width)
        if key == "eval/loss":
            assert len(xs) == 300


def test_the_workspace_draws_the_faint_raw_lines_only_while_smoothing(
    page: Any, served: Served
) -> None:
    """Smoothed, the overlay's faint lines (its raw source) hold the points the rule keeps
    and its main lines the smoothed ones; unsmoothed the raw source is empty (hidden,
    BokehJS would still index its 200 x 970 points), the main lines holding the points."""
    asked = _widths(page)
    open_page(page, f"{served.url}/?project=truth&smooth=0.6")
    page.wait_for_function(f"key => ({_OVERLAY})(key) !== null", arg="eval/loss", timeout=30_000)
    raw = page.evaluate(_OVERLAY.replace("shown.data", "raw.data"), "eval/loss")
    shown = page.evaluate(_OVERLAY, "eval/loss")
    for name, xs, ys in zip(raw["name"], raw["xs"], raw["ys"], strict=True):
        logged = _raw(served.runs[name], "eval/loss")
        check_truth(list(zip(xs, ys, strict=True)), logged, asked["eval/loss"])
    assert shown["xs"] == raw["xs"] and shown["ys"] != raw["ys"]
    page.get_by_label("smoothing").fill("0")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=\"eval/loss\"]')"
        ".chart.overlay.raw.data.xs.length === 0",
        timeout=30_000,
    )
    assert page.evaluate(_OVERLAY, "eval/loss")["ys"] == raw["ys"]


def test_the_run_page_draws_the_same_rule_as_the_workspace(page: Any, served: Served) -> None:
    """The run page's chart of the long train/loss holds what the rule keeps at its width
    (the same server function as the workspace's)."""
    run_id = served.runs["run-0"]
    asked = _widths(page)
    open_page(page, f"{served.url}/runs/{run_id}")
    source = (
        "() => { const node = [...document.querySelectorAll('.chart')]"
        ".find(c => c.dataset.key === 'train/loss'); const data = node?.chart?.sources?.[0]"
        "?.raw.data; return data && data.x.length ? { x: [...data.x], y: [...data.y] } : null; }"
    )
    page.wait_for_function(f"() => ({source})() !== null", timeout=30_000)
    data = page.evaluate(source)
    logged = _raw(run_id, "train/loss")
    check_truth(list(zip(data["x"], data["y"], strict=True)), logged, asked["train/loss"])
    assert asked["train/loss"] * 128 <= LONG  # drawn from the stored blocks


MANY = 200  # runs on one chart, each drawn at up to 2 points a pixel: ~190,000 points


def test_a_chart_of_200_long_runs_is_drawn(page: Any, served: Served) -> None:
    """200 runs of 2,000 points on one chart (what the chart's y range is computed from
    passed V8's limit on a call's arguments, and no chart was drawn): every line is drawn,
    each what the rule keeps."""
    store = open_store()
    try:
        for r in range(MANY):
            run_id = f"many{r:04d}"
            store.start_run(RunRecord(run_id, "many", f"many-{r}", started_at=1.0), resume=False)
            steps = array("q", range(2_000))
            values = array("d", (math.sin(s * (r + 1) / 7) + r for s in steps))
            store.log_metrics(
                run_id, MetricBatch({"train/loss": Series(steps, values, array("d", steps))})
            )
            store.finish_run(run_id, "finished", 2.0, None)
    finally:
        store.close()
    asked = _widths(page)
    open_page(page, f"{served.url}/?project=many&limit={MANY}")
    lines = (
        "() => { const node = document.querySelector('.chart[data-key=\"train/loss\"]');"
        " const data = node?.chart?.overlay?.shown.data; return node?.dataset.drawn === '1'"
        " && data ? data.xs.length : 0; }"
    )
    page.wait_for_function(f"() => ({lines})() === {MANY}", timeout=60_000)
    data = page.evaluate(_OVERLAY.replace("=== 3", f"=== {MANY}"), "train/loss")
    total = 0
    for name, xs, ys in zip(data["name"], data["xs"], data["ys"], strict=True):
        r = int(name.split("-")[1])
        logged = Logged(list(range(2_000)), [math.sin(s * (r + 1) / 7) + r for s in range(2_000)])
        check_truth(list(zip(xs, ys, strict=True)), logged, asked["train/loss"])
        total += len(xs)
    assert total > 150_000
    assert _line_width(page, "train/loss") == 1  # past 20 lines: 1 px, drawn ~2x faster


def _line_width(page: Any, key: str) -> float:
    """The width BokehJS draws the overlay's lines of the chart of ``key`` with."""
    return float(
        page.evaluate(
            "key => { const chart = document.querySelector(`.chart[data-key='${key}']`).chart;"
            " const main = chart.plot.renderers.find((r) => r.data_source === chart.overlay.shown);"
            " const width = main.glyph.line_width; return width.value ?? width; }",
            key,
        )
    )


def test_a_chart_of_a_few_runs_draws_them_wider(page: Any, served: Served) -> None:
    """Up to 20 runs, the overlay's lines are 1.6 px wide."""
    open_page(page, f"{served.url}/?project=truth")
    page.wait_for_function(f"key => ({_OVERLAY})(key) !== null", arg="train/loss", timeout=30_000)
    assert _line_width(page, "train/loss") == 1.6


def test_the_workspace_asks_for_times_only_when_x_is_the_time(page: Any, served: Served) -> None:
    """Charts by step ask for their curves without each point's time (times=0: ~40% of
    the bytes); choosing time as x asks again with them, and each eval/loss line is drawn
    at its points' times since its run started."""
    asked: list[dict[str, list[str]]] = []
    page.on(
        "request",
        lambda r: asked.append(parse_qs(urlsplit(r.url).query)) if "/api/curves" in r.url else None,
    )
    open_page(page, f"{served.url}/?project=truth")
    page.locator('.chart[data-key="eval/loss"]').scroll_into_view_if_needed()
    page.wait_for_function(f"key => ({_OVERLAY})(key) !== null", arg="eval/loss", timeout=30_000)
    assert asked and all(query["times"] == ["0"] for query in asked)
    asked.clear()
    page.get_by_label("x axis").select_option("time")
    page.wait_for_function(  # the second point of a line is no longer at step 20
        f"key => ({_OVERLAY})(key)?.xs[0][1] !== 20", arg="eval/loss", timeout=30_000
    )
    assert any(query["key"] == ["eval/loss"] and "times" not in query for query in asked)
    data = page.evaluate(_OVERLAY, "eval/loss")
    store = open_store()
    try:
        for name, xs in zip(data["name"], data["xs"], strict=True):
            run_id = served.runs[name]
            started = store.get_run(run_id).started_at
            times = store.history(run_id, "eval/loss").times
            assert xs == pytest.approx([t - started for t in times], abs=1e-6)
    finally:
        store.close()
