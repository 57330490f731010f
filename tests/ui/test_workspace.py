"""The project workspace in a real browser: 20 runs of one project overlaid on each metric,
toggled from the side list, filtered, with units, numbers and events shown as people read
them. Screenshots are kept in ``artifacts/ui/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import HOSTILE_NAME, Served, chart, open_page, series, serve, shot

from tracker import CustomTracker

pytest.importorskip("bokeh")

RUNS = 20
GIB = 2**30


def _track(i: int) -> str:
    name = HOSTILE_NAME if i == RUNS - 1 else f"sweep-{i:02d}"
    run = CustomTracker(
        "ws",
        name,
        tags=["sweep"] if i % 2 == 0 else ["baseline"],
        framework="transformers" if i % 4 else "torchtune",
    ).start()
    for step in range(30):
        metrics = {
            "train/loss": 2.0 / (step + 1) + i * 0.05,
            "train/tokens_per_second": 12_000.0 + 100 * i + step,
            "system/memory/used_bytes": 3.5 * GIB + step * 2**20 * (i + 1),
            "system/memory/total_bytes": 16.0 * GIB,
            "system/gpu/0/utilization": 50.0 + step,
        }
        if step % 5 == 0:
            metrics["eval/loss"] = 1.0 / (step + 1) + i * 0.05
        run.log_metrics(metrics, step=step)
    run.log_metrics({"train/train_runtime": 300.0 + i}, step=29)
    if i == 0:
        run.alert("loss spike", "at step 7", level="warn")
    if i == 1:
        run.log_event("checkpoint", {"path": "/ckpt/sweep-01"}, step=20)
    run.finish("failed" if i == 2 else "finished", "ValueError: boom" if i == 2 else None)
    assert run.run_id is not None
    return run.run_id


@pytest.fixture
def served(tracker_dir: Path) -> Iterator[Served]:
    """The dashboard over a store of RUNS tracked runs of project ``ws``."""
    runs = {f"run{i}": _track(i) for i in range(RUNS)}
    with serve() as url:
        yield Served(url, runs)


_SHOWN = "node.chart.overlay.shown.data"


def _lines_become(page: Any, key: str, count: int) -> None:
    """Wait until the chart of ``key`` draws ``count`` lines."""
    page.wait_for_function(
        "([key, count]) => document.querySelector(`.chart[data-key='${key}']`)"
        ".chart?.overlay.shown.data.xs.length === count",
        arg=[key, count],
    )


def _drawn(page: Any, key: str) -> int:
    """Lines drawn on the chart of ``key`` (one multi-line renderer for all its runs), once
    it is scrolled into view and drawn on its canvas."""
    page.locator(f'.chart[data-key="{key}"]').scroll_into_view_if_needed()
    canvas = series(page, key)  # waits for the canvas; counts single-line renderers
    assert canvas == 0
    return int(chart(page, key, _SHOWN + ".xs.filter(xs => xs.length > 0).length"))


def test_every_run_is_overlaid_with_units_numbers_and_events(page: Any, served: Served) -> None:
    """/ opens on the newest project: each metric one chart of all 20 runs in the side
    list's colours, values in their units, one-value metrics as numbers, events explained
    and marked on the charts; a name made of HTML is text."""
    open_page(page, served.url + "/")
    assert page.locator("h1").inner_text() == "Project ws"
    assert page.locator(".run-list li").count() == RUNS
    assert page.locator(".run-list .swatch").count() == RUNS
    groups = page.locator("section.charts h2").all_text_contents()
    assert groups == ["train/", "eval/", "system/"]
    keys = page.locator(".chart").evaluate_all("nodes => nodes.map(n => n.dataset.key)")
    assert sorted(keys) == [
        "eval/loss",
        "system/gpu/0/utilization",
        "system/memory/used_bytes",
        "train/loss",
        "train/tokens_per_second",
    ]
    assert _drawn(page, "train/loss") == RUNS
    colors = chart(
        page,
        "train/loss",
        _SHOWN + ".color.map(c => { const n = parseInt(c.slice(1), 16);"
        " return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`; })",
    )
    swatches = page.locator(".run-list .swatch").evaluate_all(
        "nodes => nodes.map(n => n.style.backgroundColor)"
    )
    assert colors == swatches and len(set(colors)) == RUNS  # each run its own colour
    shot(page, "workspace.png")

    assert _drawn(page, "system/memory/used_bytes") == RUNS
    memory = page.locator('.chart[data-key="system/memory/used_bytes"]')
    assert memory.get_attribute("data-unit") == "GiB"
    assert memory.get_attribute("data-x") == "time (s)"  # system/ against time
    assert chart(page, "system/memory/used_bytes", "plot.yaxes[0].axis_label") == "GiB"
    assert _drawn(page, "system/gpu/0/utilization") == RUNS
    assert (
        page.locator('.chart[data-key="system/gpu/0/utilization"]').get_attribute("data-unit")
        == "%"
    )
    tokens = page.locator('.chart[data-key="train/tokens_per_second"]')
    assert tokens.get_attribute("data-unit") == "k tokens/s"
    assert page.locator('.chart[data-key="train/loss"]').get_attribute("data-x") == "step"

    total = page.locator('.tile[data-key="system/memory/total_bytes"]')
    assert total.locator(".value").inner_text() == f"16 GiB (all {RUNS} runs)"
    runtime = page.locator('.tile[data-key="train/train_runtime"]').inner_text()
    assert "5m00s" in runtime and "5m19s" in runtime

    events = page.locator("tr.event").all_inner_texts()
    assert any("warn alert: loss spike" in row and "at step 7" in row for row in events)
    assert any("error alert: run sweep-02 failed" in row for row in events)
    assert any("checkpoint" in row and "path: /ckpt/sweep-01" in row for row in events)
    marks = chart(
        page,
        "train/loss",
        "node.chart.spans.filter(s => s.visible).map(s => [s.location, s.line_color, s.line_dash])",
    )
    # the checkpoint's step, the warn alert's (raised after step 29), and the failure (an
    # alert with no step) at its run's last step
    assert sorted(marks) == [
        [20, "#1a7f37", "dotted"],
        [29, "#bf8700", "solid"],
        [29, "#cf222e", "solid"],
    ]
    key = page.locator(".mark-key .key-item").evaluate_all(
        "nodes => nodes.map(n => [n.textContent, n.dataset.color, n.dataset.dash])"
    )
    assert key == [
        ["error alert", "#cf222e", "solid"],
        ["warn alert", "#bf8700", "solid"],
        ["checkpoint", "#1a7f37", "dotted"],
    ]
    assert page.locator(".run-list").get_by_text(HOSTILE_NAME, exact=True).count() == 1
    assert page.locator("img").count() == 0 and page.evaluate("window.__pwned") is None
    shot(page, "workspace-system.png")


def test_runs_are_toggled_from_the_side_list(page: Any, served: Served) -> None:
    """Unticking a run hides its line (and its marks) on every chart; none and all."""
    open_page(page, served.url + "/")
    assert _drawn(page, "train/loss") == RUNS
    page.get_by_label("show sweep-00").uncheck()
    _lines_become(page, "train/loss", RUNS - 1)
    assert _drawn(page, "train/loss") == RUNS - 1
    assert _drawn(page, "eval/loss") == RUNS - 1
    # the checkpoint and the failure are left: sweep-00's warn alert is hidden with it
    assert chart(page, "train/loss", "node.chart.spans.filter(s => s.visible).length") == 2
    page.get_by_role("button", name="none").click()
    _lines_become(page, "train/loss", 0)
    assert _drawn(page, "train/loss") == 0
    shot(page, "workspace-none.png")
    page.get_by_role("button", name="all").click()
    _lines_become(page, "train/loss", RUNS)
    assert _drawn(page, "train/loss") == RUNS


@pytest.mark.parametrize(
    ("control", "value", "count"),
    [
        ("status", "failed", 1),
        ("tag", "sweep", 10),
        ("framework", "torchtune", 5),
        # sweep-10 to sweep-18: run 19 bears a hostile name
        ("name", "sweep-1", 9),
    ],
)
def test_the_workspace_is_filtered(
    page: Any, served: Served, control: str, value: str, count: int
) -> None:
    """Status, tag, framework and name filters narrow the runs listed and drawn."""
    open_page(page, served.url + "/")
    field = page.get_by_label(control, exact=True)
    if control == "status":
        field.select_option(value)
    else:
        field.fill(value)
        field.dispatch_event("change")
    page.wait_for_url(f"**{control}={value}**")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.locator(".run-list li").count() == count
    assert _drawn(page, "train/loss") == count


_ASKED = """
window.asked = [];  // each /api/curves request: its chart, and the charts drawn by then
const send = window.fetch;
window.fetch = (url, ...rest) => {
  if (String(url).startsWith("/api/curves")) {
    const key = new URLSearchParams(String(url).split("?")[1]).get("key");
    const drawn = [...document.querySelectorAll(".chart[data-drawn]")].map((c) => c.dataset.key);
    window.asked.push({ key, drawn });
  }
  return send(url, ...rest);
};
"""


def test_charts_near_the_screen_are_asked_for_after_those_in_it(page: Any, served: Served) -> None:
    """The charts of the first screen are asked for first; one only near it (within 300 px
    below) once every chart in view is drawn, so that it does not share the server with
    them; scrolled to, every chart is drawn."""
    page.set_viewport_size({"width": 1280, "height": 700})
    page.add_init_script(_ASKED)
    open_page(page, f"{served.url}/?project=ws")
    tops = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.chart')].map("
        "(c) => [c.dataset.key, c.getBoundingClientRect().top]))"
    )
    in_view = {key for key, top in tops.items() if top < 700}
    near = {key for key, top in tops.items() if 700 <= top < 1000}
    assert in_view and near, tops
    asked = page.evaluate("window.asked")
    order = [a["key"] for a in asked]
    assert set(order[: len(in_view)]) == in_view
    for request in asked:
        if request["key"] in near:
            assert in_view <= set(request["drawn"]), asked
    for key in tops:
        assert _drawn(page, key) > 0
