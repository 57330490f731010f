"""What a user passes to the artifact calls reaches every built-in store whole: a folder
name that is not UTF-8 is stored (never a batch the store refuses), and a secret in a run
name, a tag, a metric name, an artifact's name or uri is stored redacted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tracker import CustomTracker, TrackerSettings, open_store
from tracker.calls import LogArtifact
from tracker.cli import main
from tracker.records import Artifact, RunRecord
from tracker.rescue import rescue
from tracker.store.registry import open_backend
from tracker.sync import TRIES, deliver_unsent, unsent_files

PLANTED = {  # a secret as a user would pass it, and the part of it never to be stored
    "hf": ("hf_" + "Pl4ntedHuggingFaceT0kenAbCdEfGhIj", "Pl4ntedHuggingFaceT0kenAbCdEfGhIj"),
    "uri": ("s3://user:s3cr3t-pl4nt@host/x", "s3cr3t-pl4nt"),
    "slashed": ("s3://user:pa/ssW0rdX-pl4nt@host/y", "ssW0rdX-pl4nt"),
    "github": ("ghp_" + "Gh9" * 12, "Gh9" * 12),
}


def _settings(folder: Path) -> TrackerSettings:
    return TrackerSettings(flush_interval=0.02, system_interval=0, dir=folder)


def _latin1(folder: Path, name: bytes) -> str:
    """A folder under ``folder`` whose name is ``name``'s bytes (not UTF-8), as Python
    names it (``os.fsdecode``: surrogates)."""
    path = os.fsdecode(os.path.join(os.fsencode(folder), name))
    os.makedirs(path)
    with open(os.path.join(path, "weights.bin"), "wb") as handle:
        handle.write(b"w" * 64)
    return path


def test_folder_names_that_are_not_utf8_are_stored(store_uri: str, tmp_path: Path) -> None:
    """log_artifact, use_artifact and a watched subfolder of a non-UTF-8 name: each version
    lands (its name and uri keep the bytes as ``\\udcXX`` escapes), nothing is left unsent."""
    home = tmp_path / "home"
    checkpoint = _latin1(tmp_path, b"ckpt-\xe9-7")
    model = _latin1(tmp_path, b"base-\xff")
    watched = tmp_path / "watched"
    watched.mkdir()
    with CustomTracker(project="p", store=store_uri, settings=_settings(home)) as run:
        run.use_artifact(model)
        run.watch_artifacts(watched, r"epoch_.*")
        run.log_metrics({"loss": 1.0}, step=1)
        run.log_artifact(checkpoint, step=1)
        _latin1(watched, b"epoch_\xe9")
        run.log_metrics({"loss": 0.5}, step=2)
        run.check_artifacts()  # what a Trainer does at each save: none is gone
    store = open_store(store_uri)
    try:
        found = {(a.direction, a.name, a.state) for a in store.artifacts(run_id=run.run_id)}
    finally:
        store.close()
    assert found == {
        ("input", "base-\\udcff", "present"),
        ("output", "ckpt-\\udce9", "present"),
        ("output", "epoch_\\udce9", "present"),
    }
    assert not (home / "unsent").exists() or list((home / "unsent").iterdir()) == []
    assert main(["artifacts", "verify", str(run.run_id), "--store", store_uri]) == 0


def _everything(store_uri: str, run_id: str) -> str:
    """All a store gives back about a run, as one text."""
    store = open_store(store_uri)
    try:
        parts: list[Any] = [store.get_run(run_id), store.keys(run_id)]
        parts += [store.artifacts(run_id=run_id), store.events(run_id)]
        parts += [store.history(run_id, key) for key in store.keys(run_id)]
    finally:
        store.close()
    return repr(parts)


def _raw(store_uri: str, request: pytest.FixtureRequest) -> str:
    """What the store keeps, as raw as it gets: the bytes of its files (SQLite's database
    and WAL, the JSON lines), every row of every PostgreSQL table as text; the memory
    store's contents as read back."""
    scheme, _, rest = store_uri.partition(":///")
    if scheme in ("sqlite", "jsonl"):
        root = Path("/" + rest.lstrip("/"))
        files = root.rglob("*") if scheme == "jsonl" else root.parent.glob(f"{root.name}*")
        return b"".join(p.read_bytes() for p in files if p.is_file()).decode(errors="replace")
    if store_uri.startswith("postgresql"):
        pg = request.getfixturevalue("pg")
        tables = pg.admin(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database="tracker"
        )
        rows = [
            pg.admin(f'SELECT t::text FROM "{name}" t', database="tracker") for (name,) in tables
        ]
        return repr(rows)
    return ""  # the memory store: what it gives back is all it holds


def test_secrets_in_names_tags_metrics_and_artifacts_are_redacted(
    store_uri: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The run name, tags, metric names (also as keys of an artifact's metrics), an
    artifact's name and uri, and config uris whose password holds a "/"."""
    hf, uri, slashed, github = (secret for secret, _ in PLANTED.values())
    checkpoint = tmp_path / "checkpoint-5"
    checkpoint.mkdir()
    (checkpoint / "w.bin").write_bytes(b"w")
    settings = _settings(tmp_path / "home")
    with CustomTracker(
        project="p", run_name=f"sft {hf}", tags=[github], store=store_uri, settings=settings
    ) as run:
        run.log_config({"bucket": slashed, "mirror": uri})
        run.log_metrics({f"eval/{github}": 1.0, "loss": 2.0}, step=5)
        run.log_artifact(uri, kind="model")
        run.log_artifact(slashed, kind="model", name=f"copy {hf}")
        run.log_artifact(checkpoint, metrics={f"m/{hf}": 1.0})
    text = _everything(store_uri, run.run_id)
    raw = _raw(store_uri, request)
    assert [part for _, part in PLANTED.values() if part in text + raw] == []
    assert run.run_id in raw or store_uri.startswith("memory")  # the raw read saw the run
    assert "s3://user:***@host/x" in text and "s3://user:***@host/y" in text
    assert "loss" in text and "checkpoint" in text


def test_an_undeliverable_rescue_file_is_moved_aside_after_three_tries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A rescue file an older version left with a name the store refuses (a lone
    surrogate): three deliveries fail, then it is moved to ``unsent/failed/`` with one
    warning naming it, and no later run finds it to deliver (or to warn about)."""
    unsent = tmp_path / "unsent"
    record = RunRecord("old", "p", "old", started_at=1.0, heartbeat_at=1.0)
    poisoned = Artifact("old", "ckpt-\udce9", uri="/x/ckpt-\\udce9-7", state="present")
    path = rescue(record, [LogArtifact(poisoned)], [unsent], "sqlite:///t.db")
    assert path is not None
    target = open_backend(f"sqlite:///{tmp_path / 't.db'}")
    try:
        target.start_run(record, resume=False)
        for _ in range(TRIES):
            assert deliver_unsent(unsent_files([unsent]), target).files == 0
    finally:
        target.close()
    assert unsent_files([unsent]) == []
    assert [p.name for p in (unsent / "failed").iterdir()] == ["old.jsonl"]
    moved = [r.getMessage() for r in caplog.records if "moved to" in r.getMessage()]
    assert len(moved) == 1 and str(unsent / "failed" / "old.jsonl") in moved[0]


_FIRST = """
import os, sys
from tracker import CustomTracker
folder = os.fsdecode(os.path.join(os.fsencode(sys.argv[1]), b"ckpt-\\xe9-7"))
os.makedirs(folder)
open(os.path.join(folder, "w.bin"), "wb").write(b"w")
with CustomTracker("p") as run:
    run.log_artifact(folder)
    run.use_artifact(folder)
"""
_LATER = """
import threading
from tracker import CustomTracker
with CustomTracker("p"):
    pass
for thread in threading.enumerate():  # the delivery of what earlier runs left, if any
    if thread.name == "tracker-unsent":
        thread.join(60)
"""


def test_a_later_run_in_another_process_has_nothing_to_warn_about(
    tracker_dir: Path, tmp_path: Path
) -> None:
    """The issue's scenario: a process logs a checkpoint folder whose name is not UTF-8;
    a later process on the same store delivers nothing and warns of nothing."""
    first = subprocess.run(
        [sys.executable, "-c", _FIRST, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert first.returncode == 0, first.stderr
    later = subprocess.run(
        [sys.executable, "-c", _LATER], capture_output=True, text=True, check=False
    )
    assert later.returncode == 0 and later.stderr == "", later.stderr
    store = open_store()
    try:
        assert {(a.direction, a.name) for a in store.artifacts(project="p")} == {
            ("input", "ckpt-\\udce9"),
            ("output", "ckpt-\\udce9"),
        }
    finally:
        store.close()
