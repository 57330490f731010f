"""``tracker evals`` (the leaderboard and its --json), ``tracker evals --diff`` and
``tracker best --metric <score>``, on runs tracked for real with checkpoint folders."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tracked_runs import Cli
from tracker import CustomTracker, views
from tracker.store import Store


@pytest.fixture
def scored(tracker_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Run ``sft`` saves checkpoints at steps 10, 20, 30; run ``ev`` (another project, as
    on another machine) evaluates copies of 10 and 20 on two tasks, with samples, and a
    path no run saved. checkpoint-20 is best on arc, checkpoint-10 has the lower loss."""
    out = tmp_path / "sft"
    with CustomTracker("chain", "sft") as sft:
        for step in (10, 20, 30):
            folder = out / f"checkpoint-{step}"
            folder.mkdir(parents=True)
            (folder / "w").write_text(f"weights {step}")
            sft.log_metrics({"eval/loss": 1.0 / step}, step=step)
            sft.log_artifact(folder)
    ids: dict[str, str] = {}
    with CustomTracker("evals", "ev") as ev:
        for step, acc, loss, flags in ((10, 0.5, 1.5, (1, 0, 0)), (20, 0.75, 2.0, (0, 1, 1))):
            copy = shutil.copytree(out / f"checkpoint-{step}", tmp_path / "b" / str(step))
            ev.use_artifact(copy, kind="checkpoint")
            ids[f"arc{step}"] = str(
                ev.log_evaluation(
                    "arc",
                    {"acc,none": acc},
                    settings={"num_fewshot": 0},
                    samples=[
                        {"doc_id": i, "target": "A", "response": "A" if f else "B", "acc": f}
                        for i, f in enumerate(flags)
                    ],
                )
            )
            ev.log_evaluation("wiki", {"loss": loss})
        ev.log_evaluation("arc", {"acc,none": 0.9}, artifact=tmp_path / "nowhere")
    assert sft.run_id is not None
    return {"sft": sft.run_id, **ids}


def test_evals_prints_checkpoints_by_tasks_with_the_best_marked(
    scored: dict[str, str], cli: Cli
) -> None:
    """One row per evaluated checkpoint with run, step, kind, state; arc's best is step
    20 (highest), wiki/loss's best step 10 (lowest); --json has the same and eval ids."""
    result = cli("evals", "chain", "--color", "never")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["RUN", "STEP", "KIND", "STATE", "VERSION", "arc/acc,none",
                                "wiki/loss"]  # fmt: skip
    row10 = next(line.split() for line in lines[1:] if line.split()[1] == "10")
    row20 = next(line.split() for line in lines[1:] if line.split()[1] == "20")
    assert row10[0] == scored["sft"] and row10[2:4] == ["checkpoint", "present"]
    assert row10[-3:] == ["0.5", "1.5", "*"] and row20[-3:] == ["0.75", "*", "2"]
    assert len(lines) == 3  # checkpoint-30 has no scores; /nowhere is of project evals
    data = json.loads(cli("evals", "chain", "--json").out)
    assert data["columns"] == ["arc/acc,none", "wiki/loss"]
    assert [(r["step"], r["arc/acc,none"]) for r in data["rows"]] == [(10, 0.5), (20, 0.75)]
    assert data["rows"][1]["eval_ids"]["arc/acc,none"] == scored["arc20"]
    unknown = json.loads(cli("evals", "evals", "--json").out)["rows"]
    assert [(r["run_id"], r["uri"].endswith("nowhere")) for r in unknown][-1] == (None, True)


def test_best_ranks_by_a_score_when_no_metric_at_save_has_that_name(
    scored: dict[str, str], cli: Cli, tmp_path: Path
) -> None:
    """--metric arc/acc,none --max is checkpoint-20; wiki/loss (lowest) is checkpoint-10;
    eval/loss at save still ranks by the metrics at save (checkpoint-30)."""
    out = tmp_path / "sft"
    assert cli("best", "chain", "--metric", "arc/acc,none", "--max").out.strip() == str(
        out / "checkpoint-20"
    )
    assert cli("best", "chain", "--metric", "wiki/loss").out.strip() == str(out / "checkpoint-10")
    assert cli("best", "chain", "--metric", "eval/loss").out.strip() == str(out / "checkpoint-30")
    missing = cli("best", "chain", "--metric", "nope/acc")
    assert missing.code == 1 and "tracker evals PROJECT" in missing.err


def test_evals_diff_shows_samples_side_by_side(scored: dict[str, str], cli: Cli) -> None:
    """From checkpoint-10 to -20 on arc: doc 0 went right -> wrong, docs 1 and 2 back."""
    result = cli("evals", "--diff", scored["arc10"], scored["arc20"], "--color", "never")
    assert result.code == 0, result.err
    assert "1 right -> wrong, 2 wrong -> right" in result.out
    data = json.loads(cli("evals", "--diff", scored["arc10"], scored["arc20"], "--json").out)
    assert [c["doc_id"] for c in data["worse"]] == [0]
    assert [(c["doc_id"], c["a"]["response"], c["b"]["response"]) for c in data["better"]] == [
        (1, "B", "A"), (2, "B", "A"),
    ]  # fmt: skip
    unknown = cli("evals", "--diff", "nope", scored["arc20"])
    assert unknown.code == 1 and "no evaluation 'nope'" in unknown.err
    nothing = cli("evals")
    assert nothing.code == 1 and "give a project" in nothing.err


def test_the_training_run_shows_its_checkpoints_scores_along_its_steps(
    scored: dict[str, str], cli: Cli
) -> None:
    """`tracker show sft`: bench/arc/acc,none at steps 10 and 20, though the scores were
    logged by another run later; the run's own metrics and status are untouched."""
    detail = json.loads(cli("show", scored["sft"], "--json").out)
    bench = detail["bench"]
    assert [(p[0], p[1]) for p in bench["bench/arc/acc,none"]] == [(10, 0.5), (20, 0.75)]
    assert [(p[0], p[1]) for p in bench["bench/wiki/loss"]] == [(10, 1.5), (20, 2.0)]
    assert list(detail["metrics"]) == ["eval/loss"] and detail["status"] == "finished"
    text = cli("show", scored["sft"], "--color", "never").out
    assert "Benchmarks" in text and "bench/arc/acc,none" in text


def test_lineage_json_lists_the_evaluations_of_the_runs_checkpoints(
    scored: dict[str, str], cli: Cli
) -> None:
    """`tracker lineage sft --json` has the scores of its checkpoints, as consumers."""
    found = json.loads(cli("lineage", scored["sft"], "--json").out)["evaluations"]
    assert sorted((e["task"], e["value"]) for e in found) == [
        ("arc", 0.5), ("arc", 0.75), ("wiki", 1.5), ("wiki", 2.0),
    ]  # fmt: skip


@pytest.fixture
def evaluated_chain(tracker_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Base model -> run ``sft`` -> checkpoint -> run ``dpo`` -> model; run ``ev``
    (another project, as on another machine) evaluates a copy of dpo's model on arc and
    wiki and of sft's checkpoint on arc."""
    out = tmp_path / "sft" / "checkpoint-10"
    with CustomTracker("chain", "sft") as sft:
        sft.use_artifact("Qwen/Qwen2.5-0.5B")
        out.mkdir(parents=True)
        (out / "w").write_text("sft weights")
        sft.log_artifact(out)
    final = tmp_path / "dpo" / "final"
    with CustomTracker("chain", "dpo") as dpo:
        dpo.use_artifact(out, kind="checkpoint")
        final.mkdir(parents=True)
        (final / "w").write_text("dpo weights")
        dpo.log_artifact(final, kind="model")
    with CustomTracker("evals", "ev") as ev:
        copy = shutil.copytree(final, tmp_path / "elsewhere" / "final")
        ev.use_artifact(copy, kind="model")
        arc = ev.log_evaluation("arc", {"acc,none": 0.75, "acc_stderr,none": 0.02})
        wiki = ev.log_evaluation("wiki", {"loss": 1.5})
        early = ev.log_evaluation("arc", {"acc,none": 0.5}, artifact=out)
    assert sft.run_id and dpo.run_id and ev.run_id
    return {"sft": sft.run_id, "dpo": dpo.run_id, "ev": ev.run_id, "final": str(final),
            "arc": str(arc), "wiki": str(wiki), "early": str(early)}  # fmt: skip


def _evaluation_lines(text: str) -> list[list[str]]:
    """The evaluation rows of `tracker lineage`'s text, each split on two spaces or more."""
    return [
        re.split(r"\s{2,}", line.strip())
        for line in text.splitlines()
        if line.split()[1:2] == ["evaluation"]
    ]


def test_lineage_shows_evaluations_as_the_versions_consumers(
    evaluated_chain: dict[str, str], cli: Cli, store: Store
) -> None:
    """From the sft run, downstream: checkpoint (1) -> dpo and the early arc evaluation
    (2) -> model (3) -> its arc and wiki evaluations (4), each an ``evaluated`` edge from
    the version, with the scores and run the store holds; --json keeps its other keys."""
    c = evaluated_chain
    view = json.loads(cli("lineage", "sft", "--json").out)
    shown = {n["id"]: n for n in view["nodes"] if n["kind"] == "evaluation"}
    recorded = store.evaluations()
    assert set(shown) == {f"evaluation:{e.eval_id}" for e in recorded}
    for e in recorded:
        node = shown[f"evaluation:{e.eval_id}"]["evaluation"]
        assert (node["task"], node["run"]["id"], node["uri"]) == (e.task, e.run_id, e.uri)
        assert {"metric": e.metric, "value": e.value, "stderr": e.stderr} in node["scores"]
    hops = {i: shown[f"evaluation:{c[i]}"]["downstream"] for i in ("arc", "wiki", "early")}
    assert hops == {"arc": 4, "wiki": 4, "early": 2}
    model = next(n["id"] for n in view["nodes"] if n["downstream"] == 3)
    edges = {(e["from"], e["to"]): (e["kind"], e["name"]) for e in view["edges"]}
    assert edges[model, f"evaluation:{c['wiki']}"] == ("evaluated", "wiki")
    assert view["names"][c["dpo"]] == "dpo"  # ev used the checkpoint too: its evaluation's input
    assert view["outputs"][0]["used_by"] == sorted([c["dpo"], c["ev"]])
    assert [e["eval_id"] for e in view["evaluations"]] == [c["early"]]
    text = cli("lineage", "sft", "--color", "never").out
    rows = _evaluation_lines(text)
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        ("2", f"evaluation arc ({c['early']})", "evaluated checkpoint v1"),
        ("4", f"evaluation arc ({c['arc']})", "evaluated final v1"),
        ("4", f"evaluation wiki ({c['wiki']})", "evaluated final v1"),
    ]
    assert "acc,none=0.75" in rows[1] and "loss=1.5" in rows[2]


def test_lineage_of_a_checkpoint_path_shows_its_own_evaluations(
    evaluated_chain: dict[str, str], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dpo's model by path: upstream the chain to the base model, downstream its two
    evaluations one hop on (the early one, of sft's checkpoint, is not its own); the same
    when the store is asked one digest or uri a query."""
    c = evaluated_chain
    text = cli("lineage", c["final"], "--color", "never").out
    assert "Qwen/Qwen2.5-0.5B" in text.split("led to")[0]
    assert [(r[0], r[1]) for r in _evaluation_lines(text)] == [
        ("1", f"evaluation arc ({c['arc']})"),
        ("1", f"evaluation wiki ({c['wiki']})"),
    ]
    view = json.loads(cli("lineage", c["final"], "--json").out)
    assert sorted(e["eval_id"] for e in view["evaluations"]) == sorted([c["arc"], c["wiki"]])
    monkeypatch.setattr(views, "_REFS_AT_ONCE", 1)  # a query a digest or uri
    assert json.loads(cli("lineage", c["final"], "--json").out) == view
    near = json.loads(cli("lineage", c["final"], "--depth", "0", "--json").out)
    assert [n["more"] for n in near["nodes"]] == [True]
