"""Secrets planted everywhere a run records them never reach the store's file.

Each test runs a real `CustomTracker` into the SQLite store of its own TRACKER_DIR, then
reads the raw bytes of every file the store left (the database, its WAL) and looks for
each planted secret. The provider prefixes (``hf_``) are kept on purpose, so what is
looked for is the part after them (`secret_shapes.SHAPES`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from secret_shapes import SHAPES
from tracker import CustomTracker
from tracker.store import Store
from tracker.values import REDACTED

# Under keys that name a credential: any value, so each is a unique marker.
BY_KEY = {
    "hub_token": "plant-hub-token-11",
    "passphrase": "plant-passphrase-12",
    "access_key": "plant-access-key-13",
    "secret_access_key": "plant-secret-access-key-14",
    "api_key": "plant-api-key-15",
    "password": "plant-password-16",
    "private_key": "plant-private-key-17",
    "session_cookie": "plant-cookie-18",
}
NESTED = {
    "wandb": {"key": "plant-wandb-key-21", "project": "kept"},
    "db": {"password": "plant-db-password-22", "host": "kept"},
    "auth_token": {"value": "plant-dict-valued-23"},
    "credentials": {"user": "plant-credentials-user-24", "blob": ["plant-credentials-25"]},
}
INNOCENT = {  # what must survive, next to the secrets
    "pad_token": "<pad>",
    "eos_token": "</s>",
    "max_new_tokens": 512,
    "num_input_tokens_seen": 1000,
    "model": "meta-llama/Llama-3.1-8B-Instruct",
}


def _by_shape(prefix: str) -> dict[str, str]:
    """Every shape under an innocent key, alone or inside a longer string."""
    values = {f"{prefix}_{name}": secret for name, (secret, _) in SHAPES.items()}
    values.update({f"{prefix}_{name}_in_text": f"see {s} here" for name, (s, _) in SHAPES.items()})
    return values


def _planted() -> list[str]:
    markers = [*BY_KEY.values(), *(part for _, part in SHAPES.values())]
    markers += ["plant-wandb-key-21", "plant-db-password-22", "plant-dict-valued-23"]
    return [*markers, "plant-credentials-user-24", "plant-credentials-25"]


def _leaks(tracker_dir: Path, secrets: list[str]) -> list[str]:
    """The secrets found in the raw bytes of the store's files (database, WAL, ...)."""
    files = [p for p in tracker_dir.rglob("*") if p.is_file()]
    assert any(p.name == "tracker.db" for p in files), files
    raw = b"".join(p.read_bytes() for p in files)
    return [s for s in secrets if s.encode() in raw]


def test_config_secrets_never_reach_the_store(tracker_dir: Path, store: Store) -> None:
    """By key (flat, nested, dict-valued) and by value shape under innocent keys."""
    config: dict[str, Any] = {**BY_KEY, **NESTED, **INNOCENT, **_by_shape("note")}
    with CustomTracker(project="p", config={"early": _by_shape("early")}) as run:
        run.log_config(config)
    assert _leaks(tracker_dir, _planted()) == []
    stored = store.get_run(run.run_id).config
    assert {k: stored[k] for k in INNOCENT} == INNOCENT
    assert stored["hub_token"] == REDACTED and stored["auth_token"] == REDACTED
    assert stored["wandb"] == {"key": REDACTED, "project": "kept"}
    assert stored["note_huggingface_in_text"] == f"see hf_{REDACTED} here"


def test_command_line_secrets_never_reach_the_store(
    tracker_dir: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--flag VALUE, --flag=VALUE, name=VALUE and shapes anywhere in argv are redacted."""
    argv = ["train.py", "--hub_token", BY_KEY["hub_token"], f"--api-key={BY_KEY['api_key']}"]
    argv += ["--password", BY_KEY["password"], f"passphrase={BY_KEY['passphrase']}"]
    argv += [f"--note={secret}" for secret, _ in SHAPES.values()]
    monkeypatch.setattr(sys, "argv", [*argv, "--pad_token", "<pad>"])
    with CustomTracker(project="p") as run:
        pass
    assert _leaks(tracker_dir, _planted()) == []
    command = store.get_run(run.run_id).environment["command"]
    assert command[1:4] == ["train.py", "--hub_token", REDACTED] and command[-1] == "<pad>"


def test_summary_secrets_never_reach_the_store(tracker_dir: Path, store: Store) -> None:
    """log_summary is redacted like the config (needs run.py to call redact)."""
    with CustomTracker(project="p") as run:
        run.log_summary({**BY_KEY, **NESTED, **INNOCENT, **_by_shape("note")})
    assert _leaks(tracker_dir, _planted()) == []
    stored = store.get_run(run.run_id).summary
    assert {k: stored[k] for k in INNOCENT} == INNOCENT


def test_event_payload_secrets_never_reach_the_store(tracker_dir: Path, store: Store) -> None:
    """log_event payloads are redacted (needs run.py to call redact)."""
    with CustomTracker(project="p") as run:
        run.log_event("checkpoint", {**BY_KEY, **NESTED, **_by_shape("note")}, step=1)
        run.log_event("note", {"text": "uploaded with " + SHAPES["github"][0]})
    assert _leaks(tracker_dir, _planted()) == []
    assert [e.kind for e in store.events(run.run_id)][-2:] == ["checkpoint", "note"]


def test_string_metric_values_never_reach_the_store(tracker_dir: Path, store: Store) -> None:
    """A string logged as a metric goes to the summary redacted (needs run.py)."""
    with CustomTracker(project="p") as run:
        run.log_metrics({"loss": 1.0, **_by_shape("status")}, step=0)
        run.log_metrics({"loss": 0.5, "hub_token": BY_KEY["hub_token"]}, step=1)
    assert _leaks(tracker_dir, _planted()) == []
    assert [v for _, v, _ in store.history(run.run_id, "loss")] == [1.0, 0.5]


def test_names_tags_metric_names_and_artifacts_never_reach_the_store(
    tracker_dir: Path, store: Store, tmp_path: Path
) -> None:
    """The run name, tags, metric names (also an artifact's metrics' keys), an artifact's
    name and uri, and a uri whose password holds "/" (config and artifact)."""
    slashed = "s3://user:pa/ssW0rdX-plant-31@host/y"
    checkpoint = tmp_path / "checkpoint-5"
    checkpoint.mkdir()
    (checkpoint / "w.bin").write_bytes(b"w")
    name, tag = SHAPES["huggingface"][0], SHAPES["github"][0]
    with CustomTracker(project="p", run_name=f"sft {name}", tags=[tag]) as run:
        run.log_config({"bucket": slashed})
        run.log_metrics({f"eval/{SHAPES['openai'][0]}": 1.0, "loss": 2.0}, step=5)
        run.log_artifact(SHAPES["uri"][0], kind="model")
        run.log_artifact(slashed, kind="model", name=f"copy {SHAPES['aws'][0]}")
        run.log_artifact(checkpoint, metrics={f"m/{SHAPES['slack'][0]}": 1.0})
    assert _leaks(tracker_dir, [*_planted(), "ssW0rdX-plant-31"]) == []
    assert store.get_run(run.run_id).config["bucket"] == "s3://user:***@host/y"
    assert {a.uri for a in store.artifacts(run_id=run.run_id, kind="model")} == {
        "postgresql://trainer@db.internal:5432/runs",
        "s3://user@host/y",
    }
