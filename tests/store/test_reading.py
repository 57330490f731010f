"""Reading runs back the way the commands and the dashboard do, on every built-in store:
runs named by id, id prefix or name (`resolve_run`), history streamed in chunks."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker import CustomTracker, open_store
from tracker.records import MetricBatch, RunRecord, Series
from tracker.store import AmbiguousRunError, RunNotFoundError, Store, resolve_run
from tracker.store.base import HISTORY_CHUNK


@pytest.fixture
def uri(store_uri: str, tracker_dir: Path) -> str:
    """A URI of each built-in store, empty."""
    return store_uri


@pytest.fixture
def store(uri: str) -> Iterator[Store]:
    """The store of ``uri``, opened for reading."""
    opened = open_store(uri)
    yield opened
    opened.close()


def _track(uri: str, name: str, run_id: str | None = None) -> str:
    with CustomTracker("p", name, run_id=run_id, store=uri) as run:
        run.log_metrics({"train/loss": 1.0}, step=0)
    assert run.run_id is not None
    return run.run_id


def test_runs_are_resolved_by_id_prefix_and_name(uri: str, store: Store) -> None:
    """An exact id, a unique id prefix and a unique name each find the run."""
    run_id = _track(uri, "solo", run_id="abc123xyz")
    _track(uri, "other", run_id="abd999")
    for ref in ("abc123xyz", "abc", "solo"):
        assert resolve_run(store, ref).run_id == run_id


def test_ambiguous_refs_list_every_candidate(uri: str, store: Store) -> None:
    """A shared prefix or name raises with the candidates, newest first."""
    first = _track(uri, "same", run_id="xy1")
    second = _track(uri, "same", run_id="xy2")
    for ref in ("xy", "same"):
        with pytest.raises(AmbiguousRunError) as caught:
            resolve_run(store, ref)
        assert [r.run_id for r in caught.value.candidates] == [second, first]
        assert "xy1" in str(caught.value) and "xy2" in str(caught.value)


def test_an_exact_id_wins_over_a_longer_id_it_starts(uri: str, store: Store) -> None:
    """``ab`` names the run of id ``ab`` even though ``abc`` starts with it too."""
    _track(uri, "long", run_id="abc")
    _track(uri, "short", run_id="ab")
    assert resolve_run(store, "ab").name == "short"


def test_nothing_matching_raises_run_not_found(uri: str, store: Store) -> None:
    """No match, or an empty reference, is `RunNotFoundError`."""
    _track(uri, "one")
    for ref in ("zzz", ""):
        with pytest.raises(RunNotFoundError):
            resolve_run(store, ref)


def test_iter_history_matches_history_in_bounded_chunks(uri: str, store: Store) -> None:
    """Chunks of at most HISTORY_CHUNK points, together equal to `history`."""
    n = HISTORY_CHUNK * 2 + 5
    store.start_run(RunRecord("big", "p", "big", started_at=1.0), resume=False)
    steps = array("q", range(n))
    store.log_metrics(
        "big", MetricBatch({"m": Series(steps, array("d", map(float, steps)), array("d", steps))})
    )
    chunks = list(store.iter_history("big", "m"))
    assert all(0 < len(c) <= HISTORY_CHUNK for c in chunks)
    joined = [p for c in chunks for p in zip(c.steps, c.values, c.times, strict=True)]
    assert joined == store.history("big", "m")


def test_iter_history_keeps_the_last_point_per_step_unless_raw(store: Store) -> None:
    """A resume that went back in steps: one point per step, the later one, unless raw."""
    store.start_run(RunRecord("r", "p", "r", started_at=1.0), resume=False)
    for steps, values in (([0, 1, 2], [5.0, 4.0, 3.0]), ([1, 2, 3], [9.0, 8.0, 7.0])):
        series = Series(array("q", steps), array("d", values), array("d", [0.0] * 3))
        store.log_metrics("r", MetricBatch({"m": series}))

    def points(raw: bool) -> list[tuple[int, float]]:
        chunks = store.iter_history("r", "m", raw=raw)
        return [(s, v) for c in chunks for s, v in zip(c.steps, c.values, strict=True)]

    assert points(raw=False) == [(0, 5.0), (1, 9.0), (2, 8.0), (3, 7.0)]
    assert points(raw=True) == [(0, 5.0), (1, 4.0), (2, 3.0), (1, 9.0), (2, 8.0), (3, 7.0)]
    assert list(store.iter_history("r", "missing")) == []
