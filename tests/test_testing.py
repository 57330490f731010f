"""The shipped test double: tracker.testing.recording()."""

from __future__ import annotations

from tracker import CustomTracker
from tracker.testing import recording


def test_recording_captures_runs_in_memory(tracker_dir) -> None:  # type: ignore[no-untyped-def]
    """Runs started inside recording() are readable from the store it yields, not on disk."""
    with recording() as store:
        with CustomTracker(project="t") as run:
            run.log_metrics({"train/loss": 1.0}, step=3)
        assert [r.run_id for r in store.runs()] == [run.run_id]
        assert store.history(run.run_id, "train/loss")[0][:2] == (3, 1.0)
    assert not (tracker_dir / "tracker.db").exists()
