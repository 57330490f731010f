"""The evaluations part of the contract, on every built-in store: scores of versions, read
back, matched to the checkpoint that produced them in any order, and their samples."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from old_schema import migration_that, sqlite_file_at
from tracker import open_store
from tracker.leaderboard import bench_history, evaluations_of, leaderboard, sample_diff
from tracker.records import Artifact, Evaluation, RunRecord
from tracker.store import Store
from tracker.store.base import version_scores
from tracker.store.sqlite import SqliteStore


def _start(store: Store, run_id: str, project: str) -> None:
    now = time.time()
    store.start_run(
        RunRecord(run_id, project, run_id, started_at=now, heartbeat_at=now), resume=False
    )


@pytest.fixture
def any_store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, with a training run ``train`` of project ``sft`` and an
    evaluating run ``ev`` of project ``evals`` (another machine, the same store)."""
    store = open_store(store_uri)
    _start(store, "train", "sft")
    _start(store, "ev", "evals")
    yield store
    store.close()


def _ckpt(step: int, digest: str | None, **more: object) -> Artifact:
    return Artifact(
        "train", "checkpoint", uri=f"/a/out/checkpoint-{step}", digest=digest, step=step,
        created_at=float(step), **more,  # type: ignore[arg-type]
    )  # fmt: skip


def _score(
    eval_id: str, metric: str, value: float, *, uri: str = "", digest: str | None = None,
    task: str = "arc", settings: dict[str, object] | None = None, at: float = 1.0,
    stderr: float | None = None, samples: str | None = None,
) -> Evaluation:  # fmt: skip
    return Evaluation(
        "ev", eval_id, task, metric, value, stderr, uri, digest,
        settings or {"harness": "lm-eval", "num_fewshot": 0}, samples, at,
    )  # fmt: skip


def test_scores_are_read_back_whole_and_filtered(any_store: Store) -> None:
    """Every field comes back (NaN as NaN, no stderr as None); each filter narrows."""
    acc = _score("e1", "acc,none", 0.71, uri="/b/ck", digest="sha256:1", stderr=0.012)
    nan = _score("e1", "f1", math.nan, uri="/b/ck", digest="sha256:1")
    other = _score("e2", "acc,none", 0.5, uri="/b/other", task="hellaswag")
    any_store.log_evaluations("ev", [acc, nan])
    any_store.log_evaluations("ev", [other])
    found = any_store.evaluations(run_id="ev")
    assert [(e.eval_id, e.metric) for e in found] == [
        ("e1", "acc,none"), ("e1", "f1"), ("e2", "acc,none"),
    ]  # fmt: skip
    assert found[0] == acc
    assert math.isnan(found[1].value) and found[1].stderr is None
    assert found[1].replace(value=0.0) == nan.replace(value=0.0)
    assert [e.metric for e in any_store.evaluations(eval_id="e1")] == ["acc,none", "f1"]
    assert [e.task for e in any_store.evaluations(task="hellaswag")] == ["hellaswag"]
    assert len(any_store.evaluations(metric="acc,none")) == 2
    assert len(any_store.evaluations(project="evals")) == 3
    assert any_store.evaluations(project="sft") == []
    assert len(any_store.evaluations(refs=["sha256:1"])) == 2
    assert [e.eval_id for e in any_store.evaluations(refs=["/b/other"])] == ["e2"]
    assert len(any_store.evaluations(limit=1)) == 1


def test_a_score_sent_twice_is_stored_once(any_store: Store) -> None:
    """A retried or synced call (same run, evaluation and metric) changes nothing."""
    any_store.log_evaluations("ev", [_score("e1", "acc", 0.7)])
    any_store.log_evaluations("ev", [_score("e1", "acc", 0.7), _score("e1", "f1", 0.2)])
    assert [(e.metric, e.value) for e in any_store.evaluations()] == [("acc", 0.7), ("f1", 0.2)]


@pytest.mark.parametrize("checkpoint_first", [True, False])
def test_an_evaluation_elsewhere_attaches_to_the_checkpoint(
    any_store: Store, checkpoint_first: bool
) -> None:
    """Scored on machine B (another path, the same digest) before or after machine A
    recorded the checkpoint: the leaderboard of A's project shows it on A's checkpoint,
    at its step, kind and run; an evaluation of a version no run produced is kept by uri."""
    scores = [
        _score("e1", "acc", 0.6, uri="/b/copy-500", digest="sha256:500"),
        _score("e2", "acc", 0.8, uri="/b/copy-1000", digest="sha256:1000"),
        _score("e3", "acc", 0.9, uri="/a/out/checkpoint-1500"),  # by path: never hashed
    ]
    checkpoints = [_ckpt(500, "sha256:500"), _ckpt(1000, "sha256:1000", state="gone"),
                   _ckpt(1500, None, state="unhashed")]  # fmt: skip
    if checkpoint_first:
        for c in checkpoints:
            any_store.log_artifact("train", c)
    for s in scores:
        any_store.log_evaluations("ev", [s])
    if not checkpoint_first:
        for c in checkpoints:
            any_store.log_artifact("train", c)
    any_store.log_evaluations("ev", [_score("e4", "acc", 0.1, uri="/lost/ck")])
    board = leaderboard(any_store, "sft")
    assert board.columns == ["arc/acc"]
    rows = [(e.checkpoint and (e.checkpoint.run_id, e.checkpoint.step, e.checkpoint.state),
             e.value("arc/acc")) for e in board.entries]  # fmt: skip
    assert rows == [
        (("train", 500, "present"), 0.6),
        (("train", 1000, "gone"), 0.8),
        (("train", 1500, "unhashed"), 0.9),
    ]
    assert board.best("arc/acc") is board.entries[2]
    unknown = leaderboard(any_store, "evals")
    assert [(e.checkpoint, e.uri) for e in unknown.entries][-1] == (None, "/lost/ck")
    assert [e.eval_id for e in evaluations_of(any_store, [checkpoints[0]])] == ["e1"]


def test_other_settings_are_other_columns_and_the_latest_score_shows(any_store: Store) -> None:
    """0-shot and 5-shot scores of one checkpoint are two columns named by the setting
    that differs; evaluated again with the same settings, the later score shows."""
    any_store.log_artifact("train", _ckpt(500, "sha256:5"))
    zero = {"harness": "lm-eval", "num_fewshot": 0}
    five = {"harness": "lm-eval", "num_fewshot": 5}
    any_store.log_evaluations("ev", [_score("e1", "acc", 0.5, digest="sha256:5", settings=zero)])
    any_store.log_evaluations("ev", [_score("e2", "acc", 0.7, digest="sha256:5", settings=five)])
    any_store.log_evaluations(
        "ev", [_score("e3", "acc", 0.55, digest="sha256:5", settings=zero, at=2.0)]
    )
    board = leaderboard(any_store, "sft")
    assert board.columns == ["arc/acc [num_fewshot=0]", "arc/acc [num_fewshot=5]"]
    (entry,) = board.entries
    assert [entry.value(c) for c in board.columns] == [0.55, 0.7]


def test_lower_is_better_for_losses_and_nan_is_never_best(any_store: Store) -> None:
    """A perplexity column ranks lowest first; a NaN score ranks last, never best."""
    for step, value in ((1, 12.0), (2, math.nan), (3, 9.0)):
        any_store.log_artifact("train", _ckpt(step, f"sha256:{step}"))
        any_store.log_evaluations(
            "ev", [_score(f"e{step}", "word_perplexity", value, digest=f"sha256:{step}")]
        )
    board = leaderboard(any_store, "sft")
    column = "arc/word_perplexity"
    assert [e.checkpoint.step for e in board.ranked(column) if e.checkpoint] == [3, 1, 2]
    best = board.best(column)
    assert best is not None and best.checkpoint is not None and best.checkpoint.step == 3


def test_the_producing_run_reads_its_checkpoints_scores_along_its_steps(
    any_store: Store,
) -> None:
    """bench/<task>/<metric> of the training run: a point at each evaluated checkpoint's
    step; the run's own metrics are untouched."""
    for step in (500, 1000):
        any_store.log_artifact("train", _ckpt(step, f"sha256:{step}"))
    any_store.log_evaluations("ev", [_score("e2", "acc", 0.8, digest="sha256:1000", at=5.0)])
    any_store.log_evaluations("ev", [_score("e1", "acc", 0.6, digest="sha256:500", at=6.0)])
    history = bench_history(any_store, "train")
    assert list(history) == ["bench/arc/acc"]
    assert history["bench/arc/acc"].tuples() == [(500, 0.6, 6.0), (1000, 0.8, 5.0)]
    assert any_store.keys("train") == []


def test_sample_diff_shows_what_went_right_to_wrong_and_back(any_store: Store) -> None:
    """Samples matched by doc_id, judged by the evaluation's metric: 1 worse, 1 better."""
    a = [{"doc_id": i, "target": "x", "response": r, "acc": v}
         for i, (r, v) in enumerate([("x", 1.0), ("y", 0.0), ("x", 1.0)])]  # fmt: skip
    b = [{"doc_id": i, "target": "x", "response": r, "acc": v}
         for i, (r, v) in enumerate([("z", 0.0), ("x", 1.0), ("x", 1.0), ("x", 1.0)])]  # fmt: skip
    any_store.log_table("ev", "samples/arc/ea", 0, a)  # type: ignore[arg-type]
    any_store.log_table("ev", "samples/arc/eb", 0, b)  # type: ignore[arg-type]
    any_store.log_evaluations("ev", [_score("ea", "acc,none", 2 / 3, samples="samples/arc/ea")])
    any_store.log_evaluations("ev", [_score("eb", "acc,none", 3 / 4, samples="samples/arc/eb")])
    diff = sample_diff(any_store, "ea", "eb")
    assert diff.metric == "acc"
    assert [(doc, ra["response"], rb["response"]) for doc, ra, rb in diff.worse] == [(0, "x", "z")]
    assert [doc for doc, _, _ in diff.better] == [1]
    assert diff.counts == {"right_both": 1, "wrong_both": 0, "only_a": 0, "only_b": 1}


def _fields(found: list[Evaluation]) -> list[tuple[object, ...]]:
    """Each record's fields, NaN as a text (NaN equals nothing)."""
    return [
        tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in e.as_dict().values())
        for e in found
    ]


def test_scores_grouped_by_version_are_the_scores_held(any_store: Store) -> None:
    """`version_scores` (what the leaderboard reads: in the SQL stores, one row a run and
    version) holds each stored score once, every field as `evaluations` returns it: NaN
    and infinite values, a NaN stderr as none, other settings in one batch, a version
    scored in several calls, a score given twice in a call, a retried call."""
    ck: dict[str, Any] = {"uri": "/b/ck", "digest": "sha256:1"}  # scored in several calls
    five = {"harness": "lm-eval", "num_fewshot": 5}
    first = [
        _score("e1", "acc", 0.7, stderr=0.01, samples="samples/arc/e1", **ck),
        _score("e1", "f1", math.nan, stderr=math.nan, **ck),
        _score("e1", "acc", 0.1, **ck),  # given twice: the first kept
        _score("e2", "ppl", math.inf, task="wiki", settings=five, at=2.0, **ck),
        _score("e3", "acc", 0.4, uri="/a/out/checkpoint-9"),  # unhashed
    ]
    any_store.log_evaluations("ev", first)
    any_store.log_evaluations("ev", first[:2])  # retried
    any_store.log_evaluations("ev", [_score("e4", "acc", 0.9, at=3.0, **ck)])
    _start(any_store, "ev2", "other")
    any_store.log_evaluations("ev2", [_score("e5", "acc", 0.2, **ck).replace(run_id="ev2")])
    held = any_store.evaluations()
    assert len(held) == 6
    groups = version_scores(any_store, refs=["sha256:1", "/a/out/checkpoint-9"])
    assert sorted((g.run_id, g.uri, g.digest, len(g.evaluations)) for g in groups) == [
        ("ev", "/a/out/checkpoint-9", None, 1),
        ("ev", "/b/ck", "sha256:1", 4),
        ("ev2", "/b/ck", "sha256:1", 1),
    ]
    flat = [e for g in groups for e in g.evaluations]
    assert sorted(_fields(flat), key=str) == sorted(_fields(held), key=str)
    mine = version_scores(any_store, project="evals")
    assert sorted(_fields([e for g in mine for e in g.evaluations]), key=str) == sorted(
        _fields(held[:5]), key=str
    )
    assert version_scores(any_store, refs=["sha256:1"], project="other")[0].run_id == "ev2"
    any_store.delete_run("ev")
    assert [g.run_id for g in version_scores(any_store)] == ["ev2"]


def test_deleting_the_evaluating_run_removes_its_scores(any_store: Store) -> None:
    """delete_run takes the run's evaluations with it."""
    any_store.log_evaluations("ev", [_score("e1", "acc", 0.5)])
    any_store.delete_run("ev")
    assert any_store.evaluations() == []
    assert version_scores(any_store) == []


def test_a_store_of_the_schema_before_evaluations_is_migrated(tmp_path: Path) -> None:
    """A SQLite file at the version before the evaluations table opens, keeps its runs
    and takes evaluations."""
    path = sqlite_file_at(tmp_path / "old.db", migration_that("CREATE TABLE evaluations"))
    store = SqliteStore(path)
    assert [r.run_id for r in store.runs()] == ["old"]
    store.log_evaluations("old", [_score("e", "acc", 0.5).replace(run_id="old")])
    assert [e.run_id for e in store.evaluations()] == ["old"]
    store.close()
