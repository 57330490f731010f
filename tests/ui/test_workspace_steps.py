"""Step axes in the workspace, read off the drawn axes: one readable step format on every
chart (``200k``, ``1M``, never ``1.000e+6``), and the one-click fit when one run is 50
times longer than the others."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import Served, chart, open_page, serve, shot

from tracker import CustomTracker

pytest.importorskip("playwright.sync_api")
pytest.importorskip("bokeh")

SHORT_RUNS = 13
SHORT, LONG = 20_000, 1_000_000  # steps: the long run is 50 times longer


def _track(name: str, last: int, every: int, *, grad_norm: bool) -> str:
    run = CustomTracker("steps", name).start()
    for step in range(0, last + 1, every):
        metrics = {"train/loss": 2.0 / (1 + step / 1000)}
        if grad_norm:
            metrics["train/grad_norm"] = 1.0 + (step % 7) / 10
        run.log_metrics(metrics, step=step)
    run.finish()
    assert run.run_id is not None
    return run.run_id


@pytest.fixture
def served(tracker_dir: Path) -> Iterator[Served]:
    """13 runs of 20,000 steps (``train/loss`` and ``train/grad_norm``) and one of 1,000,000
    (``train/loss`` only), 201 points each."""
    runs = {f"short-{i}": _track(f"short-{i}", SHORT, 100, grad_norm=True) for i in range(13)}
    runs["long"] = _track("long", LONG, 5000, grad_norm=False)
    with serve() as url:
        yield Served(url, runs)


def _ticks(page: Any, key: str) -> list[str]:
    """The x axis's tick labels of the chart of ``key``, as BokehJS draws them now."""
    labels: list[str] = chart(
        page,
        key,
        "(() => { const axis = node.chart.view.owner.get_one(plot.below[0]);"
        " const ticks = axis.tick_coords.major[0];"
        " return axis.compute_labels(ticks).items.map((label) => label.text); })()",
    )
    return labels


def _x_end(page: Any, key: str) -> float:
    end: float = chart(page, key, "plot.x_range.end")
    return end


def _drawn(page: Any, *keys: str) -> None:
    for key in keys:
        page.wait_for_function(
            "key => document.querySelector(`.chart[data-key='${key}']`)?.dataset.drawn === '1'",
            arg=key,
        )


def test_step_ticks_read_alike_and_the_fit_control_fits_most_runs(
    page: Any, served: Served
) -> None:
    """The workspace opens with x fitted to most runs: cut at 20k on every chart, the long
    run still drawn and named in a note on the chart; the note's "show all" gives 0 … 1M
    (not 0.000e+0 … 1.000e+6) and keeps fit=0 in the address, which a reload keeps; a
    fit follows the runs ticked."""
    page.set_viewport_size({"width": 1280, "height": 1400})
    open_page(page, served.url + "/?project=steps")
    _drawn(page, "train/loss", "train/grad_norm")
    compact = re.compile(r"0|-?\d+(\.\d+)?[kMBT]?")
    assert SHORT < _x_end(page, "train/loss") < SHORT * 1.1
    assert SHORT < _x_end(page, "train/grad_norm") < SHORT * 1.1
    assert chart(page, "train/loss", "node.chart.overlay.shown.data.xs.length") == SHORT_RUNS + 1
    fitted = _ticks(page, "train/loss")
    assert fitted[-1] == "20k" and "10k" in fitted, fitted
    assert all(compact.fullmatch(label) for label in fitted), fitted
    assert _ticks(page, "train/grad_norm") == fitted
    note = page.locator('.chart[data-key="train/loss"] .cut-note')
    assert note.inner_text() == "long goes on past this range → show all"
    assert page.locator('.chart[data-key="train/grad_norm"] .cut-note').is_hidden()
    shot(page, "workspace-steps-fitted.png")

    note.get_by_role("button", name="→ show all").click()
    page.wait_for_function(
        "() => document.querySelector(\".chart[data-key='train/loss']\").chart.plot.x_range.end"
        f" > {LONG}"
    )
    page.wait_for_function(  # the axes are drawn again
        "() => { const node = document.querySelector(\".chart[data-key='train/loss']\");"
        " const axis = node.chart.view.owner.get_one(node.chart.plot.below[0]);"
        " return axis.compute_labels(axis.tick_coords.major[0]).items.at(-1).text === '1M'; }"
    )
    loss = _ticks(page, "train/loss")
    assert loss[-1] == "1M" and ("200k" in loss or "500k" in loss), loss
    assert all(compact.fullmatch(label) for label in loss), loss
    neighbour = _ticks(page, "train/grad_norm")  # the short runs only: 0 to 20k
    assert neighbour[-1] == "20k" and "10k" in neighbour, neighbour
    assert note.is_hidden()
    assert "fit=0" in page.url
    shot(page, "workspace-steps-long.png")
    open_page(page, page.url)  # a reload (a link) shows every step too
    _drawn(page, "train/loss")
    assert _x_end(page, "train/loss") > LONG

    # unticking the long run while fitted keeps x fitted to the runs shown
    page.get_by_role("button", name="fit x to most runs").click()
    page.get_by_label("show long").uncheck()
    page.wait_for_function(
        "() => document.querySelector(\".chart[data-key='train/loss']\").chart.plot.x_range.end"
        f" < {SHORT * 1.1}"
    )
