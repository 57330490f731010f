"""The dashboard's evaluations: the project leaderboard (sortable, best starred, each
checkpoint linking to its own lineage page), the run page's list of its checkpoints'
scores, a checkpoint's lineage page, and the sample diff of two evaluations; API and a
real headless browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from ui_kit import Served, open_page, serve, shot

from tracker import Artifact, CustomTracker, Store
from tracker.leaderboard import leaderboard, sample_diff
from tracker.views import dumps, lineage_view

pytest.importorskip("bokeh")

# task -> (checkpoint-2's score, checkpoint-4's); the perplexity is better lower
SCORES = {"qa": (0.5, 0.75), "wiki": (14.0, 12.5)}
RIGHT = {2: [1, 1, 0, 0], 4: [1, 0, 1, 1]}  # qa's samples: acc per doc, per checkpoint


@pytest.fixture
def served(tracker_dir: Path, tmp_path: Path, store: Store) -> Iterator[Served]:
    """Run ``sft`` saves checkpoints at steps 2 and 4; run ``bench`` evaluates each on
    ``qa`` (acc, with samples) and ``wiki`` (word_perplexity)."""
    folders = {}
    with CustomTracker("lin", "sft") as sft:
        for step in (2, 4):
            sft.log_metrics({"train/loss": 1.0 / step}, step=step)
            folder = folders[step] = tmp_path / f"checkpoint-{step}"
            folder.mkdir()
            (folder / "model.safetensors").write_bytes(bytes([step]) * 64)
            sft.log_artifact(folder, step=step)
    ids = {}
    with CustomTracker("lin", "bench") as bench:
        for i, step in enumerate((2, 4)):
            samples = [
                {"doc_id": d, "target": "yes", "response": "yes" if r else "no", "acc": r}
                for d, r in enumerate(RIGHT[step])
            ]
            ids[step] = bench.log_evaluation(
                "qa", {"acc": SCORES["qa"][i]}, artifact=folders[step], samples=samples
            )
            bench.log_evaluation(
                "wiki", {"word_perplexity": SCORES["wiki"][i]}, artifact=folders[step]
            )
    with serve() as url:
        yield Served(url, {"sft": str(sft.run_id), "bench": str(bench.run_id),
                           "a": str(ids[2]), "b": str(ids[4])})  # fmt: skip


def test_leaderboard_api_is_the_stores(served: Served, store: Store) -> None:
    """/api/evals holds the leaderboard's columns and values and each column's best row."""
    answer = json.loads(served.get("/api/evals?project=lin").body)
    board = leaderboard(store, "lin")
    assert answer["columns"] == board.columns == ["qa/acc", "wiki/word_perplexity"]
    assert [row["step"] for row in answer["rows"]] == [2, 4]
    assert [row["qa/acc"] for row in answer["rows"]] == list(SCORES["qa"])
    assert answer["best"] == {"qa/acc": 1, "wiki/word_perplexity": 1}
    assert json.loads(served.get("/api/evals").body)["project"] == "lin"  # the newest run's
    assert json.loads(served.get("/api/evals?project=none").body)["rows"] == []
    assert served.get("/api/evals/diff?a=nope&b=nope").status == 404


def test_leaderboard_page_sorts_and_marks_the_best(page: Any, served: Served, store: Store) -> None:
    """The page shows the store's scores, the best of each column starred; a click on a
    column's header sorts by it; a checkpoint links to its own lineage page."""
    open_page(page, f"{served.url}/evals?project=lin")
    rows = page.locator("#leaderboard tbody tr")
    assert rows.count() == 2
    cells = page.locator("#leaderboard tbody td[data-column='qa/acc']")
    assert [cells.nth(i).inner_text() for i in range(2)] == ["0.5", "0.75 ★"]
    best = page.locator("#leaderboard td.best")
    assert sorted(best.nth(i).inner_text() for i in range(2)) == ["0.75 ★", "12.5 ★"]
    page.get_by_text("wiki/word_perplexity").click()  # descending first: 14 before 12.5
    steps = page.locator("#leaderboard tbody tr td:nth-child(2)")
    assert [steps.nth(i).inner_text() for i in range(2)] == ["2", "4"]
    page.get_by_text("wiki/word_perplexity").click()  # ascending
    assert [steps.nth(i).inner_text() for i in range(2)] == ["4", "2"]
    link = page.locator("#leaderboard tbody tr").first.locator("td:nth-child(5) a")
    assert link.inner_text() == "checkpoint v2"  # sorted ascending: step 4 first
    four = _checkpoint(store, served, 4)
    assert link.get_attribute("href") == f"/lineage?ref={quote(str(four.digest), safe='')}"
    link.click()
    page.wait_for_selector(".lineage .card.root", timeout=20_000)
    assert page.locator(".lineage .card.root").get_attribute("data-node") == (
        f"version:{four.digest}"
    )


def test_run_page_lists_evaluations_and_the_diff(page: Any, served: Served, store: Store) -> None:
    """sft's page lists its checkpoints' four scores, the second qa linking to the diff,
    which shows the samples that went right → wrong and back, as the store's diff has them."""
    open_page(page, f"{served.url}/runs/{served.runs['sft']}")
    page.wait_for_selector("tr.evaluation")
    rows = page.locator("tr.evaluation")
    assert rows.count() == 4
    texts = [rows.nth(i).inner_text() for i in range(4)]
    assert sum("qa" in t and "acc" in t for t in texts) == 2
    page.get_by_role("link", name="diff").click()
    page.wait_for_selector("#diff-counts")
    diff = sample_diff(store, served.runs["a"], served.runs["b"])
    worse = page.locator("tr.diff-row.worse td:first-child")
    better = page.locator("tr.diff-row.better td:first-child")
    assert (
        [worse.nth(i).inner_text() for i in range(worse.count())]
        == [str(d) for d, _a, _b in diff.worse]
        == ["1"]
    )
    assert (
        [better.nth(i).inner_text() for i in range(better.count())]
        == [str(d) for d, _a, _b in diff.better]
        == ["2", "3"]
    )
    assert page.locator("tr.diff-row.worse td").nth(2).inner_text() == "yes"  # response A
    assert page.locator("tr.diff-row.worse td").nth(3).inner_text() == "no"  # response B


def _checkpoint(store: Store, served: Served, step: int) -> Artifact:
    """sft's checkpoint saved at ``step``, as the store has it."""
    found = [a for a in store.artifacts(run_id=served.runs["sft"]) if a.step == step]
    assert len(found) == 1 and found[0].digest, found
    return found[0]


def test_version_lineage_api_is_tracker_lineage_of_that_path(served: Served, store: Store) -> None:
    """/api/lineage?ref= by a checkpoint's path or its digest is `tracker lineage PATH
    --json`: rooted at the version, its evaluations; no ref is 400, an unknown one 404."""
    four = _checkpoint(store, served, 4)
    expected = json.loads(dumps(lineage_view(store, four)))
    for ref in (four.uri, str(four.digest)):
        answer = json.loads(served.get(f"/api/lineage?ref={quote(ref, safe='')}").body)
        assert answer == expected
    assert answer["root"] == f"version:{four.digest}"
    assert sorted(e["value"] for e in answer["evaluations"]) == [0.75, 12.5]
    near = json.loads(served.get(f"/api/lineage?ref={quote(four.uri)}&depth=0").body)
    assert [n["id"] for n in near["nodes"]] == [answer["root"]] and near["nodes"][0]["more"]
    assert served.get("/api/lineage").status == 400
    missing = served.get("/api/lineage?ref=/no/such/checkpoint")
    assert missing.status == 404 and "no artifact recorded" in json.loads(missing.body)["error"]


def test_a_checkpoint_s_lineage_page_is_the_store_s(
    page: Any, served: Served, store: Store
) -> None:
    """A checkpoint's page (from the run page's artifacts table): the runs that made and
    used it and its evaluations, each card in its column as the store records them, and
    the evaluations table its scores."""
    four = _checkpoint(store, served, 4)
    open_page(page, f"{served.url}/runs/{served.runs['sft']}")
    page.wait_for_selector("tr.artifact", timeout=20_000)
    page.locator("tr.artifact").get_by_role("link", name="checkpoint v2").click()
    page.wait_for_selector(".lineage .card.root", timeout=20_000)
    assert page.url.endswith(f"/lineage?ref={quote(str(four.digest), safe='')}")
    expected = {f"version:{four.digest}": "0", f"run:{served.runs['sft']}": "-1"}
    for a in store.artifacts(refs=[str(four.digest)], direction="input"):
        expected[f"run:{a.run_id}"] = "1"  # a run that used it: one on
    for e in store.evaluations(refs=[str(four.digest)]):
        expected[f"evaluation:{e.eval_id}"] = "1"
    cards = page.eval_on_selector_all(
        ".lineage .card", "cards => cards.map(k => [k.dataset.node, k.dataset.hops])"
    )
    assert dict(cards) == expected and len(cards) == len(expected)
    about = page.locator("#version-about")
    assert four.uri in about.inner_text() and "made by sft" in about.inner_text()
    values = page.locator("tr.evaluation td:nth-child(3)")
    shown = sorted(values.nth(i).inner_text() for i in range(values.count()))
    assert shown == sorted(f"{e.value:g}" for e in store.evaluations(refs=[str(four.digest)]))
    shot(page, "version-lineage.png")
