"""``tracker import tensorboard``: event files written by torch's SummaryWriter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from checks import counts, expected, f32, only_run, points, same

from conftest import Produce
from tracked_runs import Cli
from tracker import open_store
from tracker.store import Store
from workers import default_sigint


def test_runs_import_with_values_steps_hparams_and_text(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """Two runs of a folder: scalars (NaN and inf kept), hparams as config, text as events,
    names mapped into the scheme; start and end from the events."""
    logs = tmp_path / "runs"
    produce("tensorboard", logs, "a", 6)
    produce("tensorboard", logs, "b", 4)
    result = cli("import", "tensorboard", str(logs))
    assert result.code == 0, result.err
    assert "2 runs read (2 new)" in result.out
    run = only_run(store, "tensorboard", "a")
    assert run.project == "runs" and run.status == "finished"
    assert run.config == {"lr": pytest.approx(0.1), "optimizer": "adam"}
    assert 0 < run.started_at <= (run.ended_at or 0) < time.time()
    for key, want in expected(6, single=True).items():
        assert same(points(store, run, key), want), key
    assert [(e.kind, e.step, e.payload["text"]) for e in store.events(run.run_id)] == [
        ("text", 0, "tiny run")
    ]
    assert run.environment["imported"]["tool"] == "tensorboard"
    times = [t for _s, _v, t in store.history(run.run_id, "train/loss", raw=True)]
    assert times == sorted(times) and times[0] >= run.started_at


def test_a_second_import_adds_nothing_and_a_grown_run_only_its_new_points(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """Import twice: nothing new; the run logs more (a new writer in its folder): only
    the new points are added."""
    logs = tmp_path / "runs"
    produce("tensorboard", logs, "a", 5)
    assert cli("import", "tensorboard", str(logs)).code == 0
    before = counts(store)
    again = cli("import", "tensorboard", str(logs))
    assert again.code == 0 and "0 written" in again.out
    assert counts(store) == before
    produce("tensorboard", logs, "a", 3, "5")  # steps 5, 6, 7
    grown = cli("import", "tensorboard", str(logs))
    assert grown.code == 0 and "6 written" in grown.out, grown.out
    run = only_run(store, "tensorboard", "a")
    assert [s for s, _v in points(store, run, "train/loss")] == list(range(8))


def test_keep_names_project_and_dry_run(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """--dry-run writes nothing; --keep-names keeps the tags; --project sets the project."""
    logs = tmp_path / "runs"
    produce("tensorboard", logs, "a", 3)
    dry = cli("import", "tensorboard", str(logs), "--dry-run")
    assert (
        dry.code == 0 and "would write 7" in dry.out
    )  # 3 steps of 2 metrics, and the hparams metric
    assert store.runs() == []
    assert cli("import", "tensorboard", str(logs), "--keep-names", "--project", "old").code == 0
    run = only_run(store, "tensorboard", "a")
    assert run.project == "old"
    assert set(store.keys(run.run_id)) == {"loss", "eval_acc", "hparam/best"}


def test_a_truncated_file_keeps_its_points_and_the_other_runs(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """A run whose event file is damaged in the middle (a byte changed: its record fails
    the CRC) and another cut short in its last record: the records before are imported and
    the report says where each stopped; the third run is imported whole."""
    logs = tmp_path / "runs"
    produce("tensorboard", logs, "cut", 50)
    produce("tensorboard", logs, "short", 50)
    produce("tensorboard", logs, "whole", 5)
    (events,) = (logs / "cut").glob("*tfevents*")
    data = bytearray(events.read_bytes())
    data[len(data) // 2] ^= 0xFF
    events.write_bytes(bytes(data))
    (short,) = (logs / "short").glob("*tfevents*")
    with short.open("r+b") as handle:
        handle.truncate(short.stat().st_size - 10)
    result = cli("import", "tensorboard", str(logs))
    assert result.code == 0, result.err
    assert result.err.count("truncated or damaged") == 2, result.err
    # imported up to the damage: not skipped, and said so
    assert "3 runs read (3 new)" in result.out and "; 0 skipped, 2 read up to damage" in result.out
    assert "skipped" not in result.err and result.err.count("read up to damage cut") == 1
    assert len(points(store, only_run(store, "tensorboard", "short"), "train/loss")) in (49, 50)
    cut = only_run(store, "tensorboard", "cut")
    loss = points(store, cut, "train/loss")
    assert 0 < len(loss) < 50
    assert same(loss, expected(50, single=True)["train/loss"][: len(loss)])
    assert len(points(store, only_run(store, "tensorboard", "whole"), "train/loss")) == 5


def test_a_folder_without_runs_or_a_missing_one_is_an_error(cli: Cli, tmp_path: Path) -> None:
    """Nothing could be read: a clear message and exit status 1."""
    (tmp_path / "empty").mkdir()
    empty = cli("import", "tensorboard", str(tmp_path / "empty"))
    assert empty.code == 1 and "no tensorboard runs found" in empty.err
    missing = cli("import", "tensorboard", str(tmp_path / "nowhere"))
    assert missing.code == 1 and "no such file or folder" in missing.err


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_an_import_stopped_in_the_middle_then_run_again_has_every_point_once(
    stop: signal.Signals, tmp_path: Path, tracker_dir: Path
) -> None:
    """SIGKILL or Ctrl-C while points are being written (some runs in, some not), run
    again: every point of every run is there exactly once."""
    from torch.utils.tensorboard import SummaryWriter

    logs = tmp_path / "runs"
    steps = 40_000  # two batches a run
    for name in ("r0", "r1", "r2"):
        writer = SummaryWriter(str(logs / name))
        for step in range(steps):
            writer.add_scalar("loss", float(step), step)
        writer.close()
    command = [sys.executable, "-m", "tracker.cli", "import", "tensorboard", str(logs)]
    env = {**os.environ, "TRACKER_DIR": str(tracker_dir)}
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        preexec_fn=default_sigint,  # noqa: PLW1509
    )
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        if not (tracker_dir / "tracker.db").exists():
            continue
        reader = open_store()
        written = sum(sum(c.values()) for c in counts(reader).values())
        reader.close()
        if written >= steps // 2:
            break
    process.send_signal(stop)
    process.wait(timeout=60)
    assert 0 < written < 3 * steps, "the kill should land in the middle"
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    store = open_store()
    for run in store.runs():
        stored = points(store, run, "train/loss")
        assert stored == [(s, float(s)) for s in range(steps)], run.name
    assert len(store.runs()) == 3
    store.close()


def test_a_trainer_run_imports_as_the_native_run_of_the_same_training(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """A real `Trainer(report_to="tensorboard")` run, recorded natively beside: imported,
    it has the native run's curves, its end-of-phase figures in the summary
    (``train/runtime``, not a ``train/train_runtime`` curve) with the same values, and its
    arguments and model config in the config, where the native run has them; each curve
    counts the points its history returns."""
    logs = tmp_path / "runs"
    produce("trainer", logs, "hf", 6)
    assert cli("import", "tensorboard", str(logs)).code == 0
    imported = only_run(store, "tensorboard", "hf")
    (native,) = store.runs(project="native")
    curves = {k for k in store.keys(native.run_id) if not k.startswith("system/")}
    assert set(store.keys(imported.run_id)) == curves
    for key in curves:
        want = [(s, f32(v)) for s, v, _t in store.history(native.run_id, key)]
        assert same([(s, v) for s, v, _t in store.history(imported.run_id, key)], want), key
    assert "train/runtime" in imported.summary and "train/mean_loss" in imported.summary
    assert "eval/loss" in imported.summary and "eval/loss" in native.summary  # last values
    for run in (native, imported):  # one count: the Trainer logs epoch with each log
        stats = store.metric_stats(run.run_id)
        for key in curves:
            assert stats[key].count == len(store.history(run.run_id, key)), (run.name, key)
    assert stats["train/epoch"].count == 6
    shown = [ln.split() for ln in cli("show", imported.run_id).out.splitlines()]
    (epoch,) = [row for row in shown if row[:1] == ["train/epoch"] and len(row) == 6]
    assert epoch[-1] == "6"  # the metrics table's POINTS
    for key, value in imported.summary.items():
        assert value == f32(native.summary[key]), key
    assert imported.config["args"] == native.config["args"]
    model, written = native.config["model"], imported.config["model"]
    # transformers writes the config's differences from the defaults, and its type
    same_keys = written.keys() - {"model_type", "transformers_version"}
    assert {k: written[k] for k in same_keys} == {k: model[k] for k in same_keys}
    assert written["hidden_size"] == 16 and written["model_type"] == "llama"
    assert [e for e in store.events(imported.run_id) if e.kind == "text"] == []


def test_names_with_a_section_of_their_own_keep_it(cli: Cli, tmp_path: Path, store: Store) -> None:
    """TensorBoard's own way of naming (``Loss/train``, ``add_hparams``' ``hparam/...``)
    is kept; plain names are mapped as the adapters map them."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "runs" / "own"))
    for step in range(3):
        writer.add_scalar("Loss/train", 1.0, step)
        writer.add_scalar("Accuracy/test", 0.5, step)
        writer.add_scalar("eval_loss", 2.0, step)
    writer.add_hparams({"lr": 0.1}, {"hparam/final_loss": 0.25})
    writer.close()
    assert cli("import", "tensorboard", str(tmp_path / "runs")).code == 0
    run = only_run(store, "tensorboard", "own")
    assert set(store.keys(run.run_id)) == {
        "Loss/train", "Accuracy/test", "eval/loss", "hparam/final_loss"
    }  # fmt: skip
