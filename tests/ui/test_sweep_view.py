"""The workspace's sweep panel in a real browser, over a 50-run sweep (5 learning rates x
10 seeds): runs grouped by a config key (mean line and min-max band per group),
parallel coordinates and a parameter-against-metric scatter of every run, and the
compare view's config differences with the keys alike behind a toggle. Screenshots are
kept in ``artifacts/ui/``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from ui_kit import (
    HOSTILE_CONFIG,
    HOSTILE_NAME,
    LEARNING_RATES,
    SEEDS,
    Served,
    open_page,
    serve,
    shot,
)

pytest.importorskip("bokeh")

RUNS = len(LEARNING_RATES) * SEEDS
LR_TEXTS = ["1e-5", "3e-5", "1e-4", "3e-4", "1e-3"]  # as the page writes them
GROUP_CHART = ".sweep .group-chart"
# the group chart's renderers that draw something: [glyph type, colour] each
RENDERERS = """node => node.chart.plot.renderers
  .filter(r => r.visible && r.data_source.get_length() > 0)
  .map(r => [r.glyph.constructor.__name__,
             r.glyph.constructor.__name__ === 'VArea' ? r.glyph.fill_color : r.glyph.line_color])
  .map(([kind, color]) => [kind, typeof color === 'object' ? color.value : color])"""


@pytest.fixture
def served(sweep_served: Served) -> Served:
    """The page fixture's dashboard: the sweep's."""
    return sweep_served


def _grouped(page: Any, count: int) -> list[list[str]]:
    """Wait until the group chart is drawn with ``count`` groups; its renderers."""
    page.wait_for_function(
        "([selector, count]) => { const node = document.querySelector(selector);"
        " return node.dataset.drawn === '1' && node.dataset.groups === String(count); }",
        arg=[GROUP_CHART, count],
    )
    return list(page.locator(GROUP_CHART).evaluate(RENDERERS))


def test_the_sweep_is_grouped_by_a_config_key(page: Any, served: Served) -> None:
    """The panel opens folded; group by learning_rate: 5 groups, each a mean line and a
    band in one colour of its own, named in the legend with its 10 runs; the choice is
    kept in the address."""
    open_page(page, served.url + "/?project=sweep")
    heading = page.locator(".sweep summary")
    assert heading.inner_text() == f"Sweep: {RUNS} runs, 6 config keys differ"
    assert page.locator(".sweep .parallel").is_hidden()  # folded: the charts come first
    heading.click()
    page.wait_for_selector(".sweep .parallel[data-lines]")
    assert "metric=eval%2Floss" in page.url  # opened, the panel is kept in the address
    assert page.locator(GROUP_CHART).is_hidden()  # nothing grouped until a key is picked
    page.get_by_label("group by").select_option("learning_rate")
    renderers = _grouped(page, len(LEARNING_RATES))
    lines = [color for kind, color in renderers if kind == "Line"]
    bands = [color for kind, color in renderers if kind == "VArea"]
    assert len(lines) == len(bands) == len(LEARNING_RATES)
    assert lines == bands and len(set(lines)) == len(LEARNING_RATES)
    legend = page.locator(GROUP_CHART).evaluate(
        "node => node.chart.plot.below.filter(l => l.items)"
        ".flatMap(l => l.items.map(i => i.label.value))"
    )
    assert legend == [f"{lr} ({SEEDS} runs)" for lr in LR_TEXTS]
    assert "group=learning_rate" in page.url
    # the scatter's points take their group's colour
    points = page.locator(".sweep .scatter circle.run").evaluate_all(
        "nodes => [...new Set(nodes.map(n => n.getAttribute('fill')))]"
    )
    assert sorted(points) == sorted(lines)
    shot(page, "sweep-groups.png")

    page.get_by_label("metric", exact=True).select_option("train/loss")
    _grouped(page, len(LEARNING_RATES))
    page.get_by_label("group by").select_option("seed")
    assert len(_grouped(page, SEEDS)) == 2 * SEEDS


def test_parallel_coordinates_and_scatter_draw_every_run(page: Any, served: Served) -> None:
    """Parallel coordinates: an axis per varying key (a text set per run left out) and
    the metric, a line per run, a drag along an axis keeps the runs crossing it there;
    the scatter a point per run; a text key is a category axis; hovering names the run;
    a link keeps the choices."""
    open_page(page, served.url + "/?project=sweep&group=warmup&metric=train/loss&param=warmup")
    parallel = page.locator(".sweep .parallel")
    assert parallel.locator("polyline.run").count() == RUNS
    assert parallel.get_attribute("data-axes") == "6"  # 5 keys and the metric
    axes = parallel.locator(".axis .name").all_text_contents()
    assert axes == ["learning_rate", "note", "optim.betas", "seed", "warmup", "train/loss"]
    assert "1 more varying key not drawn" in parallel.inner_text()  # output_dir
    ticks = parallel.locator(".axis").nth(0).locator(".tick").all_text_contents()
    assert ticks == LR_TEXTS  # one tick for each value
    title = parallel.locator(f'polyline[data-run="{served.runs["lr0.0001-s0"]}"] title')
    assert title.text_content().startswith("lr0.0001-s0\ntrain/loss: ")
    # a drag along the learning_rate axis over its top value keeps that value's 10 runs
    box = parallel.locator("svg").bounding_box()
    x, top = box["x"] + 40, box["y"] + 44  # the first axis; its top (0.001)
    page.mouse.move(x, top - 5)
    page.mouse.down()
    page.mouse.move(x, top + 8, steps=4)
    page.mouse.up()
    assert parallel.get_attribute("data-kept") == str(SEEDS)
    assert parallel.locator("polyline.run:not(.faded)").count() == SEEDS
    page.mouse.click(x, top + 20)  # a click on the axis lets go
    assert parallel.get_attribute("data-kept") == str(RUNS)

    scatter = page.locator(".sweep .scatter")
    assert scatter.locator("circle.run").count() == RUNS
    assert page.get_by_label("x", exact=True).input_value() == "warmup"
    assert scatter.locator(".tick").all_text_contents()[:2] == ["100", "auto"]
    assert len(_grouped(page, 2)) == 4
    page.get_by_label("x", exact=True).select_option("learning_rate")
    page.wait_for_function(
        "() => document.querySelector('.sweep .scatter .name').textContent"
        " === 'learning_rate (log)'"
    )
    assert scatter.locator("circle.run").count() == RUNS
    # the lowest final loss is at 1e-4: its points sit lowest (largest y)
    lowest = scatter.locator("circle.run").evaluate_all(
        "nodes => nodes.reduce((a, b) => (Number(a.getAttribute('cy')) >"
        " Number(b.getAttribute('cy')) ? a : b)).querySelector('title').textContent"
    )
    assert lowest.startswith("lr0.0001-s0\n")
    shot(page, "sweep-parallel-scatter.png")
    parallel.locator(f'polyline[data-run="{served.runs["lr0.001-s9"]}"]').dispatch_event("click")
    page.wait_for_url(f"**/runs/{served.runs['lr0.001-s9']}")


def test_compare_shows_only_the_keys_that_differ(page: Any, served: Served) -> None:
    """Two seeds of one learning rate: only seed, betas and output folder are listed;
    the toggle adds the keys alike, greyed."""
    a, b = served.runs["lr0.001-s1"], served.runs["lr0.001-s2"]
    open_page(page, f"{served.url}/compare?run={a}&run={b}")
    rows = page.locator(".config-diff tbody tr:visible")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.key)") == [
        "optim.betas",
        "output_dir",
        "seed",
    ]
    page.get_by_label("show every config key").check()
    keys = rows.evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert keys == [
        "learning_rate",
        "model.layers",
        "model.name",
        "optim.betas",
        "output_dir",
        "seed",
        "warmup",
    ]
    assert page.locator(".config-diff tr.same:visible").count() == 4
    shot(page, "compare-config.png")
    page.get_by_label("show every config key").uncheck()
    assert rows.count() == 3


def test_hostile_names_and_values_are_text(browser: Any, filled_store: dict[str, str]) -> None:
    """A run named in HTML whose config keys and values are HTML and a 100,000-character
    text: the panel draws them as text, grouped, on axes and in tooltips, and runs none."""
    with serve() as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        key = "<b>key</b>"
        query = urlencode({"project": "demo", "group": key, "param": key, "metric": "train/loss"})
        open_page(page, f"{url}/?{query}")
        assert page.locator(".sweep .parallel polyline.run").count() == 3
        assert key in page.locator(".sweep .parallel .axis .name").all_text_contents()
        hostile = page.locator(f'.sweep .parallel polyline[data-run="{filled_store["hostile"]}"]')
        assert hostile.locator("title").text_content().startswith(HOSTILE_NAME + "\n")
        assert page.locator(".sweep .scatter circle.run").count() == 3
        ticks = page.locator(".sweep .scatter .tick").all_text_contents()
        assert HOSTILE_CONFIG[key][:23] + "…" in ticks and "not set" in ticks
        assert len(_grouped(page, 2)) == 4
        assert page.locator("img").count() == 0 and page.evaluate("window.__pwned") is None
        shot(page, "sweep-hostile.png")
        context.close()
    assert errors == []
