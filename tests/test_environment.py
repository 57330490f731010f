"""What `capture` records about the process: complete, storable, and without secrets."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tracker.distributed import ProcessInfo
from tracker.environment import capture
from tracker.settings import TrackerSettings
from tracker.values import REDACTED, Redactor

HF = "hf_" + "CaptureTokenCaptureToken0123456789"


def test_the_command_line_is_stored_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """--hub_token X, --api-key=Y, --password Z, name=value and tokens anywhere are masked."""
    argv = ["train.py", "--hub_token", "X1", "--api-key=Y2", "--password", "Z3", "--lr", "1e-4"]
    monkeypatch.setattr(sys, "argv", [*argv, "hub_token=W4", f"--note={HF}"])
    env = capture(ProcessInfo())
    assert env["command"][1:] == [
        "train.py",
        "--hub_token",
        REDACTED,
        f"--api-key={REDACTED}",
        "--password",
        REDACTED,
        "--lr",
        "1e-4",
        f"hub_token={REDACTED}",
        f"--note=hf_{REDACTED}",
    ]
    assert not {"X1", "Y2", "Z3", "W4", HF[3:]} & set(json.dumps(env).split('"'))


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
