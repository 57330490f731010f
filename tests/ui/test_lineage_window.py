"""A long lineage in the dashboard: a window of hops each way, widened on request and kept
in the address; a column of many cards is sent and shown a hundred at first, then all on
request. In a real headless browser over a store filled through its API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from ui_kit import Served, open_page, serve, shot

from tracker import Store
from tracker.records import Artifact, RunRecord

pytest.importorskip("bokeh")

BASE = "Qwen/Qwen2.5-0.5B"
CHAIN = 12  # runs, each started from the one before's checkpoint (copied elsewhere)
FAN = 105  # runs started from one checkpoint


def _digest(name: str) -> str:
    return "sha256:" + name.encode().hex().ljust(64, "0")


def _run(store: Store, run_id: str, name: str, at: float, used: Artifact, made: str | None) -> None:
    store.start_run(RunRecord(run_id, "window", name, started_at=at), resume=False)
    store.log_artifact(run_id, used)
    if made is not None:
        store.log_artifact(
            run_id,
            Artifact(run_id, "checkpoint", uri=f"/out/{made}/checkpoint-100", digest=_digest(made),
                     size=10, files=1, step=100, created_at=at),
        )  # fmt: skip
    store.finish_run(run_id, "finished", at + 1, None)


def _base(run_id: str) -> Artifact:
    """The hub model ``run_id`` started from (no recorded run produced it)."""
    return Artifact(run_id, BASE, kind="model", direction="input", uri=BASE, state="remote")


def _copy(run_id: str, of: str) -> Artifact:
    """Run ``of``'s checkpoint, copied elsewhere, as ``run_id`` used it."""
    return Artifact(run_id, "checkpoint", direction="input", uri=f"/copy/{run_id}",
                    digest=_digest(of), size=10, files=1)  # fmt: skip


@pytest.fixture
def served(store: Store) -> Iterator[Served]:
    """Runs ``c0`` ... ``c11`` in a chain from a hub model, and ``f0`` ... ``f104`` each
    started from run ``trainer``'s checkpoint."""
    now = time.time()
    for i in range(CHAIN):
        used = _base(f"c{i}") if i == 0 else _copy(f"c{i}", f"c{i - 1}")
        _run(store, f"c{i}", f"stage-{i}", now + i, used, f"c{i}")
    _run(store, "trainer", "trainer", now, _base("trainer"), "trainer")
    for i in range(FAN):
        _run(store, f"f{i}", f"fine-{i}", now + 100 + i, _copy(f"f{i}", "trainer"), None)
    with serve() as url:
        yield Served(url, {})


COLUMNS = """cols => cols.map(c => [Number(c.dataset.hops),
    [...c.querySelectorAll('.card')].map(k => k.dataset.node)])"""


def _columns(page: Any) -> list[list[Any]]:
    return page.eval_on_selector_all(".lineage .column", COLUMNS)  # type: ignore[no-any-return]


def _chain(first: int, last: int) -> list[str]:
    """The nodes of runs c{first} ... c{last} and their checkpoints, in chain order."""
    return [n for i in range(first, last + 1) for n in (f"run:c{i}", f"version:{_digest(f'c{i}')}")]


def test_a_long_chain_shows_six_hops_each_way_then_more_on_request(
    page: Any, served: Served
) -> None:
    """c6's page: c3 (six hops back) to c9 (six on), the cards at the edges marked; "Show
    12 hops" and "Show the whole chain" widen it, kept in the address across a reload."""
    open_page(page, f"{served.url}/runs/c6")
    page.wait_for_selector(".lineage .column", timeout=20_000)
    columns = _columns(page)
    nodes = [node for _, cards in columns for node in cards]
    assert [hops for hops, _ in columns] == list(range(-6, 7))
    assert nodes == _chain(3, 9)[:-1]  # c3 ... c9 (c9's checkpoint is a seventh hop)
    edges = page.eval_on_selector_all(".lineage .card.more", "cs => cs.map(c => c.dataset.node)")
    assert edges == ["run:c3", "run:c9"]
    bar = page.locator(".lineage .depth-bar")
    assert bar.inner_text().startswith("Showing 6 hops each way.")
    shot(page, "lineage-window.png")

    bar.get_by_role("button", name="Show 12 hops").click()
    page.wait_for_function("() => document.querySelectorAll('.lineage .column').length > 13")
    columns = _columns(page)
    assert [hops for hops, _ in columns] == list(range(-12, 12))
    assert [node for _, cards in columns for node in cards] == _chain(0, 11)
    assert "depth=12" in page.url
    assert page.locator(".lineage .depth-bar").inner_text().startswith("Showing 12 hops")

    page.locator(".lineage .depth-bar").get_by_role("button", name="Show the whole chain").click()
    page.wait_for_function("() => !document.querySelector('.lineage .depth-bar')")
    whole = _columns(page)
    assert [hops for hops, _ in whole] == list(range(-13, 12))
    assert whole[0][1] == [f"version:uri:{BASE}"]
    assert "depth=all" in page.url
    open_page(page, page.url)  # the address keeps the whole chain
    page.wait_for_selector(".lineage .column", timeout=20_000)
    assert _columns(page) == whole


def test_a_checkpoint_many_runs_started_from_shows_a_hundred_then_the_rest(
    page: Any, served: Served
) -> None:
    """trainer's checkpoint's own page: the server sends the first 100 of the 105 runs that
    used it and counts 5 more; the column's button asks for all of them, kept in the
    address (cards=all)."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    open_page(page, f"{served.url}/lineage?ref={_digest('trainer')}")
    page.wait_for_selector(".lineage .column", timeout=20_000)
    assert any("/api/lineage?" in url and "width=100" in url for url in asked)
    users = page.locator('.lineage .column[data-hops="1"]')
    assert users.locator("h3").inner_text() == "1 on · 100 of 105"
    assert users.locator(".card").count() == 100
    first = users.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.node)")
    assert first == [f"run:f{i}" for i in range(100)]  # the first to use it
    more = users.get_by_role("button", name="5 more")
    assert more.count() == 1
    assert page.locator(".lineage .depth-bar").count() == 0  # all within six hops
    shot(page, "lineage-fan.png")
    more.click()
    page.wait_for_function(
        "() => document.querySelectorAll('.lineage .column[data-hops=\"1\"] .card').length > 100"
    )
    nodes = users.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.node)")
    assert sorted(nodes) == sorted(f"run:f{i}" for i in range(FAN))
    assert users.get_by_role("button").count() == 0
    assert users.locator("h3").inner_text() == "1 on"
    assert "cards=all" in page.url
