"""The dashboard in a real headless browser (Debian's chromium driven by Playwright).

Skipped when Playwright or /usr/bin/chromium is missing (``scripts/install_browser.sh``
installs chromium; Playwright never downloads a browser here). Screenshots are kept in
``artifacts/ui/``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import HOSTILE_CONFIG, HOSTILE_METRIC, HOSTILE_NAME, Served

from tracked_runs import track
from tracker import CustomTracker

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("bokeh")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is missing (scripts/install_browser.sh)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module's tests."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh page that fails the test on any script or console error (a blocked script
    among them) or request off the app."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems: list[str] = []

    def check_request(request: Any) -> None:
        if not request.url.startswith((served.url, "data:")):
            problems.append(f"request off the app: {request.url}")

    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    # a Content-Security-Policy violation (BokehJS needing eval, say) is a console error
    opened.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    opened.on("request", check_request)
    yield opened
    context.close()
    assert problems == []


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


_CHART = "key => [...document.querySelectorAll('.chart')].find(c => c.dataset.key === key)"


def _chart(page: Any, key: str, expression: str) -> Any:
    """``expression`` about the chart of ``key``: ``node`` is its element, ``plot`` its
    BokehJS plot (the model the canvas is drawn from)."""
    return page.evaluate(
        f"key => {{ const node = ({_CHART})(key); const plot = node.chart.plot; "
        f"return {expression}; }}",
        key,
    )


def _series(page: Any, key: str) -> int:
    """How many lines the chart of ``key`` draws: visible line renderers with points,
    once BokehJS has drawn the plot on its canvas."""
    page.wait_for_function(f"key => ({_CHART})(key)?.dataset.drawn === '1'", arg=key)
    drawn = _chart(
        page,
        key,
        "(function canvases(root) { return [...root.querySelectorAll('*')].flatMap(e => ["
        "...(e.tagName === 'CANVAS' ? [e] : []), "
        "...(e.shadowRoot ? canvases(e.shadowRoot) : [])]); "
        "})(node).some(c => c.width > 0 && c.height > 0)",
    )
    assert drawn, f"no canvas drawn for {key}"
    return int(
        _chart(
            page,
            key,
            "plot.renderers.filter(r => r.visible && r.glyph.constructor.__name__ === 'Line'"
            " && r.data_source.get_length() > 0).length",
        )
    )


def _hover(page: Any, key: str) -> None:
    """Move the mouse over the chart of ``key``, a third of the way in."""
    area = page.evaluate(f"key => ({_CHART})(key).getBoundingClientRect().toJSON()", key)
    page.mouse.move(area["x"] + 10, area["y"] + 10)
    page.mouse.move(area["x"] + area["width"] / 3, area["y"] + area["height"] / 2, steps=8)


def test_runs_page_lists_runs_and_shows_names_as_text(page: Any, served: Served) -> None:
    """Every run is a row; a name made of HTML is shown literally and never runs."""
    _open(page, served.url + "/")
    rows = page.locator("tbody tr")
    assert rows.count() == 3
    assert page.locator("tbody tr a").all_text_contents() == [HOSTILE_NAME, "beta", "alpha"]
    assert page.evaluate("window.__pwned") is None
    _shot(page, "runs.png")


def test_run_page_draws_one_chart_per_metric(page: Any, served: Served) -> None:
    """Opening a run draws a chart per metric, grouped by section, one series each;
    smoothing adds the faint raw series, and the time axis and log scale redraw."""
    _open(page, served.url + "/")
    page.get_by_role("link", name="alpha", exact=True).click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.locator("h1").inner_text().startswith("alpha")
    charts = page.locator(".chart")
    keys = sorted(charts.evaluate_all("nodes => nodes.map(n => n.dataset.key)"))
    assert keys == ["eval/loss", "train/learning_rate", "train/long", "train/loss"]
    assert page.locator("section.charts h2").all_text_contents() == ["train/", "eval/"]
    assert all(_series(page, key) == 1 for key in keys)
    _shot(page, "run.png")
    page.get_by_label("smoothing").fill("0.8")
    page.wait_for_timeout(300)
    assert _series(page, "train/loss") == 2
    page.get_by_label("x axis").select_option("time")
    page.get_by_label("log scale").check()
    page.wait_for_function(
        f"() => ({_CHART})('train/loss').chart.plot.yaxes[0]?.constructor.__name__ === 'LogAxis'"
    )
    assert _series(page, "train/loss") == 2
    axis = _chart(page, "train/loss", "plot.xaxes[0].axis_label")
    assert axis == "seconds since start"
    _hover(page, "train/loss")
    page.get_by_text("value:", exact=True).first.wait_for(timeout=5_000)  # the tooltip
    _shot(page, "run-smoothed-time-log.png")


def test_charts_follow_the_window_width(page: Any, served: Served) -> None:
    """A plot fills its box, and a narrower window makes plot and box narrower together."""
    _open(page, served.url + "/")
    page.get_by_role("link", name="alpha", exact=True).click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    _series(page, "train/loss")
    wide = _chart(page, "train/loss", "[node.clientWidth, plot.width]")
    assert wide[0] == wide[1]
    page.set_viewport_size({"width": 1000, "height": 900})  # still two columns
    page.wait_for_function(
        f"() => {{ const node = ({_CHART})('train/loss'); "
        "return node.chart.plot.width === node.clientWidth; }"
    )
    narrow = _chart(page, "train/loss", "[node.clientWidth, plot.width]")
    assert narrow[0] == narrow[1] < wide[0]


def test_config_search_filters_the_tree(page: Any, served: Served) -> None:
    """Typing in the config search leaves only matching entries visible."""
    _open(page, f"{served.url}/runs/{served.runs['alpha']}")
    tree = page.locator(".tree").first
    assert tree.locator("li.leaf:visible").count() == 2  # lr, model.layers
    page.get_by_label("search config").fill("layers")
    assert tree.locator("li.leaf:visible").all_text_contents() == ["layers: 2"]


def test_hostile_run_page_shows_everything_as_text(page: Any, served: Served) -> None:
    """HTML in the run name, config and metric name is displayed, never interpreted."""
    _open(page, f"{served.url}/runs/{served.runs['hostile']}")
    assert page.locator("h1").inner_text().startswith(HOSTILE_NAME)
    config_text = page.locator(".tree").first.inner_text()
    assert "<b>key</b>" in config_text
    assert HOSTILE_CONFIG["<b>key</b>"] in config_text
    assert _series(page, HOSTILE_METRIC) == 1
    title = _chart(page, HOSTILE_METRIC, "plot.title.text")
    assert title == "train/<i>odd</i> (2 NaN/inf hidden)"
    _hover(page, HOSTILE_METRIC)
    page.get_by_text("value:", exact=True).first.wait_for(timeout=5_000)
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    _shot(page, "hostile.png")


def test_compare_overlays_selected_runs(page: Any, served: Served) -> None:
    """Select two runs, compare: shared metrics get two series, config differences show."""
    _open(page, served.url + "/")
    for name in ("alpha", "beta"):
        page.locator("tbody tr", has=page.get_by_role("link", name=name, exact=True)).get_by_label(
            "select"
        ).check()
    page.locator("#compare").click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.locator("h1").inner_text() == "Compare 2 runs"
    assert _series(page, "train/loss") == 2
    assert _series(page, "train/long") == 1  # only alpha has it
    legend = _chart(page, "train/loss", "plot.legend.items.map(item => item.label.value)")
    assert legend == ["alpha", "beta"]
    diff = page.locator("table").first.locator("tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in diff] == ["lr", "model.layers"]
    _shot(page, "compare.png")


def test_run_page_follows_a_running_run(page: Any, served: Served) -> None:
    """While a run is running, new points appear on its chart without a reload."""
    tracker = CustomTracker("demo", "live").start()
    for step in range(5):
        tracker.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    tracker.flush()
    _open(page, f"{served.url}/runs/{tracker.run_id}")
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
