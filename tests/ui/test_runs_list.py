"""The runs table over a store of many runs: the API pages it (and counts what matches),
the browser holds one page of rows at a time and its pager reaches the last run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import Served, open_page, serve, shot

from tracker import open_store
from tracker.records import RunRecord

pytest.importorskip("bokeh")

RUNS = 1_050
PAGE_ROWS = 100  # the page's rows at a time (views/runs.js)


@pytest.fixture
def served(tracker_dir: Path) -> Iterator[Served]:
    """The dashboard over RUNS finished runs, ``run-0000`` the oldest, ``run-1049`` the newest,
    written through the store (a tracked process per run would take minutes)."""
    store = open_store()
    now = time.time()
    ids = {}
    for i in range(RUNS):
        run = RunRecord(f"r{i:05d}", f"p{i % 3}", f"run-{i:04d}", started_at=now - RUNS + i)
        store.start_run(run, resume=False)
        store.finish_run(run.run_id, "finished", now, None)
        ids[run.name] = run.run_id
    store.close()
    with serve() as url:
        yield Served(url, ids)


def _runs(served: Served, query: str) -> dict[str, Any]:
    reply = served.get(f"/api/runs?{query}")
    assert reply.status == 200
    answer: dict[str, Any] = json.loads(reply.body)
    return answer


def test_the_api_gives_a_page_and_how_many_runs_match(served: Served) -> None:
    """limit and offset cut a page of the newest-first list; total counts every match."""
    first = _runs(served, "limit=100")
    assert (first["total"], first["offset"], first["limit"]) == (RUNS, 0, 100)
    assert [r["name"] for r in first["runs"][:2]] == ["run-1049", "run-1048"]
    last = _runs(served, "limit=100&offset=1000")
    assert [r["name"] for r in last["runs"]] == [f"run-{i:04d}" for i in range(49, -1, -1)]
    filtered = _runs(served, "limit=5&offset=5&project=p1&name=run-00")
    names = [f"run-{i:04d}" for i in range(99, -1, -1) if i % 3 == 1]
    assert filtered["total"] == len(names)
    assert [r["name"] for r in filtered["runs"]] == names[5:10]
    assert _runs(served, "limit=100&offset=5000") | {"runs": None} == {
        "runs": None, "total": RUNS, "offset": 5000, "limit": 100
    }  # fmt: skip
    assert served.get("/api/runs?offset=x").status == 400


def _page_shows(page: Any, offset: int) -> None:
    page.wait_for_selector(f".pager[data-offset='{offset}']", state="attached")


def test_the_browser_holds_a_page_of_rows_and_reaches_the_last_run(
    page: Any, served: Served
) -> None:
    """1,050 runs: the table holds 100 rows; next, last and previous page through them and
    the last page ends with the oldest run; a filter starts again at its first page."""
    open_page(page, served.url + "/?view=table")
    rows = page.locator("tbody tr")
    assert rows.count() == PAGE_ROWS
    assert page.locator("#runs-count").inner_text() == "1\u2013100 of 1,050 runs"
    assert page.get_by_role("button", name="previous page").is_disabled()
    page.get_by_role("button", name="next page").click()
    _page_shows(page, 100)
    assert rows.first.locator("a").inner_text() == "run-0949"
    page.get_by_role("button", name="last page").click()
    _page_shows(page, 1000)
    assert rows.count() == 50
    assert rows.last.locator("a").inner_text() == "run-0000"
    assert page.locator("#runs-count").inner_text() == "1,001\u20131,050 of 1,050 runs"
    assert page.get_by_role("button", name="next page").is_disabled()
    shot(page, "runs-last-page.png")
    page.get_by_role("button", name="previous page").click()
    _page_shows(page, 900)
    assert rows.count() == PAGE_ROWS
    page.get_by_label("name", exact=True).fill("run-00")
    _page_shows(page, 0)
    page.wait_for_function("document.querySelectorAll('tbody tr').length === 100")
    assert page.locator("#runs-count").inner_text() == "1\u2013100 of 100 runs"
    assert page.evaluate("document.querySelectorAll('tr').length") <= PAGE_ROWS + 1
