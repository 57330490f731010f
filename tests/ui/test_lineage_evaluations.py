"""The lineage view's evaluations: each evaluation of a version a card one column on from
it, with its task, scores and evaluating run, over real tracked runs in a real headless
browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import Served, open_page, serve, shot

from tracker import CustomTracker, Store

pytest.importorskip("bokeh")

BASE = "Qwen/Qwen2.5-0.5B"


def _folder(path: Path, content: bytes) -> Path:
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(content)
    return path


@pytest.fixture
def served(tracker_dir: Path, tmp_path: Path) -> Iterator[Served]:
    """Base model -> run ``sft`` -> checkpoint -> run ``dpo`` -> model ``final``; run
    ``ev`` (another project) evaluates a copy of final on arc (with its standard error)
    and wiki, and sft's checkpoint on arc."""
    pytest.importorskip("bokeh")
    checkpoint = _folder(tmp_path / "checkpoint-4", b"sft" * 100)
    with CustomTracker("lin", "sft") as sft:
        sft.use_artifact(BASE, kind="model")
        sft.log_artifact(checkpoint, step=4)
    with CustomTracker("lin", "dpo") as dpo:
        dpo.use_artifact(checkpoint, kind="checkpoint")
        final = _folder(tmp_path / "dpo-final", b"dpo" * 100)
        dpo.log_artifact(final, kind="model", name="final")
    with CustomTracker("evals", "ev") as ev:
        ev.use_artifact(shutil.copytree(final, tmp_path / "elsewhere"), kind="model")
        ev.log_evaluation("arc", {"acc,none": 0.75, "acc_stderr,none": 0.02})
        ev.log_evaluation("wiki", {"word_perplexity,none": 12.5})
        ev.log_evaluation("arc", {"acc,none": 0.5}, artifact=checkpoint)
    runs = {"sft": sft.run_id, "dpo": dpo.run_id, "ev": ev.run_id}
    with serve() as url:
        yield Served(url, {k: str(v) for k, v in runs.items()})


def test_the_lineage_view_shows_evaluations_below_their_versions(
    page: Any, served: Served, store: Store
) -> None:
    """sft's page: the checkpoint's evaluation two columns on, the model's two four on,
    each card the task, its scores (± stderr) and the evaluating run as the store has
    them; dpo's page: its model's two, two columns on."""
    ev = served.runs["ev"]
    cards = """cards => cards.map(k => [k.closest('.column').dataset.hops, k.dataset.node,
        k.querySelector('span').textContent,
        [...k.querySelectorAll('.score')].map(s => s.textContent),
        k.querySelector('.note a').getAttribute('href')])"""
    expected = {}
    for e in store.evaluations():
        score = f"{e.metric} {e.value:g}" + ("" if e.stderr is None else f" ± {e.stderr:g}")
        expected[f"evaluation:{e.eval_id}"] = [e.task, [score], f"/runs/{ev}"]
    open_page(page, f"{served.url}/runs/{served.runs['sft']}")
    page.wait_for_selector(".lineage .card.evaluation", timeout=20_000)
    shown = page.eval_on_selector_all(".lineage .card.evaluation", cards)
    assert {node: rest for _, node, *rest in shown} == expected
    assert [(hops, task) for hops, _, task, *_ in shown] == [
        ("2", "arc"),
        ("4", "arc"),
        ("4", "wiki"),
    ]
    shot(page, "lineage-evaluations.png")
    open_page(page, f"{served.url}/runs/{served.runs['dpo']}")
    page.wait_for_selector(".lineage .card.evaluation", timeout=20_000)
    mine = page.eval_on_selector_all(".lineage .card.evaluation", cards)
    assert [(hops, task, scores) for hops, _, task, scores, _ in mine] == [
        ("2", "arc", ["acc,none 0.75 ± 0.02"]),
        ("2", "wiki", ["word_perplexity,none 12.5"]),
    ]
    page.locator(".lineage .card.evaluation .note a").first.click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.url.endswith(f"/runs/{ev}")
