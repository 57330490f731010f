"""The dashboard in a real headless browser (Debian's chromium driven by Playwright).

Skipped when Playwright or /usr/bin/chromium is missing (``scripts/install_browser.sh``
installs chromium; Playwright never downloads a browser here). Screenshots are kept in
``artifacts/ui/``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from ui_kit import (
    CHART,
    HOSTILE_CONFIG,
    HOSTILE_METRIC,
    HOSTILE_NAME,
    Served,
    chart,
    hover,
    open_page,
    series,
    shot,
)

from tracked_runs import track
from tracker import CustomTracker

pytest.importorskip("playwright.sync_api")
pytest.importorskip("bokeh")


def test_runs_page_lists_runs_and_shows_names_as_text(page: Any, served: Served) -> None:
    """Every run is a row; a name made of HTML is shown literally and never runs."""
    open_page(page, served.url + "/?view=table")
    rows = page.locator("tbody tr")
    assert rows.count() == 3
    assert page.locator("tbody tr a").all_text_contents() == [HOSTILE_NAME, "beta", "alpha"]
    assert page.evaluate("window.__pwned") is None
    shot(page, "runs.png")


def test_run_page_draws_one_chart_per_metric(page: Any, served: Served) -> None:
    """Opening a run draws a chart per metric that moves, grouped by section, one series each;
    smoothing adds the faint raw series, and the time axis and log scale redraw."""
    open_page(page, served.url + "/?view=table")
    page.get_by_role("link", name="alpha", exact=True).click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.locator("h1").inner_text().startswith("alpha")
    charts = page.locator(".chart")
    keys = sorted(charts.evaluate_all("nodes => nodes.map(n => n.dataset.key)"))
    assert keys == ["eval/loss", "train/long", "train/loss"]
    # a constant learning rate is a number, not a flat chart
    assert page.locator('.tile[data-key="train/learning_rate"] .value').inner_text() == "1e-3"
    assert page.locator("section.charts h2").all_text_contents() == ["train/", "eval/"]
    assert all(series(page, key) == 1 for key in keys)
    shot(page, "run.png")
    page.get_by_label("smoothing").fill("0.8")
    page.wait_for_timeout(300)
    assert series(page, "train/loss") == 2
    page.get_by_label("x axis").select_option("time")
    page.get_by_label("log scale").check()
    page.wait_for_function(
        f"() => ({CHART})('train/loss').chart.plot.yaxes[0]?.constructor.__name__ === 'LogAxis'"
    )
    assert series(page, "train/loss") == 2
    axis = chart(page, "train/loss", "plot.xaxes[0].axis_label")
    assert axis == "time since start (s)"
    hover(page, "train/loss")
    page.get_by_text("value:", exact=True).first.wait_for(timeout=5_000)  # the tooltip
    shot(page, "run-smoothed-time-log.png")


def test_charts_follow_the_window_width(page: Any, served: Served) -> None:
    """A plot fills its box, and a narrower window makes plot and box narrower together."""
    open_page(page, served.url + "/?view=table")
    page.get_by_role("link", name="alpha", exact=True).click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    series(page, "train/loss")
    wide = chart(page, "train/loss", "[node.clientWidth, plot.width]")
    assert wide[0] == wide[1]
    page.set_viewport_size({"width": 1000, "height": 900})  # still two columns
    page.wait_for_function(
        f"() => {{ const node = ({CHART})('train/loss'); "
        "return node.chart.plot.width === node.clientWidth; }"
    )
    narrow = chart(page, "train/loss", "[node.clientWidth, plot.width]")
    assert narrow[0] == narrow[1] < wide[0]


def test_config_search_filters_the_tree(page: Any, served: Served) -> None:
    """Typing in the config search leaves only matching entries visible."""
    open_page(page, f"{served.url}/runs/{served.runs['alpha']}")
    tree = page.locator(".tree").first
    assert tree.locator("li.leaf:visible").count() == 2  # lr, model.layers
    page.get_by_label("search config").fill("layers")
    assert tree.locator("li.leaf:visible").all_text_contents() == ["layers: 2"]


def test_hostile_run_page_shows_everything_as_text(page: Any, served: Served) -> None:
    """HTML in the run name, config and metric name is displayed, never interpreted."""
    open_page(page, f"{served.url}/runs/{served.runs['hostile']}")
    assert page.locator("h1").inner_text().startswith(HOSTILE_NAME)
    config_text = page.locator(".tree").first.inner_text()
    assert "<b>key</b>" in config_text
    assert HOSTILE_CONFIG["<b>key</b>"] in config_text
    assert series(page, HOSTILE_METRIC) == 1
    title = chart(page, HOSTILE_METRIC, "plot.title.text")
    assert title == "train/<i>odd</i> (2 NaN/inf hidden)"
    hover(page, HOSTILE_METRIC)
    page.get_by_text("value:", exact=True).first.wait_for(timeout=5_000)
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "hostile.png")


def test_compare_overlays_selected_runs(page: Any, served: Served) -> None:
    """Select two runs, compare: shared metrics get two series, config differences show."""
    open_page(page, served.url + "/?view=table")
    for name in ("alpha", "beta"):
        page.locator("tbody tr", has=page.get_by_role("link", name=name, exact=True)).get_by_label(
            "select"
        ).check()
    page.locator("#compare").click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.locator("h1").inner_text() == "Compare 2 runs"
    assert series(page, "train/loss") == 2
    assert series(page, "train/long") == 1  # only alpha has it
    legend = chart(page, "train/loss", "plot.legend.items.map(item => item.label.value)")
    assert legend == ["alpha", "beta"]
    diff = page.locator("table").first.locator("tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in diff] == ["lr", "model.layers"]
    shot(page, "compare.png")


def test_run_page_follows_a_running_run(page: Any, served: Served) -> None:
    """While a run is running, new points appear on its chart without a reload."""
    tracker = CustomTracker("demo", "live").start()
    for step in range(5):
        tracker.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    tracker.flush()
    open_page(page, f"{served.url}/runs/{tracker.run_id}")
    points = "document.querySelector('.chart').chart.sources[0].shown.data.x.length"
    assert page.evaluate(points) == 5
    for step in range(5, 12):
        tracker.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    tracker.flush()
    deadline = time.monotonic() + 15
    while page.evaluate(points) != 12 and time.monotonic() < deadline:
        page.wait_for_timeout(200)  # the page polls every few seconds
    assert page.evaluate(points) == 12
    tracker.finish()
    track("after")  # the store is still usable by others meanwhile
