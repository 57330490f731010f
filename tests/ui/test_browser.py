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
from ui_kit import HOSTILE_CONFIG, HOSTILE_NAME, Served

from tracked_runs import track
from tracker import CustomTracker

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("plotly")

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
    """A fresh page that fails the test on any script error or request off the app."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems: list[str] = []

    def check_request(request: Any) -> None:
        if not request.url.startswith((served.url, "data:")):
            problems.append(f"request off the app: {request.url}")

    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
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


def _traces(page: Any, key: str) -> int:
    """How many line traces the chart of ``key`` has drawn (SVG groups, not data)."""
    return int(
        page.evaluate(
            "key => [...document.querySelectorAll('.chart')].find(c => c.dataset.key === key)"
            ".querySelectorAll('g.trace.scatter').length",
            key,
        )
    )


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
    assert all(_traces(page, key) == 1 for key in keys)
    _shot(page, "run.png")
    page.get_by_label("smoothing").fill("0.8")
    assert _traces(page, "train/loss") == 2
    page.get_by_label("x axis").select_option("time")
    page.get_by_label("log scale").check()
    axis = page.locator('.chart[data-key="train/loss"] .xtitle').text_content()
    assert axis == "seconds since start"
    _shot(page, "run-smoothed-time-log.png")


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
    title = page.locator('.chart[data-key="train/<i>odd</i>"] .gtitle').text_content()
    assert title.startswith("train/<i>odd</i>")
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
    assert _traces(page, "train/loss") == 2
    assert _traces(page, "train/long") == 1  # only alpha has it
    legend = page.locator('.chart[data-key="train/loss"] .legendtext').all_text_contents()
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
    points = "document.querySelector('.chart').data[0].x.length"
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
