"""What `capture` records about the process: complete, storable, and without secrets."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tracker.distributed import ProcessInfo
from tracker.environment import capture
from tracker.settings import TrackerSettings
from tracker.values import REDACTED, Redactor, redact_argv

HF = "hf_" + "CaptureTokenCaptureToken0123456789"


def test_the_command_line_is_stored_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """--hub_token X, --api-key=Y, --password Z, name=value and tokens anywhere are masked
    (the rules themselves: tests/test_values.py)."""
    argv = ["train.py", "--hub_token", "plant-1", "--api-key=plant-2", "--password", "plant-3"]
    monkeypatch.setattr(sys, "argv", [*argv, "--lr", "1e-4", "hub_token=plant-4", f"--note={HF}"])
    env = capture(ProcessInfo())
    assert env["command"] == [sys.executable, *redact_argv(sys.argv)]
    assert env["command"][1:4] == ["train.py", "--hub_token", REDACTED]
    text = json.dumps(env)
    assert [s for s in ("plant-1", "plant-2", "plant-3", "plant-4", HF[3:]) if s in text] == []


def test_non_utf8_arguments_are_stored_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    """An argument decoded from bytes that are not UTF-8 is kept, escaped, and encodes."""
    monkeypatch.setattr(sys, "argv", ["train.py", os.fsdecode(b"--out=/data/\xff")])
    env = capture(ProcessInfo(rank=0, world_size=1))
    assert env["command"][-1] == "--out=/data/\\udcff"
    json.dumps(env).encode("utf-8")


def test_user_patterns_and_turning_redaction_off_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's redactor decides: user patterns are applied, TRACKER_REDACT=0 keeps all."""
    monkeypatch.setattr(sys, "argv", ["train.py", "--tag", "acme-1234", "--hub_token", "X"])
    mine = Redactor.from_settings(TrackerSettings(redact_patterns=["acme-[0-9]+"]))
    assert capture(ProcessInfo(), mine)["command"][1:] == [
        "train.py",
        "--tag",
        REDACTED,
        "--hub_token",
        REDACTED,
    ]
    off = Redactor.from_settings(TrackerSettings(redact=False))
    assert capture(ProcessInfo(), off)["command"][1:] == sys.argv
