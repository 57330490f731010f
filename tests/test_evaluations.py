"""Evaluations from real runs: log_evaluation after use_artifact, matched to the training
run's checkpoint by digest across machines, bad input, many samples, sync and rescue."""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from old_backend import OldBackend
from tracker import CustomTracker, open_store
from tracker.leaderboard import leaderboard, sample_diff
from tracker.store import Store


def _checkpoint(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(data)
    (folder / "config.json").write_text("{}")
    return folder


def _train(tmp_path: Path) -> tuple[str, list[Path]]:
    """A training run of project sft that saved two checkpoints at steps 500 and 1000."""
    folders = []
    with CustomTracker("sft") as run:
        for step in (500, 1000):
            run.log_metrics({"train/loss": 1.0 / step}, step=step)
            folder = _checkpoint(tmp_path / "a" / f"checkpoint-{step}", b"w" * step)
            run.log_artifact(folder)
            folders.append(folder)
    assert run.run_id is not None
    return run.run_id, folders


def test_an_evaluation_on_another_machine_attaches_to_the_checkpoint(
    tracker_dir: Path, store: Store, tmp_path: Path
) -> None:
    """Machine B copies checkpoint-1000 elsewhere, uses it and logs scores: its digest
    matches machine A's checkpoint, which the leaderboard shows with run, step and kind;
    the evaluation is an input of B's run (lineage) and its settings are kept."""
    train_id, folders = _train(tmp_path)
    copy = shutil.copytree(folders[1], tmp_path / "b" / "ckpt")
    with CustomTracker("evals") as ev:
        ev.use_artifact(copy, kind="checkpoint")
        eval_id = ev.log_evaluation(
            "arc_easy",
            {"acc,none": 0.71, "acc_stderr,none": 0.01, "alias": "arc_easy"},
            settings={"harness": "lm-eval", "num_fewshot": 5},
        )
    (score,) = store.evaluations(run_id=ev.run_id)
    assert (score.eval_id, score.metric, score.value, score.stderr) == (
        eval_id, "acc,none", 0.71, 0.01,
    )  # fmt: skip
    assert score.uri == str(copy) and score.digest is not None
    assert score.settings == {"harness": "lm-eval", "num_fewshot": 5}
    board = leaderboard(store, "sft")
    (entry,) = board.entries
    assert entry.checkpoint is not None
    assert (entry.checkpoint.run_id, entry.checkpoint.step, entry.checkpoint.kind) == (
        train_id, 1000, "checkpoint",
    )  # fmt: skip
    assert entry.value("arc_easy/acc,none") == 0.71
    assert [a.run_id for a in store.lineage(train_id).consumers] == [ev.run_id]


def test_the_artifact_argument_and_a_path_that_no_longer_exists(
    tracker_dir: Path, store: Store, tmp_path: Path
) -> None:
    """artifact=path is used as use_artifact uses it (hashed); a path that is gone is kept
    as given and its scores recorded; an Artifact from the store gives uri and digest."""
    train_id, folders = _train(tmp_path)
    first = store.artifacts(run_id=train_id)[0]
    with CustomTracker("evals") as ev:
        ev.log_evaluation("t", {"acc": 0.5}, artifact=folders[0])
        ev.log_evaluation("t", {"acc": 0.6}, artifact=tmp_path / "deleted" / "ckpt")
        ev.log_evaluation("t", {"acc": 0.7}, artifact=first)
    scores = store.evaluations(run_id=ev.run_id)
    assert [(s.value, s.digest == first.digest) for s in scores] == [
        (0.5, True), (0.6, False), (0.7, True),
    ]  # fmt: skip
    assert scores[1].uri.endswith("deleted/ckpt")
    assert [e.value("t/acc") for e in leaderboard(store, "sft").entries] == [0.7]


def test_bad_input_warns_and_keeps_what_is_good(
    tracker_dir: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """No task, no mapping, no numeric metric: nothing recorded, a warning each; NaN is
    kept; a text metric is left out by name; no version used: recorded, with a warning;
    samples that raise part way keep those before. Nothing raises."""

    def failing() -> Iterator[dict[str, Any]]:
        yield {"doc_id": 0, "acc": 1}
        raise RuntimeError("broken reader")

    with caplog.at_level(logging.WARNING, "tracker"), CustomTracker("evals") as ev:
        assert ev.log_evaluation("", {"acc": 1.0}) is None
        assert ev.log_evaluation("t", [0.5]) is None  # type: ignore[arg-type]
        assert ev.log_evaluation("t", {"alias": "x", "note": None}) is None
        kept = ev.log_evaluation(
            "t",
            {"acc": math.nan, "name": "t", "f1": 0.2},
            settings=object(),
            samples=failing(),  # type: ignore[arg-type]
        )
    scores = store.evaluations(run_id=ev.run_id)
    assert [(s.eval_id, s.metric) for s in scores] == [(kept, "acc"), (kept, "f1")]
    assert math.isnan(scores[0].value) and scores[0].uri == ""
    assert scores[0].samples is not None
    assert store.table_rows(ev.run_id, scores[0].samples) == [{"step": 0, "doc_id": 0, "acc": 1}]
    text = "\n".join(r.getMessage() for r in caplog.records)
    for said in ("needs a task name", "takes a mapping", "no numeric metric",
                 "not numbers left out: name", "settings take a mapping", "no version named",
                 "reading the samples raised RuntimeError after 1"):  # fmt: skip
        assert said in text, said


def test_a_hundred_thousand_samples_are_sliced_and_all_kept(
    tracker_dir: Path, store: Store
) -> None:
    """100,000 samples from a generator are stored whole, 1,000 a step, each with its
    doc_id (the generator is read a slice at a time, never listed whole)."""

    def samples() -> Iterator[dict[str, Any]]:
        for i in range(100_000):
            yield {"doc_id": i, "target": "a", "response": "a" if i % 3 else "b", "acc": i % 3 > 0}

    with CustomTracker("evals") as ev:
        eval_id = ev.log_evaluation("big", {"acc": 0.66}, samples=samples())
    (score,) = store.evaluations(eval_id=eval_id)
    assert score.samples is not None
    assert len(store.table_steps(ev.run_id, score.samples)) == 100
    rows = store.table_rows(ev.run_id, score.samples)
    assert [r["doc_id"] for r in rows] == list(range(100_000))


def test_sample_diff_of_two_checkpoints(tracker_dir: Path, store: Store) -> None:
    """Two evaluations of one task with samples: doc 1 went right -> wrong, doc 2 back."""
    with CustomTracker("evals") as ev:
        ids = [
            ev.log_evaluation(
                "t", {"exact_match,none": sum(flags) / 3},
                samples=[{"doc_id": i, "exact_match": f} for i, f in enumerate(flags)],
            )
            for flags in ((1.0, 1.0, 0.0), (1.0, 0.0, 1.0))
        ]  # fmt: skip
    assert None not in ids
    diff = sample_diff(store, str(ids[0]), str(ids[1]))
    assert diff.metric == "exact_match"
    assert [d for d, _, _ in diff.worse] == [1] and [d for d, _, _ in diff.better] == [2]


def test_sync_and_rescue_files_carry_evaluations(tmp_path: Path) -> None:
    """copy_runs copies a run's evaluations once (twice changes nothing); a rescue file
    holding an evaluation call is delivered by deliver_unsent."""
    from tracker.calls import LogEvaluations
    from tracker.records import Evaluation, RunRecord
    from tracker.rescue import rescue
    from tracker.sync import copy_runs, deliver_unsent

    record = RunRecord("r1", "p", "r1", started_at=1.0, heartbeat_at=1.0)
    score = Evaluation("r1", "e1", "t", "acc", 0.5, 0.1, "/c", "sha256:c", {"seed": 1}, None, 2.0)
    path = rescue(record, [LogEvaluations([score])], [tmp_path / "unsent"], "sqlite:///x")
    assert path is not None
    middle = open_store(f"sqlite:///{tmp_path}/m.db")
    assert deliver_unsent([path], middle).files == 1
    assert middle.evaluations() == [score]
    target = open_store(f"jsonl:///{tmp_path}/j")
    copy_runs(middle, target, ["r1"])
    copy_runs(middle, target, ["r1"])
    assert target.evaluations() == [score]
    middle.close()
    target.close()


def test_a_backend_written_before_evaluations_is_passed_over(
    tracker_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A BackendBase subclass gets the scores through log_evaluations; one written before
    the method existed (not a BackendBase) is not sent them, and nothing is warned of it."""
    from tracker import BackendBase
    from tracker.records import Evaluation

    class Seen(BackendBase):
        def __init__(self) -> None:
            self.scores: list[Evaluation] = []

        def log_evaluations(self, run_id: str, evaluations: list[Evaluation]) -> None:
            self.scores.extend(evaluations)

    seen = Seen()
    stores = [seen, OldBackend()]
    with caplog.at_level(logging.WARNING, "tracker"), CustomTracker("p", store=stores) as run:  # type: ignore[arg-type]
        run.log_evaluation("t", {"acc": 0.5}, artifact="Qwen/Qwen2.5-0.5B")
    assert [(s.metric, s.uri) for s in seen.scores] == [("acc", "Qwen/Qwen2.5-0.5B")]
    assert not [r for r in caplog.records if "log_evaluations" in r.getMessage()]
