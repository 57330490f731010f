"""Fixtures shared by every test: an isolated store per test, offline Hugging Face."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def tracker_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh TRACKER_DIR (and no TRACKER_URI) for this test; its store is tracker.db.

    System sampling is off unless a test sets TRACKER_SYSTEM_INTERVAL itself."""
    directory = tmp_path / "tracker-store"
    monkeypatch.setenv("TRACKER_DIR", str(directory))
    monkeypatch.delenv("TRACKER_URI", raising=False)
    monkeypatch.setenv("TRACKER_FLUSH_INTERVAL", "0.05")
    monkeypatch.setenv("TRACKER_SYSTEM_INTERVAL", "0")  # tests of system metrics turn it on
    return directory


@pytest.fixture
def store(tracker_dir: Path):  # type: ignore[no-untyped-def]
    """The default store of this test's TRACKER_DIR, opened for reading."""
    from tracker import open_store

    opened = open_store()
    yield opened
    opened.close()
