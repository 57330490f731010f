"""The run page's artifacts and lineage: the API over real tracked runs with real files,
and the page in a real headless browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_kit import Served, chart, open_page, serve, shot

from tracker import CustomTracker, Store

pytest.importorskip("bokeh")

BASE = "Qwen/Qwen2.5-0.5B"  # a hub id: a reference no recorded run produced


def _folder(path: Path, content: bytes) -> Path:
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(content)
    return path


@pytest.fixture
def served(tracker_dir: Path, tmp_path: Path, store: Store) -> Iterator[Served]:
    """Run ``sft`` (base model and a dataset in; checkpoints at 2, 4 (best) and 6 (deleted,
    gone) out, eval/loss at each), run ``dpo``, started from sft's best checkpoint and
    saving a model ``final``, and run ``evaluate``, which used that model."""
    pytest.importorskip("bokeh")
    data = tmp_path / "train.jsonl"
    data.write_text('{"text": "hello"}\n')
    with CustomTracker("lin", "sft") as sft:
        sft.use_artifact(BASE, kind="model")
        sft.use_artifact(data, kind="dataset", name="tiny")
        for step in range(1, 7):
            sft.log_metrics({"train/loss": 2.0 / step, "eval/loss": 3.0 / step}, step=step)
            if step % 2 == 0:
                folder = _folder(tmp_path / f"checkpoint-{step}", bytes([step]) * 2048)
                sft.log_artifact(folder, step=step, best=step == 4)
        deadline = time.monotonic() + 30
        while not any(a.step == 6 and a.size for a in store.artifacts(run_id=sft.run_id)):
            assert time.monotonic() < deadline, "checkpoint-6 was never hashed"
            sft.flush()  # hashed in the background: then deleted, as a rotation would
            time.sleep(0.05)
        shutil.rmtree(tmp_path / "checkpoint-6")
        sft.check_artifacts()
    with CustomTracker("lin", "dpo") as dpo:
        dpo.use_artifact(tmp_path / "checkpoint-4", kind="checkpoint")
        dpo.log_metrics({"train/loss": 1.0}, step=1)
        dpo.log_artifact(_folder(tmp_path / "dpo-final", b"dpo" * 100), kind="model", name="final")
    with CustomTracker("lin", "evaluate") as evaluate:
        evaluate.use_artifact(tmp_path / "dpo-final", kind="model")
    runs = {"sft": sft.run_id, "dpo": dpo.run_id, "evaluate": evaluate.run_id}
    with serve() as url:
        yield Served(url, {**{k: str(v) for k, v in runs.items()}, "dir": str(tmp_path)})


def test_lineage_api_links_inputs_outputs_and_later_runs(served: Served) -> None:
    """sft's outputs carry step, metrics at save, size, state and best, the best one used
    by dpo (named); dpo's checkpoint input comes from sft."""
    body = json.loads(served.get(f"/api/runs/{served.runs['sft']}/lineage").body)
    assert body["run"]["name"] == "sft"
    assert [(a["kind"], a["uri"], a["from"]) for a in body["inputs"]] == [
        ("model", BASE, []),
        ("dataset", str(Path(served.runs["dir"]) / "train.jsonl"), []),
    ]
    dpo = served.runs["dpo"]
    outputs = [
        (a["name"], a["version"], a["step"], a["size"], a["state"], a["best"], a["used_by"])
        for a in body["outputs"]
    ]
    assert outputs == [
        ("checkpoint", 1, 2, 2048, "present", False, []),
        ("checkpoint", 2, 4, 2048, "present", True, [dpo]),
        ("checkpoint", 3, 6, 2048, "gone", False, []),
    ]
    assert body["outputs"][1]["metrics"] == {"train/loss": 0.5, "eval/loss": 0.75}
    names = {served.runs[n]: n for n in ("sft", "dpo", "evaluate")}
    assert body["names"] == names
    later = json.loads(served.get(f"/api/runs/{dpo}/lineage").body)
    (used,) = later["inputs"]
    assert used["from"] == [served.runs["sft"]]
    assert later["names"] == names
    near = json.loads(served.get(f"/api/runs/{dpo}/lineage?depth=1").body)
    assert [n["kind"] for n in near["nodes"]] == ["run", "version", "version"]
    assert served.get(f"/api/runs/{dpo}/lineage?depth=x").status == 400


def test_lineage_of_an_unknown_run_is_404(served: Served) -> None:
    """A run that does not exist: 404 with a message."""
    reply = served.get("/api/runs/nope/lineage")
    assert reply.status == 404
    assert "error" in json.loads(reply.body)


def test_run_page_shows_artifacts_marks_and_lineage(page: Any, served: Served) -> None:
    """The artifacts table (steps, sizes, gone, the best starred), the checkpoints as marks
    at 2, 4, 6 on the charts, and the lineage's links: the later run, and back from it."""
    open_page(page, f"{served.url}/runs/{served.runs['sft']}")
    rows = page.locator("tr.artifact")
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-step") for i in range(3)] == ["2", "4", "6"]
    best = page.locator("tr.artifact.best")
    assert best.locator(".star").inner_text() == "★"
    assert "2 KiB" in best.inner_text() and "eval/loss" in best.inner_text()
    assert "gone" in page.locator("tr.artifact.gone").inner_text()
    page.wait_for_function("() => document.querySelector('.chart[data-key=\"eval/loss\"]')?.chart")
    marks = chart(page, "eval/loss", "node.chart.spans.filter(s => s.visible).map(s => s.location)")
    assert sorted(marks) == [2, 4, 6]
    flow = page.locator(".lineage")
    assert flow.get_by_text(BASE).count() == 1
    assert flow.get_by_role("link", name=BASE).count() == 0  # a hub id: no page to go to
    shot(page, "run-artifacts.png")
    flow.locator('.column[data-hops="2"]').get_by_role("link", name="dpo").click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.url.endswith(f"/runs/{served.runs['dpo']}")
    source = page.locator('.lineage .card.version[data-hops="-1"] a')
    assert source.inner_text() == "checkpoint v2"
    source.click()
    page.wait_for_selector("tr.artifact.best", timeout=20_000)
    assert page.url.endswith(f"/runs/{served.runs['sft']}#artifact-output-checkpoint-v2")


def test_the_lineage_view_shows_the_whole_chain_both_ways(page: Any, served: Served) -> None:
    """dpo's page: the base model and dataset, the sft run, its checkpoint, dpo, its model
    and the run that evaluated it, each in the column of its hops, linked to its page."""
    open_page(page, f"{served.url}/runs/{served.runs['dpo']}")
    page.wait_for_selector(".lineage .column", timeout=20_000)
    columns = page.eval_on_selector_all(
        ".lineage .column",
        """cols => cols.map(c => [c.dataset.hops, c.querySelector('h3').textContent,
            [...c.querySelectorAll('.card')].map(k => [k.dataset.node.split(':')[0],
                k.querySelector('a, span').textContent,
                k.querySelector('a')?.getAttribute('href')])])""",
    )
    sft, dpo, evaluate = (served.runs[n] for n in ("sft", "dpo", "evaluate"))
    assert columns == [
        ["-3", "3 back", [["version", BASE, None], ["version", "tiny", None]]],
        ["-2", "2 back", [["run", "sft", f"/runs/{sft}"]]],
        [
            "-1",
            "1 back",
            [["version", "checkpoint v2", f"/runs/{sft}#artifact-output-checkpoint-v2"]],
        ],
        ["0", "This", [["run", "dpo", f"/runs/{dpo}"]]],
        ["1", "1 on", [["version", "final v1", f"/runs/{dpo}#artifact-output-final-v1"]]],
        ["2", "2 on", [["run", "evaluate", f"/runs/{evaluate}"]]],
    ]
    assert page.locator(".lineage .card.root").get_attribute("data-node") == f"run:{dpo}"
    page.locator(".lineage").scroll_into_view_if_needed()
    shot(page, "run-lineage.png")
    page.locator('.lineage .column[data-hops="2"] a').click()
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.url.endswith(f"/runs/{evaluate}")
    back = page.eval_on_selector_all(".lineage .column", "cols => cols.map(c => c.dataset.hops)")
    assert back == ["-5", "-4", "-3", "-2", "-1", "0"]


def test_an_adapter_checkpoint_shows_its_kind_label(
    page: Any, served: Served, tmp_path: Path
) -> None:
    """A PEFT adapter's checkpoint (``meta["weights"] == "adapter"``, as the transformers
    callback records it) reads ``adapter-checkpoint`` in the artifacts table's Kind column
    and on its lineage card, a full model's ``checkpoint``; the API says both."""
    with CustomTracker("lin", "lora") as run:
        run.log_artifact(_folder(tmp_path / "lora" / "checkpoint-1", b"a" * 64), step=1,
                         meta={"weights": "adapter"})  # fmt: skip
        run.log_artifact(_folder(tmp_path / "lora" / "checkpoint-2", b"f" * 64), step=2,
                         meta={"weights": "full"})  # fmt: skip
    listed = json.loads(served.get(f"/api/runs/{run.run_id}/artifacts").body)
    labels = [(a["kind"], a["kind_label"]) for a in listed["artifacts"]]
    assert labels == [("checkpoint", "adapter-checkpoint"), ("checkpoint", "checkpoint")]
    open_page(page, f"{served.url}/runs/{run.run_id}")
    rows = page.locator("tr.artifact")
    assert rows.count() == 2
    kinds = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(2)]
    assert kinds == ["adapter-checkpoint", "checkpoint"]
    page.wait_for_selector(".lineage .card.version", timeout=20_000)
    cards = page.eval_on_selector_all(
        ".lineage .card.version .kind", "cards => cards.map(c => c.textContent)"
    )
    assert sorted(cards) == ["adapter-checkpoint", "checkpoint"]
