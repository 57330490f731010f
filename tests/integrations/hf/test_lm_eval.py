"""lm-evaluation-harness for real: two checkpoints of a tracked Trainer run evaluated on
the CPU by ``tracker run -- lm_eval ...`` and by ``simple_evaluate`` + ``log_results``,
on a task defined here from a local JSON file; what lands in SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from assets import TINY_QA as QUESTIONS
from assets import build_lm_eval_task
from tracked_commands import BIN, tracker_run
from tracker import open_store
from tracker.leaderboard import leaderboard, sample_diff

lm_eval = pytest.importorskip("lm_eval")


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    """A folder with the task's YAML, its data a local JSON-lines file (no hub)."""
    return build_lm_eval_task(tmp_path / "tasks", "tiny_qa", QUESTIONS)


def test_lm_eval_runs_are_evaluations_of_the_checkpoints(
    checkpoints: list[Path], tasks: Path, tmp_path: Path, uri: str
) -> None:
    """The CLI under ``tracker run`` evaluates checkpoint-2, ``simple_evaluate`` then
    ``log_results`` checkpoint-4: each task's scores, stderr, settings and every sample
    land as evaluations of the training run's checkpoints at steps 2 and 4."""
    first, second = checkpoints
    model_args = "dtype=float32,pretrained={}"
    tracker_run(
        BIN / "lm_eval", "--model", "hf", "--model_args", model_args.format(first),
        "--tasks", "tiny_qa", "--include_path", tasks, "--device", "cpu",
        "--batch_size", "4", "--output_path", tmp_path / "results", "--log_samples",
        tracker_dir=tmp_path, options=["--project", "lm"], env={"TRACKER_URI": uri},
    )  # fmt: skip
    results = lm_eval.simple_evaluate(
        model="hf",
        model_args=model_args.format(second),
        tasks=["tiny_qa"],
        task_manager=lm_eval.tasks.TaskManager(include_path=str(tasks)),
        device="cpu",
        batch_size=4,
        log_samples=True,
    )
    from tracker.integrations.lm_eval import log_results

    (eval_id,) = log_results(results, project="lm", store=uri)

    store = open_store(uri)
    board = leaderboard(store, "lm")
    assert board.columns == ["tiny_qa/acc"]
    by_step = {e.checkpoint.step: e for e in board.entries if e.checkpoint is not None}
    assert sorted(by_step) == [2, 4]
    assert all(e.checkpoint is not None for e in board.entries)  # none of an unknown version
    scored = by_step[4].scores["tiny_qa/acc"]
    assert scored.eval_id == eval_id
    assert scored.value == pytest.approx(results["results"]["tiny_qa"]["acc,none"])
    assert scored.stderr == pytest.approx(results["results"]["tiny_qa"]["acc_stderr,none"])
    assert scored.settings["harness"] == "lm-eval 0.4.13"
    assert scored.settings["num_fewshot"] == 0
    assert scored.settings["higher_is_better"] == {"acc": True}
    assert scored.settings["model_args"] == {"dtype": "float32"}
    assert scored.settings["apply_chat_template"] is False
    assert scored.settings["random_seed"] == 0

    cli = by_step[2].scores["tiny_qa/acc"]
    written = json.loads(next((tmp_path / "results").rglob("results_*.json")).read_text())
    assert cli.value == pytest.approx(written["results"]["tiny_qa"]["acc,none"])
    assert cli.settings == scored.settings  # one column: told apart only by their version
    evaluating = store.get_run(cli.run_id)
    assert (evaluating.project, evaluating.status) == ("lm", "finished")

    for score in (cli, scored):
        rows = store.table_rows(score.run_id, score.samples)
        assert sorted(r["doc_id"] for r in rows) == list(range(len(QUESTIONS)))
        assert [r["target"] for r in sorted(rows, key=lambda r: r["doc_id"])] == [
            a for _q, _c, a in QUESTIONS
        ]
        first_row = min(rows, key=lambda r: r["doc_id"])
        assert first_row["prompt"].startswith("The sky is")
        for row in rows:  # the likeliest choice is the response, right where it is the target
            assert row["acc"] == (1.0 if row["response"] == row["target"] else 0.0)
            # each choice once beside the prompt, not lm-eval's arguments repeating it
            question, choices, _answer = QUESTIONS[row["doc_id"]]
            assert row["prompt"] == question  # a list is a cell as its JSON text
            assert json.loads(row["continuations"]) == [f" {c}" for c in choices]
            assert "arguments" not in row
        assert sum(r["acc"] for r in rows) / len(rows) == pytest.approx(score.value)
        assert not math.isnan(score.value)
    diff = sample_diff(store, cli.eval_id, scored.eval_id)
    assert sum(diff.counts.values()) + len(diff.worse) + len(diff.better) == len(QUESTIONS)


def test_a_results_dict_of_another_shape_warns_and_keeps_the_rest(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Bad input (no results mapping; a task without numbers; NaN; a deleted checkpoint;
    100,000 samples) is a warning, and everything good is recorded."""
    from tracker.integrations.lm_eval import log_results

    uri = str(tmp_path / "t.db")
    assert log_results({"version": 2}, project="lm", store=uri) == []
    assert "without a 'results' mapping" in caplog.text
    gone = tmp_path / "deleted-checkpoint"
    samples = [{"doc_id": i, "target": 0, "filtered_resps": ["x"], "metrics": ["acc"], "acc": i % 2}
               for i in range(100_000)]  # fmt: skip
    results = {
        "results": {
            "words": {"alias": "words"},
            "nan_task": {"alias": "nan_task", "acc,none": float("nan"), "acc_stderr,none": "N/A"},
            "fine": {"exact_match,strict-match": 0.5, "exact_match_stderr,strict-match": 0.1},
        },
        "config": {"model": "hf", "model_args": {"pretrained": str(gone)}},
        "samples": {"fine": samples},
    }
    ids = log_results(results, project="lm", store=uri)
    assert len(ids) == 2
    assert "log_evaluation('words') has no numeric metric" in caplog.text
    store = open_store(uri)
    found = {(e.task, e.metric): e for e in store.evaluations(project="lm")}
    assert set(found) == {("nan_task", "acc"), ("fine", "exact_match,strict-match")}
    assert math.isnan(found["nan_task", "acc"].value)
    assert found["nan_task", "acc"].stderr is None
    fine = found["fine", "exact_match,strict-match"]
    assert (fine.value, fine.stderr, fine.uri) == (0.5, 0.1, str(gone))
    assert len(store.table_rows(fine.run_id, fine.samples)) == 100_000


def test_both_forms_of_lm_evals_arguments_give_the_prompt_and_its_continuations(
    tmp_path: Path,
) -> None:
    """lm-eval holds a sample's arguments as ``[(context, continuation), ...]``; its file
    writer puts ``{"gen_args_0": {"arg_0": context, "arg_1": ...}}`` in their place (the
    CLI's samples after saving): both are one row of prompt and continuations. A
    generation's ``[(context, gen_kwargs)]`` is kept whole as arguments. (A results dict
    without ``config``, as here, once raised a KeyError into the evaluation.)"""
    from tracker.integrations.lm_eval import log_results

    context, choices = "Q: 2+2? A:", [" 3", " 4"]
    held = [(context, c) for c in choices]
    written = {f"gen_args_{i}": {"arg_0": context, "arg_1": c} for i, c in enumerate(choices)}
    generation = [(context, {"until": ["\n"]})]
    samples = [
        {"doc_id": i, "target": 1, "arguments": a, "filtered_resps": [(-1.0, False), (-0.5, True)]}
        for i, a in enumerate((held, written, generation))
    ]
    results = {"results": {"qa": {"acc,none": 1.0}}, "samples": {"qa": samples}}
    uri = str(tmp_path / "t.db")
    (eval_id,) = log_results(results, project="lm", store=uri)
    store = open_store(uri)
    (score,) = store.evaluations(project="lm")
    rows = sorted(store.table_rows(score.run_id, score.samples), key=lambda r: r["doc_id"])
    assert [r["prompt"] for r in rows] == [context] * 3
    assert [json.loads(r["continuations"]) for r in rows[:2]] == [choices, choices]
    assert "arguments" not in rows[0] and "arguments" not in rows[1]
    assert "continuations" not in rows[2] and json.loads(rows[2]["arguments"])[0][0] == context
    assert score.eval_id == eval_id


def test_the_hook_wraps_simple_evaluate_only_under_tracker_run() -> None:
    """Without ``tracker run`` lm-eval is untouched: its function is its own."""
    from lm_eval import evaluator

    assert not getattr(evaluator.simple_evaluate, "__tracker_attached__", False)
