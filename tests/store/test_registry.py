"""Backends found by URI scheme, including third-party entry points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tracker import CustomTracker
from tracker.store import registered_schemes

PLUGIN = """
from tracker import BackendBase

RUNS = []


class PluginBackend(BackendBase):
    def __init__(self, uri):
        self.uri = uri

    @classmethod
    def from_uri(cls, uri):
        return cls(uri)

    def start_run(self, run, *, resume):
        RUNS.append((self.uri, run.project))
"""


def test_a_plugin_declared_by_entry_point_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracker_dir: Path
) -> None:
    """An installed package's `tracker.backends` entry point serves its scheme."""
    (tmp_path / "team_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "team_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: team-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[tracker.backends]\nteamplug = team_plugin:PluginBackend\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "teamplug" in registered_schemes()
    with CustomTracker(project="via-plugin", store="teamplug://host/x"):
        pass
    assert sys.modules["team_plugin"].RUNS == [("teamplug://host/x", "via-plugin")]
