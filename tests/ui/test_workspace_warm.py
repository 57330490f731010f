"""Coming back to the workspace and redrawing it, as a user does once it has been drawn:
the browser's Back restores the page as it was (nothing asked again), and a change that
keeps the charts (x, smoothing, a run hidden) keeps their plots, asks the server only for
what it has not sent, and draws the truth about the points."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import CHROMIUM, CHROMIUM_ARGS, Served, open_page, serve

from curve_truth import Logged, check_truth
from tracker import CustomTracker, open_store

pytest.importorskip("bokeh")

STEPS = 3_000  # train/loss: longer than 2 points a pixel, so thinned to the width
EVAL_EVERY = 20  # eval/loss: 150 points, drawn whole


@pytest.fixture
def served(tracker_dir: Path) -> Iterator[Served]:
    """The dashboard over three finished runs of project ``warm``."""
    runs = {}
    for i in range(3):
        with CustomTracker("warm", f"run-{i}") as run:
            for step in range(STEPS):
                metrics = {"train/loss": 2.0 / (1 + step / 300) + math.sin(step * (i + 1)) / 10}
                if step % EVAL_EVERY == 0:
                    metrics["eval/loss"] = 1.0 / (1 + step / 1000) + i * 0.1
                run.log_metrics(metrics, step=step)
        assert run.run_id is not None
        runs[f"run-{i}"] = run.run_id
    with serve() as url:
        yield Served(url, runs)


def _asked(page: Any, part: str) -> list[str]:
    """The URLs of the page's requests whose URL holds ``part``, as they are sent."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url) if part in request.url else None)
    return urls


_DRAWN = (
    "key => { const node = document.querySelector(`.chart[data-key='${key}']`);"
    " const data = node?.chart?.overlay?.shown.data; return node?.dataset.drawn === '1'"
    " && data?.xs.length === 3 ? { xs: data.xs.map(a => [...a]), ys: data.ys.map(a => [...a]),"
    " name: [...data.name], label: [...node.chart.plot.xaxis][0].axis_label } : null; }"
)


def _drawn(page: Any, key: str, second_x: float) -> dict[str, Any]:
    """The chart of ``key`` as BokehJS holds it once its lines' second x is ``second_x``."""
    page.wait_for_function(
        f"([key, x]) => ({_DRAWN})(key)?.xs[0][1] === x", arg=[key, second_x], timeout=30_000
    )
    return dict(page.evaluate(_DRAWN, key))


def _check(served: Served, data: dict[str, Any], key: str, width: int) -> None:
    """Each line of ``data`` is what the rule keeps of its run's stored points of ``key``."""
    store = open_store()
    try:
        for name, xs, ys in zip(data["name"], data["xs"], data["ys"], strict=True):
            points = store.history(served.runs[name], key)
            logged = Logged(list(points.steps), list(points.values))
            check_truth(list(zip(xs, ys, strict=True)), logged, width)
    finally:
        store.close()


_PLOT = "document.querySelector(`.chart[data-key='${key}']`).chart.plot"
_KEEP_PLOT = f"key => {{ window.kept = {_PLOT}; }}"
_SAME_PLOT = f"key => {_PLOT} === window.kept"


def test_x_changed_and_back_keeps_the_plot_and_asks_only_once(page: Any, served: Served) -> None:
    """x as the time asks for the curves with their times and draws them on the same plot
    (its axis and tooltip say the time); back to the step, the curves already fetched are
    drawn again, nothing asked for, each line the rule's points of its run."""
    curves = _asked(page, "/api/curves")
    open_page(page, f"{served.url}/?project=warm")
    first = _drawn(page, "eval/loss", EVAL_EVERY)
    assert first["label"] == "step"
    page.evaluate(_KEEP_PLOT, "eval/loss")
    width = page.evaluate("() => document.querySelector('.chart').clientWidth")
    curves.clear()
    page.get_by_label("x axis").select_option("time")
    page.wait_for_function(
        "key => { const d = document.querySelector(`.chart[data-key='${key}']`);"
        " return d.dataset.drawn === '1'"
        " && [...d.chart.plot.xaxis][0].axis_label.startsWith('time'); }",
        arg="eval/loss",
        timeout=30_000,
    )
    assert any("key=eval%2Floss" in url and "times=0" not in url for url in curves)
    assert page.evaluate(_SAME_PLOT, "eval/loss")
    tooltips = page.evaluate(
        "() => document.querySelector(\".chart[data-key='eval/loss']\").chart.hover.tooltips"
    )
    assert tooltips[1] == ["time since start (s)", "$x{custom}"]
    curves.clear()
    page.get_by_label("x axis").select_option("step")
    again = _drawn(page, "eval/loss", EVAL_EVERY)
    assert curves == []
    assert again == first
    assert page.evaluate(_SAME_PLOT, "eval/loss")
    _check(served, again, "eval/loss", width)
    loss = page.evaluate(_DRAWN, "train/loss")
    assert loss is not None
    _check(served, loss, "train/loss", width)
    assert max(len(xs) for xs in loss["xs"]) < STEPS  # thinned at the width


def test_an_answer_for_an_x_left_meanwhile_is_not_drawn(page: Any, served: Served) -> None:
    """x changed to the step, then back to the time before the step's curves came: the
    chart draws the time (held), and the step's late answer is kept, not drawn against
    the time (it has no times: the chart was replaced by an error)."""
    open_page(page, f"{served.url}/?project=warm&x=time")
    label = (
        "key => { const d = document.querySelector(`.chart[data-key='${key}']`);"
        " return d.dataset.drawn === '1' && d.chart ? [...d.chart.plot.xaxis][0].axis_label : ''; }"
    )
    page.wait_for_function(f"key => ({label})(key).startsWith('time')", arg="eval/loss")
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/api/curves?*times=0*", hold)
    page.get_by_label("x axis").select_option("step")
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    assert held
    page.get_by_label("x axis").select_option("time")
    for route in held:
        route.continue_()
    page.unroute("**/api/curves?*times=0*")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(label, "eval/loss").startswith("time")
    assert page.locator(".chart .error").count() == 0
    assert page.evaluate(_DRAWN, "eval/loss")["xs"][0][1] != EVAL_EVERY  # not at step 20


def test_smoothing_and_hiding_a_run_keep_the_plot_and_ask_nothing(
    page: Any, served: Served
) -> None:
    """Smoothing and a run hidden redraw the same plot from the curves held: no request,
    the faint raw lines the rule's points, the hidden run's line left out."""
    curves = _asked(page, "/api/")
    open_page(page, f"{served.url}/?project=warm")
    first = _drawn(page, "eval/loss", EVAL_EVERY)
    page.evaluate(_KEEP_PLOT, "eval/loss")
    curves.clear()
    page.get_by_label("smoothing").fill("0.6")
    page.wait_for_function(
        "() => document.querySelector(\".chart[data-key='eval/loss']\").chart.overlay.raw"
        ".data.xs.length === 3",
        timeout=30_000,
    )
    raw = page.evaluate(_DRAWN.replace("shown.data", "raw.data"), "eval/loss")
    assert raw["xs"] == first["xs"] and raw["ys"] == first["ys"]
    assert page.evaluate(_DRAWN, "eval/loss")["ys"] != first["ys"]
    page.get_by_label("show run-1").uncheck()
    page.wait_for_function(
        "() => document.querySelector(\".chart[data-key='eval/loss']\").chart.overlay.shown"
        ".data.name.toSorted().join() === 'run-0,run-2'",
        timeout=30_000,
    )
    assert curves == []
    assert page.evaluate(_SAME_PLOT, "eval/loss")


def test_back_to_the_workspace_restores_it_as_it_was(browser: Any, served: Served) -> None:
    """With the browser's back-forward cache on (as in a user's chromium; Playwright turns
    it off), Back from a run's page shows the workspace as it was left: the same page,
    nothing asked of the server (answers marked no-store kept it out of that cache)."""
    with_cache = browser.browser_type.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )  # fmt: skip
    try:
        page = with_cache.new_context(viewport={"width": 1280, "height": 900}).new_page()
        open_page(page, f"{served.url}/?project=warm")
        _drawn(page, "eval/loss", EVAL_EVERY)
        page.wait_for_load_state("networkidle")
        page.evaluate("() => { window.left = 1; }")
        page.goto(f"{served.url}/runs/{served.runs['run-0']}")
        page.wait_for_selector(".chart[data-drawn]", state="attached", timeout=30_000)
        asked = _asked(page, "/api/")
        page.go_back(wait_until="commit")
        page.wait_for_function("() => document.querySelector('.chart[data-drawn]') !== null")
        assert page.evaluate("() => window.left") == 1
        assert asked == []
    finally:
        with_cache.close()
