"""The dashboard in the real browser over a team's PostgreSQL store, read as its read-only
role ``reader`` (the browser and page fixtures are tests/ui/conftest.py's)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import CHROMIUM, LONG_POINTS, SPIKE_EVERY, Served, open_page, series, serve

from pg_server import PostgresServer, pg  # noqa: F401  (pg: the session's server)
from tracked_runs import track

pytest.importorskip("psycopg")
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is missing (scripts/install_browser.sh)"
)


@pytest.fixture
def served(
    pg: PostgresServer,  # noqa: F811
    tracker_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Served]:
    """``alpha`` (with ``train/long`` of LONG_POINTS points) and ``beta`` written to
    PostgreSQL by the writer role; the dashboard serving them as ``reader``."""
    pg.truncate()
    monkeypatch.setenv("TRACKER_URI", pg.uri)
    runs = {
        "alpha": track(
            "alpha",
            steps=LONG_POINTS,
            extra={"train/long": [float(i % SPIKE_EVERY == 0) for i in range(LONG_POINTS)]},
        ),
        "beta": track("beta", offset=0.5),
    }
    pg.grant_reader()
    monkeypatch.setenv("TRACKER_URI", pg.reader_uri)  # what `tracker ui` then serves
    with serve() as url:
        yield Served(url, runs)


def test_runs_and_charts_come_from_postgres_as_the_reader(
    page: Any,
    served: Served,
) -> None:
    """The runs page lists both runs; alpha's page draws each metric, one series each, the
    long one thinned on the server."""
    open_page(page, served.url + "/?view=table")
    assert page.locator("tbody tr a").all_text_contents() == ["beta", "alpha"]
    page.get_by_role("link", name="alpha", exact=True).click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    keys = sorted(page.locator(".chart").evaluate_all("nodes => nodes.map(n => n.dataset.key)"))
    assert keys == ["eval/loss", "train/long", "train/loss"]  # a constant lr is a number
    assert all(series(page, key) == 1 for key in keys)
    shown = page.evaluate(
        "document.querySelector('.chart[data-key=\"train/long\"]').chart.sources[0].shown.data.x.length"
    )
    assert 0 < shown < LONG_POINTS
