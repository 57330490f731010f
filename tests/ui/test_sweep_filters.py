"""The workspace's sweep panel over a 13-run project (a 12-run learning-rate x seed sweep
``lr-sweep`` and an unrelated eval run), at 1440x900: it draws exactly the runs the side
list shows (the *sweep* filter among them), its x-axis labels do not overlap, and its
panels fill the width."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ui_kit import Served, open_page, shot

pytest.importorskip("bokeh")

OPEN = "&metric=eval/loss&param=learning_rate"  # opens the panel on these


@pytest.fixture
def served(small_served: Served) -> Served:
    """The page fixture's dashboard: the 13-run project's."""
    return small_served


def _drawn(page: Any, url: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    open_page(page, url)
    page.wait_for_selector(".sweep .scatter[data-points] svg", state="attached")


def _sweep_state(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => ({
          heading: document.querySelector('.sweep summary').textContent,
          listed: document.querySelectorAll('.run-list li').length,
          lines: Number(document.querySelector('.sweep .parallel').dataset.lines),
          axes: [...document.querySelectorAll('.sweep .parallel .axis .name')]
            .map(t => t.textContent),
          points: Number(document.querySelector('.sweep .scatter').dataset.points),
          metrics: [...document.querySelectorAll('.sweep select[aria-label=metric] option')]
            .map(o => o.value),
        })"""
        )
    )


def test_the_sweep_filter_gives_the_panel_the_runs_the_side_list_shows(
    page: Any, served: Served
) -> None:
    """sweep=lr-sweep: 12 runs in the side list and 12 in the panel, whose axes are the
    sweep's keys only (not the eval run's eval_dataset, batch_size); the sweep box shows
    the filter, and typing another keeps it in the address."""
    _drawn(page, served.url + "/?project=small&sweep=lr-sweep" + OPEN)
    state = _sweep_state(page)
    assert state["listed"] == 12
    assert state["heading"] == "Sweep: 12 runs, 3 config keys differ"
    assert (state["lines"], state["points"]) == (12, 12)
    assert state["axes"] == ["learning_rate", "model.lora.r", "seed", "eval/loss"]
    assert state["metrics"] == ["eval/loss", "train/loss"]  # not the eval run's accuracy
    assert page.get_by_label("sweep", exact=True).input_value() == "lr-sweep"
    shot(page, "sweep-filtered.png")

    _drawn(page, served.url + "/?project=small" + OPEN)  # no filter: all 13, its keys too
    state = _sweep_state(page)
    assert (state["listed"], state["lines"], state["points"]) == (13, 13, 13)
    assert "eval_dataset" in state["axes"]
    page.get_by_label("sweep", exact=True).fill("lr-sweep")
    page.get_by_label("sweep", exact=True).dispatch_event("change")
    page.wait_for_url("**sweep=lr-sweep**")
    page.wait_for_selector("body[data-ready]", state="attached")
    assert parse_qs(urlsplit(page.url).query)["sweep"] == ["lr-sweep"]


def test_scatter_x_labels_do_not_overlap(page: Any, served: Served) -> None:
    """learning_rate across all 13 runs: the eval run sits at *not set*, left of 1e-4;
    no two x-axis labels the browser drew share a pixel."""
    _drawn(page, served.url + "/?project=small" + OPEN)
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('.sweep .scatter text.tick.x')]
          .filter(t => getComputedStyle(t).display !== 'none')
          .map(t => { const b = t.getBBox(); return [t.textContent, b.x, b.x + b.width]; })
          .sort((a, b) => a[1] - b[1])"""
    )
    labels = [label for label, _, _ in boxes]
    assert labels[0] == "not set" and "1e-4" in labels
    overlaps = [(a[0], b[0]) for a, b in itertools.pairwise(boxes) if b[1] < a[2] + 2]
    assert overlaps == []
    shot(page, "sweep-not-set.png")


def _cells(page: Any) -> list[list[float]]:
    """[left, right] of the parallel coordinates' cell, the groups' and the scatter's."""
    return list(
        page.evaluate(
            """() => ['.wide', '.panels > div:nth-child(2)', '.panels > div:nth-child(3)']
              .map(s => document.querySelector('.sweep .panels > ' + s.replace('.panels > ', '')))
              .map(n => n.getBoundingClientRect())
              .map(b => [b.left, b.right])"""
        )
    )


def test_the_panels_fill_the_width(page: Any, served: Served) -> None:
    """Ungrouped, the scatter takes the row under the parallel coordinates; grouped, groups
    and scatter share it, each about half: no empty third either way, and the scatter is
    drawn across its box."""
    _drawn(page, served.url + "/?project=small&sweep=lr-sweep" + OPEN)
    (wide_left, wide_right), _, (scatter_left, scatter_right) = _cells(page)
    assert page.locator(".sweep .panels > div:nth-child(2)").is_hidden()
    assert abs(scatter_left - wide_left) <= 2 and abs(scatter_right - wide_right) <= 2
    svg_right = page.evaluate(
        "() => document.querySelector('.sweep .scatter svg').getBoundingClientRect().right"
    )
    assert svg_right > scatter_right - 20

    _drawn(page, served.url + "/?project=small&sweep=lr-sweep&group=learning_rate" + OPEN)
    page.wait_for_selector(".sweep .group-chart[data-drawn='1']", state="attached")
    cells = _cells(page)
    (wide_left, wide_right), (groups_left, groups_right), (scatter_left, scatter_right) = cells
    width = wide_right - wide_left
    assert abs(scatter_right - wide_right) <= 2 and abs(groups_left - wide_left) <= 2
    assert groups_right < scatter_left
    assert all(right - left > 0.4 * width for left, right in cells[1:])
    shot(page, "sweep-panel.png")
