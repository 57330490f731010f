"""lighteval for real: two checkpoints of a tracked run evaluated on the CPU by
``tracker run -- lighteval accelerate ...`` and by a ``Pipeline`` then ``log_results``, on
a task defined here from a local JSON file (no hub); what lands in SQLite (both ways) and
PostgreSQL (the Python way: the store is the core's concern, the CLI run costs ~10 s)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from assets import TINY_QA as QUESTIONS
from assets import build_hf_model, write_qa_data
from tracked_commands import BIN, tracker_run
from tracker import CustomTracker, open_store
from tracker.leaderboard import leaderboard
from tracker.records import Evaluation

pytest.importorskip("lighteval")

TASKS_PY = '''\
"""tiny_qa: multiple choice, its data a local JSON-lines file."""
from lighteval.metrics.metrics import Metrics
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc


def prompt(line, task_name=None):
    return Doc(task_name=task_name, query=line["question"],
               choices=[" " + c for c in line["choices"]], gold_index=line["label"])


TASKS_TABLE = [
    LightevalTaskConfig(name="tiny_qa", prompt_function=prompt, hf_repo={data!r},
                        hf_subset="default", hf_avail_splits=["test"],
                        evaluation_splits=["test"], metrics=[Metrics.loglikelihood_acc],
                        version=1)
]
'''
MODEL_ARGS = "batch_size=4,dtype=float32,cache_dir={cache}"


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    """The custom tasks file; the task's data a JSON-lines file in a folder of its own."""
    data = write_qa_data(tmp_path / "tiny_qa" / "test.jsonl", QUESTIONS).parent
    path = tmp_path / "tiny_tasks.py"
    path.write_text(TASKS_PY.format(data=str(data)))
    return path


@pytest.fixture
def checkpoints(tmp_path: Path, store_uri: str) -> list[Path]:
    """out/checkpoint-2 and out/checkpoint-4 (random tiny Llamas) of a run of project le."""
    paths = [build_hf_model(tmp_path / "out" / f"checkpoint-{s}", seed=s) for s in (2, 4)]
    with CustomTracker(project="le", store=store_uri) as run:
        for step, path in zip((2, 4), paths, strict=True):
            run.log_artifact(path, kind="checkpoint", step=step)
    return paths


@pytest.fixture(params=["sqlite", "postgres"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store the training run and the evaluations write: a SQLite file, the team store."""
    if request.param == "sqlite":
        return str(tmp_path / "team.db")
    server = request.getfixturevalue("pg")
    server.truncate()
    return str(server.uri)


def _check(score: Evaluation, uri: str, acc: float, stderr: float) -> None:
    """The score, its settings and its samples as lighteval computed them."""
    assert score.value == pytest.approx(acc)
    assert score.stderr == pytest.approx(stderr)
    settings = score.settings
    assert settings["harness"] == "lighteval 0.13.0"
    assert (settings["num_fewshot"], settings["version"]) == (0, 1)
    assert settings["higher_is_better"] == {"acc": True}
    assert settings["model"] == "TransformersModelConfig"
    assert settings["model_config"]["batch_size"] == 4
    assert "model_name" not in settings["model_config"]
    assert "cache_dir" not in settings["model_config"]
    rows = sorted(open_store(uri).table_rows(score.run_id, score.samples),
                  key=lambda r: int(r["doc_id"]))  # fmt: skip
    assert [r["doc_id"] for r in rows] == [str(i) for i in range(len(QUESTIONS))]
    assert [(r["prompt"], r["target"]) for r in rows] == [(q, a) for q, _c, a in QUESTIONS]
    for row in rows:  # the likeliest choice is the response, right where it is the target
        assert len(json.loads(row["logprobs"])) == 3  # a list: its JSON text in a table
        assert row["acc"] == (1 if row["response"] == row["target"] else 0)
    assert sum(r["acc"] for r in rows) / len(rows) == pytest.approx(score.value)


@pytest.mark.parametrize("store_uri", ["sqlite"], indirect=True)  # the API test has both
def test_lighteval_cli_records_evaluations_of_the_checkpoint(
    checkpoints: list[Path], tasks: Path, tmp_path: Path, store_uri: str
) -> None:
    """``tracker run -- lighteval accelerate`` on checkpoint-2: the task's score, stderr,
    settings and every sample land as an evaluation of the run's checkpoint at step 2."""
    tracker_run(
        BIN / "lighteval", "accelerate",
        "model_name=out/checkpoint-2," + MODEL_ARGS.format(cache=tmp_path / "cache"),
        "tiny_qa|0", "--custom-tasks", tasks, "--output-dir", tmp_path / "results",
        tracker_dir=tmp_path, options=["--project", "le"], env={"TRACKER_URI": store_uri},
        cwd=tmp_path,
    )  # fmt: skip
    written = json.loads(next((tmp_path / "results").rglob("results_*.json")).read_text())
    got = written["results"]["tiny_qa|0"]

    store = open_store(store_uri)
    board = leaderboard(store, "le")
    assert board.columns == ["tiny_qa/acc"]
    (entry,) = board.entries
    assert entry.checkpoint is not None and entry.checkpoint.step == 2
    score = entry.scores["tiny_qa/acc"]
    _check(score, store_uri, got["acc"], got["acc_stderr"])
    evaluating = store.get_run(score.run_id)
    assert (evaluating.project, evaluating.status, evaluating.framework) == (
        "le", "finished", "lighteval")  # fmt: skip


def test_log_results_of_a_pipeline(
    checkpoints: list[Path],
    tasks: Path,
    tmp_path: Path,
    store_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``log_results(pipeline)`` after ``evaluate()`` records checkpoint-4's evaluation; an
    absolute ``model_name`` (lighteval then caches inside the checkpoint) is a warning, and
    its scores are kept, of the folder as lighteval left it."""
    from lighteval.logging.evaluation_tracker import EvaluationTracker
    from lighteval.models.transformers.transformers_model import TransformersModelConfig
    from lighteval.pipeline import ParallelismManager, Pipeline, PipelineParameters

    from tracker.integrations.lighteval import log_results

    monkeypatch.chdir(tmp_path)

    def evaluate(model_name: str) -> Pipeline:
        pipeline = Pipeline(
            tasks="tiny_qa|0",
            pipeline_parameters=PipelineParameters(
                launcher_type=ParallelismManager.NONE, custom_tasks_directory=str(tasks)
            ),
            evaluation_tracker=EvaluationTracker(output_dir=str(tmp_path / "results")),
            model_config=TransformersModelConfig(
                model_name=model_name, batch_size=4, dtype="float32",
                cache_dir=str(tmp_path / "cache"),
            ),
        )  # fmt: skip
        pipeline.evaluate()
        return pipeline

    pipeline = evaluate("out/checkpoint-4")
    (eval_id,) = log_results(pipeline, project="le", store=store_uri)
    got = pipeline.evaluation_tracker.metrics_logger.metric_aggregated["tiny_qa|0"]

    absolute = evaluate(str(checkpoints[0]))
    with caplog.at_level(logging.WARNING, logger="tracker"):
        assert len(log_results(absolute.evaluation_tracker, project="le", store=store_uri)) == 1
    assert f"keeps its sample cache inside {checkpoints[0]}" in caplog.text

    board = leaderboard(open_store(store_uri), "le")
    by_step = {e.checkpoint.step if e.checkpoint else None: e for e in board.entries}
    assert sorted(by_step, key=str) == [4, None]
    score = by_step[4].scores["tiny_qa/acc"]
    assert score.eval_id == eval_id
    _check(score, store_uri, got["acc"], got["acc_stderr"])
    unmatched = by_step[None]
    assert unmatched.uri == str(checkpoints[0])
    assert not math.isnan(unmatched.scores["tiny_qa/acc"].value)


def test_bad_input_is_a_warning_and_the_rest_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Not a pipeline; a task without numbers; NaN; a detail of another shape; no model
    named: warnings, and every good score is recorded."""
    from lighteval.logging.evaluation_tracker import EvaluationTracker

    from tracker.integrations.lighteval import log_results

    uri = str(tmp_path / "t.db")
    assert log_results(object(), project="le", store=uri) == []
    assert "hold no aggregated metrics" in caplog.text
    evaluation = EvaluationTracker(output_dir=str(tmp_path / "results"))
    evaluation.metrics_logger.metric_aggregated.update(
        {
            "words|0": {"note": "text"},
            "nan_task|0": {"acc": float("nan")},
            "fine|5": {"em": 0.5, "em_stderr": 0.1},
            "all": {"em": 0.5, "acc": float("nan")},
        }
    )
    evaluation.details_logger.details["fine|5"] = [object(), "not a detail"]
    assert len(log_results(evaluation, project="le", store=uri)) == 2
    assert "name no model" in caplog.text
    assert "log_evaluation('words') has no numeric metric" in caplog.text
    found = {(e.task, e.metric): e for e in open_store(uri).evaluations(project="le")}
    assert set(found) == {("nan_task", "acc"), ("fine", "em")}
    assert math.isnan(found["nan_task", "acc"].value)
    fine = found["fine", "em"]
    assert (fine.value, fine.stderr, fine.uri, fine.settings["num_fewshot"]) == (0.5, 0.1, "", 5)
    rows = open_store(uri).table_rows(fine.run_id, fine.samples)
    assert [r["doc_id"] for r in rows] == [0, 1]  # no id: their positions


def test_the_hook_wraps_save_only_under_tracker_run() -> None:
    """Without ``tracker run`` lighteval is untouched: ``EvaluationTracker.save`` is its own."""
    from lighteval.logging.evaluation_tracker import EvaluationTracker

    assert not getattr(EvaluationTracker.save, "__tracker_attached__", False)
