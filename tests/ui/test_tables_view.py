"""The table viewer in a real headless browser (Debian's chromium driven by Playwright):
hostile texts shown as text, steps picked by slider, arrows and keys, search, sort, two
steps side by side, and the same step of two runs in the compare view.

Skipped when Playwright or /usr/bin/chromium is missing; screenshots in ``artifacts/ui/``.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_kit import HOSTILE_TEXTS, TABLE_STEPS, Served, open_page, shot

pytest.importorskip("playwright.sync_api")
pytest.importorskip("bokeh")

VIEWER = "section.tables"


@pytest.fixture
def served(tables_served: Served) -> Served:
    """This module's pages show the runs with tables."""
    return tables_served


def _run_page(page: Any, served: Served, name: str = "tables") -> None:
    open_page(page, f"{served.url}/runs/{served.runs[name]}")
    _shown(page, TABLE_STEPS[-1])


def _shown(page: Any, *steps: int) -> None:
    """Wait until the viewer has drawn exactly the panes of ``steps``."""
    page.wait_for_function(
        "steps => { const v = document.querySelector('section.tables');"
        " const shown = [...v.querySelectorAll('.pane')].map(p => Number(p.dataset.step));"
        " return v.dataset.loading === '0' && JSON.stringify(shown) === JSON.stringify(steps); }",
        arg=list(steps),
    )


def _rows(page: Any, count: int) -> None:
    """Wait until the viewer's panes show ``count`` rows in all."""
    page.wait_for_function(
        "n => document.querySelectorAll('section.tables tbody tr').length === n", arg=count
    )


def _slide(page: Any, index: int) -> None:
    """Drag the step slider to its ``index``-th step (as a pointer does: value, then input)."""
    page.get_by_label("step", exact=True).evaluate(
        "(slider, i) => { slider.value = String(i);"
        " slider.dispatchEvent(new Event('input', { bubbles: true })); }",
        index,
    )


def _column(page: Any, name: str, pane: int = 0) -> list[str]:
    """The texts of column ``name`` in pane ``pane``, top to bottom."""
    return list(
        page.evaluate(
            "([name, i]) => { const pane = document.querySelectorAll('section.tables .pane')[i];"
            " const at = [...pane.querySelectorAll('th')]"
            "   .map(h => h.textContent.replace(/ [▲▼]$/, '')).indexOf(name);"
            " return [...pane.querySelectorAll('tbody tr')]"
            "   .map(r => r.children[at].textContent); }",
            [name, pane],
        )
    )


def test_hostile_texts_show_as_text_and_never_run(page: Any, served: Served) -> None:
    """HTML, emoji, right-to-left and escaped surrogates are cells' text; nothing runs; a
    long text is folded until clicked; NaN and None are written plainly."""
    _run_page(page, served)
    completions = _column(page, "completion")
    assert completions[:2] == HOSTILE_TEXTS[:2]
    assert completions[3:5] == HOSTILE_TEXTS[3:5]
    assert completions[5] == "lone \\ud800 surrogate"
    assert page.evaluate("window.__pwned") is None
    assert page.locator(f"{VIEWER} img, {VIEWER} script").count() == 0
    folded = page.locator(f"{VIEWER} td.folded")
    assert folded.count() == 1
    assert completions[2].startswith("x" * 400) and completions[2].endswith("more characters")
    assert len(completions[2]) < 500
    shot(page, "tables-hostile.png")
    folded.get_by_role("button").click()
    whole = _column(page, "completion")[2]
    assert whole.startswith("x" * 262_144) and whole.endswith("more characters]")
    page.get_by_label("previous step").click()
    _shown(page, 20)
    assert _column(page, "reward") == ["0.5", "10", "2", "NaN"]
    assert _column(page, "note") == ["None"] * 4


def test_slider_arrows_and_keys_change_the_step(page: Any, served: Served) -> None:
    """The arrows, the slider's keys and the slider itself each show that step's rows."""
    _run_page(page, served)
    assert page.locator(f"{VIEWER} .bar .note").inner_text() == "step 30 (4 of 4)"
    assert page.get_by_label("next step").is_disabled()
    page.get_by_label("previous step").click()
    _shown(page, 20)
    assert _column(page, "prompt") == [f"prompt 20/{i}" for i in range(4)]
    page.get_by_label("step", exact=True).focus()
    page.keyboard.press("ArrowLeft")
    _shown(page, 10)
    page.keyboard.press("Home")
    _shown(page, 0)
    assert _column(page, "completion") == [f"answer 0/{i}" for i in range(4)]
    assert page.get_by_label("previous step").is_disabled()
    page.get_by_label("next step").focus()
    page.keyboard.press("Enter")
    _shown(page, 10)
    _slide(page, 2)
    _shown(page, 20)
    shot(page, "tables-step.png")


def test_search_filters_and_header_sorts(page: Any, served: Served) -> None:
    """Search keeps the rows whose text holds it; a header sorts numbers as numbers (NaN
    last), a second click the other way."""
    _run_page(page, served)
    page.get_by_label("previous step").click()
    _shown(page, 20)
    page.get_by_label("search rows").fill("20/1")
    _rows(page, 1)
    assert _column(page, "prompt") == ["prompt 20/1"]
    assert page.locator(f"{VIEWER} .pane .note").inner_text() == "1 of 4 rows"
    page.get_by_label("search rows").fill("")
    page.get_by_role("button", name="reward").click()
    assert _column(page, "reward") == ["0.5", "2", "10", "NaN"]
    assert page.locator(f"{VIEWER} th[aria-sort=ascending]").inner_text() == "reward ▲"
    page.get_by_role("button", name="reward").click()
    assert _column(page, "reward") == ["NaN", "10", "2", "0.5"]
    shot(page, "tables-sorted.png")


def test_two_steps_side_by_side(page: Any, served: Served) -> None:
    """A second step shows its rows beside the first; the arrows move the first only."""
    _run_page(page, served)
    page.get_by_label("second step").select_option("0")
    _shown(page, 30, 0)
    assert page.locator(f"{VIEWER} .pane h3").all_text_contents() == ["step 30", "step 0"]
    assert _column(page, "completion", pane=1) == [f"answer 0/{i}" for i in range(4)]
    page.get_by_label("previous step").click()
    _shown(page, 20, 0)
    assert _column(page, "completion", pane=0) == [f"answer 20/{i}" for i in range(4)]
    shot(page, "tables-two-steps.png")


def test_compare_shows_the_same_step_of_two_runs(page: Any, served: Served) -> None:
    """The compare view steps through the steps of either run; each run's rows at that step
    side by side, a run without rows there says so by an empty pane."""
    runs = served.runs
    open_page(page, f"{served.url}/compare?run={runs['tables']}&run={runs['tables-b']}")
    _shown(page, 40, 40)
    assert page.locator(f"{VIEWER} .pane h3").all_text_contents() == ["tables", "tables-b"]
    assert _column(page, "completion", pane=0) == []
    assert page.locator(f"{VIEWER} .pane .note").first.inner_text() == "no rows at this step"
    assert _column(page, "completion", pane=1) == [f"other 40/{i}" for i in range(4)]
    assert page.locator(f"{VIEWER} .bar .note").inner_text() == "step 40 (5 of 5)"
    _slide(page, 1)
    _shown(page, 10, 10)
    assert _column(page, "completion", pane=0) == [f"answer 10/{i}" for i in range(4)]
    assert _column(page, "completion", pane=1) == [f"other 10/{i}" for i in range(4)]
    page.get_by_label("search rows").fill("10/3")
    _rows(page, 2)
    shot(page, "tables-compare.png")
