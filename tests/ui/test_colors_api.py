"""Each run's colour as the API gives it (``color``): its rank by start time among its
project's runs, the same whatever the filters select and on every endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import Served, serve

from tracked_runs import track

pytest.importorskip("bokeh")


@pytest.fixture
def served(tracker_dir: Path) -> Iterator[Served]:
    """Project ``p``: ``first``, ``second`` (failed), ``third``, tracked in that order, with
    a run of project ``q`` between the last two."""
    runs = {
        "first": track("first", project="p", config={"lr": 1}),
        "second": track("second", project="p", config={"lr": 2}, fail=True),
        "other": track("other", project="q"),
        "third": track("third", project="p", config={"lr": 3}),
    }
    with serve() as url:
        yield Served(url, runs)


def _get(served: Served, path: str) -> dict[str, Any]:
    reply = served.get(path)
    assert reply.status == 200, reply.body
    found: dict[str, Any] = json.loads(reply.body)
    return found


def test_a_run_has_one_colour_whatever_is_selected(served: Served) -> None:
    """Ranks 0, 1, 2 by start time in project p (q's run does not count); a filter, the
    compare view, the run itself and the sweep's rows give each run the same."""
    ids = served.runs
    rows = _get(served, "/api/workspace?project=p")["runs"]
    assert {row["name"]: row["color"] for row in rows} == {"first": 0, "second": 1, "third": 2}
    failed = _get(served, "/api/workspace?project=p&status=failed")["runs"]
    assert [(row["name"], row["color"]) for row in failed] == [("second", 1)]
    third = _get(served, "/api/workspace?project=p&name=third")["runs"]
    assert [(row["name"], row["color"]) for row in third] == [("third", 2)]
    assert _get(served, f"/api/runs/{ids['third']}")["color"] == 2
    assert _get(served, f"/api/runs/{ids['other']}")["color"] == 0
    compared = _get(served, f"/api/compare?run={ids['third']}&run={ids['other']}")["runs"]
    assert [row["color"] for row in compared] == [2, 0]
    params = _get(served, "/api/params?project=p")["runs"]
    assert {row["name"]: row["color"] for row in params} == {"first": 0, "second": 1, "third": 2}


def test_a_new_run_takes_the_next_colour(served: Served) -> None:
    """A run started after the ranks were kept takes the next rank; the others keep theirs."""
    before = _get(served, "/api/workspace?project=p")["runs"]
    assert sorted(row["color"] for row in before) == [0, 1, 2]
    track("fourth", project="p")
    after = _get(served, "/api/workspace?project=p")["runs"]
    assert {row["name"]: row["color"] for row in after} == {
        "first": 0,
        "second": 1,
        "third": 2,
        "fourth": 3,
    }
