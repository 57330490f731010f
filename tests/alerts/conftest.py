"""Fixtures of the alert tests: a webhook receiver on 127.0.0.1, processes to watch."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from alert_kit import Receiver, Scene, serve  # noqa: E402

from tracker.store import Store  # noqa: E402


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A webhook receiver started for this test (no proxy between it and the test)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with serve() as got:
        yield got


@pytest.fixture
def env(tracker_dir: Path, receiver: Receiver) -> dict[str, str]:
    """The environment of the training and watching processes: fast heartbeats, the hook."""
    return {
        **os.environ,
        "TRACKER_DIR": str(tracker_dir),
        "TRACKER_SYSTEM_INTERVAL": "0",
        "TRACKER_HEARTBEAT_INTERVAL": "0.1",
        "TRACKER_FLUSH_INTERVAL": "0.1",
        "TRACKER_ALERT_WEBHOOKS": f"{receiver.url}/hook",
    }


@pytest.fixture
def scene(env: dict[str, str], store: Store, receiver: Receiver) -> Iterator[Scene]:
    """A scene for this test; its processes are killed at the end."""
    made = Scene(env, store, receiver, [])
    yield made
    for process in made.processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)
