"""How the dashboard reads at a glance, in a real browser over `showcase`'s 13-run project:
one colour per run on every page, one number format on every axis, tooltip and table
with nice ticks, a key to the marks, and a search that finds a chart among many, with
pins and hidden charts kept for the project. What is checked is what BokehJS holds (its
data sources, glyph colours, tick label texts) and what the page shows."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

import pytest
from showcase import FAILED, LEARNING_RATES, LONG_STEPS, PROJECT, SEEDS, SWEEP_STEPS
from ui_kit import Served, chart, open_page, shot

pytest.importorskip("playwright.sync_api")
pytest.importorskip("bokeh")

RUNS = len(LEARNING_RATES) * len(SEEDS) + 1


@pytest.fixture
def served(showcase_served: Served) -> Served:
    """The page fixture's dashboard: the showcase project's."""
    return showcase_served


# a colour as "#rrggbb", from a glyph's property (a value, or {value}) or a CSS colour
HEX = """c => { c = typeof c === 'object' && c !== null ? c.value : c;
  const m = /^rgb\\((\\d+), (\\d+), (\\d+)\\)$/.exec(c);
  return m ? '#' + m.slice(1).map(n => Number(n).toString(16).padStart(2, '0')).join('') : c; }"""


def _drawn(page: Any, key: str) -> None:
    page.locator(f'.chart[data-key="{key}"]').scroll_into_view_if_needed()
    page.wait_for_function(
        "key => document.querySelector(`.chart[data-key='${key}']`)?.dataset.drawn === '1'",
        arg=key,
    )


def _swatches(page: Any) -> dict[str, str]:
    """The side list's colour of each run, by run id."""
    found: dict[str, str] = page.locator(".run-list li").evaluate_all(
        f"items => Object.fromEntries(items.map(li => [li.dataset.run,"
        f" ({HEX})(li.querySelector('.swatch').style.backgroundColor)]))"
    )
    return found


def _overlay_colors(page: Any, key: str) -> dict[str, str]:
    """The colour of each line the workspace chart of ``key`` holds, by run name."""
    _drawn(page, key)
    found: dict[str, str] = chart(
        page,
        key,
        "Object.fromEntries(node.chart.overlay.shown.data.name.map("
        "(name, i) => [name, node.chart.overlay.shown.data.color[i]]))",
    )
    return found


def test_a_run_keeps_its_colour_on_every_page(page: Any, served: Served) -> None:
    """13 runs, 13 colours; a run's colour is the same in the side list and its lines,
    after a filter, in the compare view, on its page, in the sweep's scatter and in the
    runs table (sorted another way)."""
    names = {run_id: name for name, run_id in served.runs.items()}
    open_page(page, f"{served.url}/?project={PROJECT}")
    colors = _swatches(page)
    assert len(colors) == RUNS and len(set(colors.values())) == RUNS
    lines = _overlay_colors(page, "train/loss")
    assert lines == {names[run_id]: color for run_id, color in colors.items()}
    shot(page, "look-workspace.png")

    open_page(page, f"{served.url}/?project={PROJECT}&name=-s1")  # 4 of the 13 runs
    filtered = _swatches(page)
    assert len(filtered) == len(LEARNING_RATES)
    assert filtered == {run_id: colors[run_id] for run_id in filtered}
    assert _overlay_colors(page, "train/loss") == {names[i]: c for i, c in filtered.items()}

    picked = [served.runs[name] for name in ("long", "lr0.001-s2", "lr0.0001-s0")]
    open_page(page, f"{served.url}/compare?" + "&".join(f"run={run_id}" for run_id in picked))
    _drawn(page, "train/loss")
    compared = chart(
        page,
        "train/loss",
        f"node.chart.sources.map(s => ({HEX})(s.main.glyph.line_color))",
    )
    header = page.locator(".meta .swatch").evaluate_all(
        f"nodes => nodes.map(n => ({HEX})(n.style.backgroundColor))"
    )
    assert compared == header == [colors[run_id] for run_id in picked]
    # the compare view fits x to most runs too: the long run is cut and named
    assert chart(page, "train/loss", "plot.x_range.end") < 400
    note = page.locator('.chart[data-key="train/loss"] .cut-note')
    assert note.inner_text() == "long goes on past this range → show all"

    for run_id in picked:
        open_page(page, f"{served.url}/runs/{run_id}")
        _drawn(page, "train/loss")
        line = chart(page, "train/loss", f"({HEX})(node.chart.sources[0].main.glyph.line_color)")
        assert line == colors[run_id]

    open_page(page, f"{served.url}/?project={PROJECT}&param=seed&metric=train/loss")
    page.wait_for_selector(".sweep .scatter circle.run")
    points = page.locator(".sweep .scatter circle.run").evaluate_all(
        "nodes => Object.fromEntries(nodes.map(n => [n.dataset.run, n.getAttribute('fill')]))"
    )
    assert points == colors

    open_page(page, f"{served.url}/?view=table&project={PROJECT}&sort=name")
    page.wait_for_selector("tbody tr .swatch")
    rows = page.locator("tbody tr").evaluate_all(
        f"rows => Object.fromEntries(rows.map(r => [r.dataset.run,"
        f" ({HEX})(r.querySelector('.swatch').style.backgroundColor)]))"
    )
    assert rows == colors


NUMBERS = {
    0.0003: "3e-4",
    2.5e-5: "2.5e-5",
    0.25: "0.25",
    1200: "1.2k",
    60_000: "60k",
    10_000: "10k",
    1_000_000: "1M",
    1_250_000: "1.25M",
    999_999: "1M",
    0.001: "1e-3",
    8.225e-11: "8.23e-11",
    0.0002992: "2.99e-4",
    1.383: "1.38",
    0: "0",
    -0.5: "-0.5",
    2.5e15: "2.5e15",
}


def test_one_number_format(page: Any, served: Served) -> None:
    """fmtNumber writes numbers as people do (3e-4, 0.25, 1.2k, 60k, 1M), fmtTicks with
    the fewest digits that tell ticks apart, and niceTicks at 1, 2 or 5 times a power of
    ten, as the page's own module computes them."""
    open_page(page, f"{served.url}/?project={PROJECT}")
    common = "const m = await import('/static/numbers.js');"
    written = page.evaluate(
        f"async values => {{ {common} return values.map(v => m.fmtNumber(v)); }}",
        list(NUMBERS),
    )
    assert dict(zip(NUMBERS, written, strict=True)) == NUMBERS
    ticks = page.evaluate(
        f"async () => {{ {common} return ["
        "m.fmtTicks([0, 0.0005, 0.001, 0.0015]), m.fmtTicks([1.2, 1.3, 1.4]),"
        "m.fmtTicks([10000, 10001, 10002]), m.fmtTicks([0, 2500, 5000, 7500, 10000]),"
        "m.fmtTicks([0.30000000000000004, 5.551115123125783e-17, 0.1]),"
        "m.niceTicks(1.273, 1.493), m.niceTicks(1e-5, 1e-3, true), m.niceTicks(0, 9)]; }"
    )
    open_page(page, f"{served.url}/runs/{served.runs['lr0.0001-s0']}")
    row = page.locator("tr", has=page.locator("td", has_text="train/num_input_tokens_seen"))
    assert row.locator("td").nth(1).inner_text() == "1.229M"  # 1,228,800 tokens seen
    assert ticks == [
        ["0", "5e-4", "1e-3", "1.5e-3"],
        ["1.2", "1.3", "1.4"],
        ["10k", "10.001k", "10.002k"],
        ["0", "2.5k", "5k", "7.5k", "10k"],
        ["0.3", "0", "0.1"],
        [1.3, 1.35, 1.4, 1.45],
        [1e-5, 1e-4, 1e-3],
        [0, 2, 4, 6, 8],
    ]


def _labels(page: Any, key: str, side: str) -> tuple[list[str], list[float]]:
    """The tick labels BokehJS draws on the ``side`` ("below", "left") axis of the chart
    of ``key``, and the tick values."""
    found: tuple[list[str], list[float]] = chart(
        page,
        key,
        f"(() => {{ const axis = node.chart.view.owner.get_one(plot.{side}[0]);"
        f" const ticks = axis.tick_coords.major[{0 if side == 'below' else 1}];"
        " return [axis.compute_labels(ticks).items.map(l => l.text),"
        " [...axis.model.ticker.get_ticks(axis.computed_bounds[0], axis.computed_bounds[1],"
        " null, null).major]]; })()",
    )
    return found


COMPACT = re.compile(r"-?(0|[1-9]\d{0,2}(\.\d{1,2})?[kMBT]?|\d(\.\d{1,2})?e-?\d+|0\.\d{1,3})")


def _nice(values: list[float]) -> bool:
    """Whether ticks are spaced 1, 2 or 5 times a power of ten."""
    gap = values[1] - values[0]
    mantissa = gap / 10 ** math.floor(math.log10(gap))
    return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5))


def test_axes_read_alike_with_nice_ticks(page: Any, served: Served) -> None:
    """A learning rate's axis reads 0, 5e-4 … 3e-3, a step axis 0, 200 … 6k (the long run
    shown), a sweep's group chart and parallel coordinates alike; every tick at 1, 2 or 5
    times a power of ten."""
    open_page(page, f"{served.url}/?project={PROJECT}&fit=0")
    _drawn(page, "train/learning_rate")
    y, values = _labels(page, "train/learning_rate", "left")
    assert y[-1] in ("3e-3", "3.5e-3") and "1e-3" in y, y
    assert all(COMPACT.fullmatch(label) for label in y), y
    assert _nice(values)
    x, values = _labels(page, "train/learning_rate", "below")
    assert "6k" in x and all(COMPACT.fullmatch(label) for label in x), x
    assert _nice(values)

    open_page(page, f"{served.url}/?project={PROJECT}&group=seed&metric=train/learning_rate")
    page.wait_for_function(
        "() => document.querySelector('.sweep .group-chart')?.dataset.drawn === '1'"
    )
    group_y = page.evaluate(
        "() => { const node = document.querySelector('.sweep .group-chart');"
        " const axis = node.chart.view.owner.get_one(node.chart.plot.left[0]);"
        " return axis.compute_labels(axis.tick_coords.major[1]).items.map(l => l.text); }"
    )
    assert all(COMPACT.fullmatch(label) for label in group_y) and "1e-3" in group_y, group_y
    open_page(page, f"{served.url}/?project={PROJECT}&metric=train/loss&param=seed")
    parallel = page.locator(".sweep .parallel .axis")
    assert parallel.nth(0).locator(".tick").all_text_contents() == ["1e-4", "3e-4", "1e-3", "3e-3"]
    metric = parallel.nth(parallel.count() - 1).locator(".tick").all_text_contents()
    assert all(COMPACT.fullmatch(label) for label in metric), metric
    numbers = [float(label) for label in metric]
    assert len(numbers) >= 3 and _nice(numbers), metric
    shot(page, "look-sweep.png")


def test_the_group_chart_fits_x_to_most_runs(page: Any, served: Served) -> None:
    """The sweep's group chart of train/loss by learning rate: the long run (in the 1e-3
    group) does not squash the others; x ends where the sweep ends, a note says one run
    goes on, and *show all* gives the long run's every step back."""
    open_page(page, f"{served.url}/?project={PROJECT}&group=learning_rate&metric=train/loss")
    drawn = "() => document.querySelector('.sweep .group-chart')?.dataset.drawn === '1'"
    page.wait_for_function(drawn)
    end = "() => document.querySelector('.sweep .group-chart').chart.plot.x_range.end"
    sweep_end, long_end = SWEEP_STEPS * 0.1 - 1, LONG_STEPS * 0.1 - 1  # a tenth: the fixture's
    assert sweep_end <= page.evaluate(end) < long_end / 4
    note = page.locator(".sweep .group-chart .cut-note")
    assert note.inner_text() == "1 run goes on past this range → show all"
    note.locator("button").click()
    page.wait_for_function(f"() => ({end})() >= {long_end} * 0.98")
    assert page.locator(".sweep .group-chart .cut-note").count() == 0


def test_marks_have_a_key_and_a_failure_is_marked_at_its_last_step(
    page: Any, served: Served
) -> None:
    """The failed run's error alert is drawn at its last step; the key names each kind of
    mark in the colour and dash it is drawn with; a run page's checkpoints are dotted,
    the best orange."""
    failed = served.runs[f"lr{FAILED[0]:g}-s{FAILED[1]}"]
    open_page(page, f"{served.url}/runs/{failed}")
    _drawn(page, "train/loss")
    last = page.evaluate(f"async () => (await (await fetch('/api/runs/{failed}')).json()).step")
    spans = chart(
        page,
        "train/loss",
        "node.chart.spans.filter(s => s.visible).map(s => [s.location, s.line_color, s.line_dash])",
    )
    assert [last, "#cf222e", "solid"] in spans
    best = served.runs["lr0.001-s0"]
    open_page(page, f"{served.url}/runs/{best}")
    _drawn(page, "train/loss")
    page.wait_for_selector(".mark-key .key-item")
    key = page.locator(".mark-key .key-item").evaluate_all(
        "nodes => nodes.map(n => [n.textContent, n.dataset.color, n.dataset.dash])"
    )
    assert key == [["best checkpoint", "#e8590c", "dotted"], ["checkpoint", "#1a7f37", "dotted"]]
    spans = chart(
        page,
        "train/loss",
        "node.chart.spans.filter(s => s.visible).map(s => [s.line_color, s.line_dash])",
    )
    assert sorted(spans) == [["#1a7f37", "dotted"], ["#e8590c", "dotted"]]


def _visible_charts(page: Any) -> list[str]:
    found: list[str] = page.locator(".chart-box:visible").evaluate_all(
        "boxes => boxes.map(b => b.dataset.key)"
    )
    return found


def test_charts_are_searched_pinned_and_hidden(page: Any, served: Served) -> None:
    """A search (text or /regex/) keeps the matching charts and is kept in the address; a
    pinned chart comes first and a hidden one goes, on every page of the project, after a
    reload too, until "hidden (N)" brings it back."""
    open_page(page, f"{served.url}/?project={PROJECT}")
    everything = _visible_charts(page)
    assert "train/loss" in everything and "system/memory/used_bytes" in everything
    search = page.get_by_label("search charts")
    search.fill("LOSS")
    page.wait_for_url("**search=LOSS**")
    assert _visible_charts(page) == ["train/loss", "eval/loss"]
    search.fill("/^(system|eval)\\//")
    assert _visible_charts(page) == ["eval/loss", "system/memory/used_bytes"]
    search.fill("/(/")  # not a regex: searched as text, said so
    assert _visible_charts(page) == []
    assert "invalid" in (search.get_attribute("class") or "")
    open_page(page, f"{served.url}/?project={PROJECT}&search={quote('/^eval/')}")
    assert page.get_by_label("search charts").input_value() == "/^eval/"
    assert _visible_charts(page) == ["eval/loss"]
    page.get_by_label("status", exact=True).select_option("failed")  # a filter keeps it
    page.wait_for_url("**status=failed**")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.locator(".run-list li").count() == 1
    assert _visible_charts(page) == ["eval/loss"]

    open_page(page, f"{served.url}/?project={PROJECT}")
    page.locator('.chart-box[data-key="eval/loss"]').hover()
    page.get_by_label("pin eval/loss").click()
    page.locator('.chart-box[data-key="train/learning_rate"]').hover()
    page.get_by_label("hide train/learning_rate").click()
    shown = _visible_charts(page)
    assert shown[0] == "eval/loss" and "train/learning_rate" not in shown
    assert page.locator("section.pinned h2").inner_text() == "pinned"
    assert page.get_by_role("button", name="hidden (1)").is_visible()
    open_page(page, f"{served.url}/runs/{served.runs['lr0.001-s1']}")  # the same project
    shown = _visible_charts(page)
    assert shown[0] == "eval/loss" and "train/learning_rate" not in shown
    page.get_by_role("button", name="hidden (1)").click()
    page.get_by_label("show train/learning_rate").click()
    assert "train/learning_rate" in _visible_charts(page)
    open_page(page, f"{served.url}/?project={PROJECT}")
    assert _visible_charts(page) == ["eval/loss", *(k for k in everything if k != "eval/loss")]
    assert page.get_by_role("button", name="hidden (0)").count() == 0


def test_x_is_a_metric_that_grows_with_the_step(page: Any, served: Served) -> None:
    """Picking train/num_input_tokens_seen as x draws every chart against it (each point
    at the tokens seen at its step), fitted to most runs, and keeps x= in the address."""
    found = served.get(f"/api/workspace?project={PROJECT}")
    if b'"x_keys"' not in found.body:
        pytest.skip("the server offers no x_keys yet (the curves' x= API)")
    key = "train/num_input_tokens_seen"
    open_page(page, f"{served.url}/?project={PROJECT}")
    page.get_by_label("x axis").select_option(key)
    page.wait_for_url(f"**x={quote(key, safe='')}**")
    page.wait_for_function(
        "key => document.querySelector(\".chart[data-key='train/loss']\")"
        ".chart?.plot.xaxes[0].axis_label === key",
        arg=key,
    )
    xs = chart(page, "train/loss", "node.chart.overlay.shown.data.xs.map(x => x.at(-1))")
    tokens = chart(page, "train/loss", "node.chart.overlay.shown.data.name")
    ends = dict(zip(tokens, xs, strict=True))
    assert ends["lr0.0001-s0"] < ends["lr0.0001-s2"]  # seed 2 sees 3 times the tokens
    # x is fitted to where most lines end (the long run cut, and named) and marks, which
    # are at steps, are not drawn: their key says so
    assert chart(page, "train/loss", "plot.x_range.end") < max(ends.values())
    note = page.locator('.chart[data-key="train/loss"] .cut-note')
    assert note.inner_text() == "long goes on past this range → show all"
    assert chart(page, "train/loss", "node.chart.spans.filter(s => s.visible).length") == 0
    assert f"not against {key}" in page.locator(".mark-key").inner_text()
    open_page(page, page.url)  # a link keeps x
    assert page.get_by_label("x axis").input_value() == key
