"""CustomTracker: what a run records, checked in the store."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tracker import (
    BackendBase,
    CustomTracker,
    MetricBatch,
    TrackerSettings,
    open_store,
    register_backend,
)
from tracker.store import Store


def test_the_documented_example_lands_in_the_default_store(store: Store) -> None:
    """start/log_config/log_metrics/finish, read back through open_store()."""
    run = CustomTracker(project="demo", run_name="lr-sweep-1")
    run.start()
    run.log_config({"lr": 3e-4, "model": {"layers": 2}})
    for step in range(100):
        run.log_metrics({"train/loss": 1.0 / (step + 1), "train/learning_rate": 3e-4}, step=step)
    run.finish()
    assert [r.name for r in store.runs(project="demo")] == ["lr-sweep-1"]
    record = store.get_run(run.run_id)
    assert record.config == {"lr": 3e-4, "model": {"layers": 2}}
    assert record.status == "finished" and record.ended_at is not None
    assert store.keys(run.run_id) == ["train/learning_rate", "train/loss"]
    history = store.history(run.run_id, "train/loss")
    assert [s for s, _, _ in history] == list(range(100))
    assert history[-1][1] == pytest.approx(0.01)
    assert all(record.started_at <= t <= record.ended_at for _, _, t in history)


def test_environment_is_captured(store: Store) -> None:
    """Host, pid, python, command line, ranks and git state are recorded at start."""
    with CustomTracker(project="p") as run:
        pass
    env = store.get_run(run.run_id).environment
    assert {
        "host",
        "pid",
        "user",
        "python",
        "command",
        "packages",
        "git",
        "world_size",
        "rank",
    } <= set(env)
    assert env["world_size"] == 1 and env["rank"] == 0


def test_the_environment_is_the_one_at_start_and_holds_the_git_state(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread gathers it (start() never waits for git), as it was at start():
    a chdir or argv change after start() does not change it; commit, branch, dirty, root."""
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=dev"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    (repo / "a.txt").write_text("1")
    subprocess.run([*git, "-C", str(repo), "add", "a.txt"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "one"], check=True)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (repo / "a.txt").write_text("2")
    monkeypatch.chdir(repo / "sub")
    monkeypatch.setattr(sys, "argv", ["train.py", "--lr", "1"])
    run = CustomTracker(project="p").start()
    monkeypatch.chdir(tmp_path)
    sys.argv[:] = ["changed.py"]
    run.finish()
    env = store.get_run(run.run_id).environment
    assert env["cwd"] == str(repo / "sub") and env["command"][1:] == ["train.py", "--lr", "1"]
    assert env["git"] == {"commit": head, "branch": "dev", "dirty": True, "root": str(repo)}


def test_names_are_generated_and_ids_unique(store: Store) -> None:
    """A run without a name gets a readable one; ids differ between runs."""
    with CustomTracker(project="p") as a, CustomTracker(project="p") as b:
        pass
    assert a.run_id != b.run_id
    names = {r.name for r in store.runs(project="p")}
    assert len(names) == 2 and all(n.count("-") == 2 for n in names)


def test_context_manager_records_failure_and_interruption(store: Store) -> None:
    """`with` ends as failed with the error, or interrupted on KeyboardInterrupt."""
    with pytest.raises(ValueError, match="boom"), CustomTracker(project="p") as failed:
        raise ValueError("boom")
    with pytest.raises(KeyboardInterrupt), CustomTracker(project="p") as stopped:
        raise KeyboardInterrupt
    record = store.get_run(failed.run_id)
    assert record.status == "failed" and "ValueError: boom" in (record.error or "")
    assert store.get_run(stopped.run_id).status == "interrupted"


def test_steps_auto_increment_and_values_are_converted(store: Store) -> None:
    """Omitted steps count up from the last one; numpy, bools and nested dicts are accepted."""
    with CustomTracker(project="p") as run:
        run.log_metrics({"a": 1})
        run.log_metrics({"a": np.float32(2.5), "flag": True}, step=10)
        run.log_metrics({"a": np.array(3.0), "eval": {"loss": np.int64(4)}})
    assert [(s, v) for s, v, _ in store.history(run.run_id, "a")] == [
        (0, 1.0),
        (10, 2.5),
        (11, 3.0),
    ]
    assert store.history(run.run_id, "flag")[0][1] == 1.0
    assert store.history(run.run_id, "eval/loss")[0][:2] == (11, 4.0)


def test_nan_and_inf_metrics_are_stored(store: Store) -> None:
    """NaN and infinite losses are kept as they are."""
    with CustomTracker(project="p") as run:
        run.log_metrics({"loss": float("nan")}, step=0)
        run.log_metrics({"loss": float("inf")}, step=1)
    values = [v for _, v, _ in store.history(run.run_id, "loss")]
    assert math.isnan(values[0]) and values[1] == math.inf


def test_non_scalars_warn_once_per_key_and_never_raise(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """None and lists are skipped with one warning per key; strings go to the summary."""
    caplog.set_level(logging.WARNING, logger="tracker")
    with CustomTracker(project="p") as run:
        for step in range(5):
            run.log_metrics({"ok": step, "none": None, "list": [1, 2], "note": "hi"}, step=step)
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("none" in w for w in warnings) == 1
    assert sum("list" in w for w in warnings) == 1
    assert store.keys(run.run_id) == ["ok"]
    assert len(store.history(run.run_id, "ok")) == 5
    assert store.get_run(run.run_id).summary["note"] == "hi"


def test_secrets_in_config_are_redacted_and_configs_merge(store: Store) -> None:
    """Configs logged twice merge (later wins) and secret keys are masked."""
    with CustomTracker(
        project="p", config={"lr": 1, "hub_token": "hf_x", "opt": {"b1": 0.9}}
    ) as run:
        run.log_config({"lr": 2, "opt": {"b2": 0.99}, "s": {"b", "a"}})
    assert store.get_run(run.run_id).config == {
        "lr": 2,
        "hub_token": "***REDACTED***",
        "opt": {"b1": 0.9, "b2": 0.99},
        "s": ["a", "b"],
    }


def test_logging_before_start_is_a_clear_error() -> None:
    """Misuse raises and says what to do."""
    with pytest.raises(RuntimeError, match="start"):
        CustomTracker(project="p").log_metrics({"a": 1})


def test_resume_by_id_continues_the_same_record(store: Store) -> None:
    """A new tracker with the run id continues the run, steps continuing after the last."""
    with CustomTracker(project="p", run_name="r") as first:
        first.log_config({"lr": 1})
        first.log_metrics({"loss": 1.0}, step=0)
        first.log_metrics({"loss": 0.9}, step=1)
    with CustomTracker(run_id=first.run_id, resume="must") as again:
        again.log_metrics({"loss": 0.8})
    assert [r.run_id for r in store.runs()] == [first.run_id]
    record = store.get_run(first.run_id)
    assert (record.name, record.project, record.config) == ("r", "p", {"lr": 1})
    assert [(s, v) for s, v, _ in store.history(first.run_id, "loss")] == [
        (0, 1.0),
        (1, 0.9),
        (2, 0.8),
    ]
    (event,) = store.events(first.run_id)
    assert (event.kind, event.payload["reason"]) == (
        "resumed",
        "a new process continues this run (same run id)",
    )


def test_resume_modes_refuse_clearly(store: Store) -> None:
    """resume='must' needs the run to exist, resume='never' needs it not to."""
    with pytest.raises(ValueError, match="no such run"):
        CustomTracker(run_id="missing", resume="must").start()
    with CustomTracker(project="p") as run:
        pass
    with pytest.raises(ValueError, match="already exists"):
        CustomTracker(run_id=run.run_id, resume="never").start()


def test_logging_after_finish_reopens_the_same_run(store: Store) -> None:
    """Evaluation after training ended lands in the same run, which ends finished again;
    its reopened event says why in words."""
    run = CustomTracker(project="p").start()
    run.log_metrics({"train/loss": 1.0}, step=5)
    run.finish()
    run.log_metrics({"eval/loss": 2.0}, step=5)
    run.finish()
    assert store.keys(run.run_id) == ["eval/loss", "train/loss"]
    assert store.get_run(run.run_id).status == "finished"
    assert len(store.runs()) == 1
    (event,) = store.events(run.run_id)
    assert event.kind == "reopened"
    assert event.payload["reason"].startswith("logged to after finish(), so the same run goes on")


def test_disabled_and_other_ranks_do_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """TRACKER_DISABLED=1 and a process of rank 1 create no run and never raise."""
    monkeypatch.setenv("TRACKER_DISABLED", "1")
    with CustomTracker(project="p") as off:
        off.log_metrics({"a": 1})
    monkeypatch.delenv("TRACKER_DISABLED")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with CustomTracker(project="p") as other:
        other.log_metrics({"a": 1})
        other.log_config({"a": 1})
        assert not other.is_main_process
    assert store.runs() == []
    assert off.run_id is None and other.run_id is None


class Flaky(BackendBase):
    """A backend that fails its first calls, then works."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.points: list[tuple[str, int, float]] = []
        self.finished: str | None = None

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("platform down")
        self.points.extend((p.key, p.step, p.value) for p in batch.points())

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        self.finished = status


def test_fan_out_with_a_flaky_backend_loses_nothing(tracker_dir: Path) -> None:
    """Two backends at once; the failing one gets every point once it recovers."""
    flaky = Flaky(failures=3)
    with CustomTracker(project="p", store=[f"sqlite:///{tracker_dir}/a.db", flaky]) as run:
        for step in range(50):
            run.log_metrics({"m": step}, step=step)
            if step % 10 == 0:
                run.flush()
    assert sorted(p[1] for p in flaky.points) == list(range(50))
    assert flaky.finished == "finished"
    assert len(open_store(f"sqlite:///{tracker_dir}/a.db").history(run.run_id, "m")) == 50


class Down(BackendBase):
    """A backend that never works."""

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        raise ConnectionError("unreachable")


def test_unwritable_data_is_rescued_to_a_file(
    tracker_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What a dead backend never took is saved as JSON lines, and finish() says where."""
    settings = TrackerSettings(finish_timeout=0.2)
    run = CustomTracker(project="p", store=Down(), settings=settings).start()
    for step in range(10):
        run.log_metrics({"m": step}, step=step)
    report = run.finish()
    assert report is not None and not report.complete
    assert report.unwritten_points == 10 and report.rescue_file is not None
    rescued = open_store(f"jsonl:///{report.rescue_file.parent}")
    assert [s for s, _, _ in rescued.history(run.run_id, "m")] == list(range(10))
    assert "saved in" in caplog.text


class SlowEnd(BackendBase):
    """A backend whose end takes a while, and that counts ends."""

    def __init__(self) -> None:
        self.ends: list[str] = []

    def finish_run(self, run_id: str, status: str, ended_at: float, error: str | None) -> None:
        time.sleep(0.5)
        self.ends.append(status)


def test_two_finishes_at_once_end_the_run_once(tracker_dir: Path) -> None:
    """finish() from two threads at once (the SIGTERM watcher while the training thread
    finishes): the run ends once, with the first caller's status, and the second call
    returns only when that end is written."""
    slow = SlowEnd()
    run = CustomTracker(project="p", store=slow).start()
    run.log_metrics({"m": 1.0}, step=0)
    reports: list[Any] = []
    first = threading.Thread(target=lambda: reports.append(run.finish()))
    first.start()
    while run.active:  # until the first call has claimed the end
        time.sleep(0.001)
    seen: list[list[str]] = []
    second = threading.Thread(
        target=lambda: (reports.append(run.finish("interrupted")), seen.append(list(slow.ends)))
    )
    second.start()
    first.join()
    second.join()
    assert slow.ends == ["finished"] and seen == [["finished"]]
    (report,) = [r for r in reports if r is not None]
    assert len(reports) == 2 and report.complete


def test_backends_register_by_scheme(tracker_dir: Path) -> None:
    """A team's backend class is reached through its own URI scheme."""
    seen: list[Any] = []

    class Team(BackendBase):
        def __init__(self, uri: str) -> None:
            seen.append(uri)

    register_backend("teamtrack", Team)
    with CustomTracker(project="p", store="teamtrack://server/x"):
        pass
    assert seen == ["teamtrack://server/x"]


def test_an_unknown_scheme_is_a_clear_error() -> None:
    """A URI nobody handles fails at start, naming the known schemes."""
    with pytest.raises(Exception, match="no backend for nope://"):
        CustomTracker(project="p", store="nope://x").start()


def test_tables_and_texts_land_per_step(store: Store) -> None:
    """log_table / log_text: rows per step, values converted, long texts cut, secrets
    redacted, and a hostile entry skipped without stopping the run."""
    from tracker.tables import MAX_TEXT

    with CustomTracker(project="p") as run:
        run.log_metrics({"loss": 1.0}, step=5)
        run.log_table(
            "eval/generations",
            [
                {"prompt": "2+2", "completion": "4", "score": 1.0, "ok": True},
                {"prompt": ["a", {"role": "user"}], "completion": "x" * (MAX_TEXT + 10)},
                {"prompt": "key", "completion": "my token is hf_" + "a" * 34},
                "not a row",
            ],
        )
        run.log_text("eval/sample", "Once upon a time", step=7)
    rows = store.table_rows(run.run_id, "eval/generations")
    assert [r["step"] for r in rows] == [5, 5, 5]
    assert rows[0] == {"step": 5, "prompt": "2+2", "completion": "4", "score": 1.0, "ok": True}
    assert rows[1]["prompt"] == '["a", {"role": "user"}]'
    assert rows[1]["completion"].endswith("… [10 more characters]")
    assert "a" * 34 not in rows[2]["completion"]
    assert store.table_rows(run.run_id, "eval/sample") == [{"step": 7, "text": "Once upon a time"}]
    assert store.table_keys(run.run_id) == ["eval/generations", "eval/sample"]


def test_the_summary_holds_each_metrics_last_value_at_the_end(store: Store) -> None:
    """As W&B's ``run.summary``: the run's end writes every metric's last value into the
    summary, where ``log_summary`` gave no value of that name (a best loss stays)."""
    with CustomTracker(project="p") as run:
        for step in range(3):
            run.log_metrics({"train/loss": 3.0 - step, "eval/loss": 10.0 + step}, step=step)
        run.log_summary({"eval/loss": 0.5, "train/runtime": 9.0})
        run.log_metrics({"eval/accuracy": 0.25}, step=1)
    summary = store.get_run(run.run_id).summary
    assert summary == {
        "train/loss": 1.0, "eval/loss": 0.5, "eval/accuracy": 0.25, "train/runtime": 9.0
    }  # fmt: skip
