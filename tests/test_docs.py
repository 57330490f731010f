"""The docs name every setting there is."""

from __future__ import annotations

from pathlib import Path

from tracker.settings import TrackerSettings

DOCS = Path(__file__).resolve().parents[1] / "docs"
LAUNCHER_FIELDS = {"rank", "local_rank", "world_size", "local_world_size", "cuda_visible_devices"}


def test_every_setting_is_documented() -> None:
    """docs/settings.md has a row for each TRACKER_ variable of TrackerSettings."""
    text = (DOCS / "settings.md").read_text()
    missing = [
        f"TRACKER_{name.upper()}"
        for name in TrackerSettings.fields()
        if name not in LAUNCHER_FIELDS and f"`TRACKER_{name.upper()}`" not in text
    ]
    assert not missing, f"undocumented settings: {missing}"
