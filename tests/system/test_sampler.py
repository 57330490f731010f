"""The sampler thread: timing, last sample, and failures that never reach the run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest

from tracker.system.sampler import Point, Sampler


class Counting:
    """A source that counts its samples."""

    name = "counting"

    def __init__(self) -> None:
        self.n = 0
        self.closed = False

    def sample(self) -> dict[str, float]:
        self.n += 1
        return {"count": self.n}

    def close(self) -> None:
        self.closed = True


class Broken:
    """A source that always fails."""

    name = "broken"

    def sample(self) -> dict[str, float]:
        raise OSError("sensor unplugged")

    def close(self) -> None:
        raise OSError("still unplugged")


def _wait_for(done: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``done`` until it holds (a loaded machine may run the sampler late)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the sampler made too few points in time"
        time.sleep(0.01)


def test_samples_every_interval_and_once_more_at_stop() -> None:
    """Points arrive each interval under the prefix with the current step; stop adds a
    last one and closes the sources."""
    points: list[Point] = []
    source = Counting()
    sampler = Sampler(points.append, interval=0.05, open_sources=lambda: [source], step=lambda: 7)
    sampler.start()
    _wait_for(lambda: len(points) >= 3)
    sampler.stop()
    assert len(points) >= 4  # three each interval, one more at stop
    assert [p[2]["system/count"] for p in points] == list(range(1, len(points) + 1))
    assert {p[0] for p in points} == {7}
    assert source.closed
    assert not any(t.name == "tracker-system" for t in threading.enumerate())


def test_a_failing_source_is_logged_once_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A source that raises is warned about once, without a traceback; the other sources'
    values still arrive and the thread keeps running."""
    points: list[Point] = []
    sampler = Sampler(
        points.append, interval=0.02, open_sources=lambda: [Broken(), Counting()], step=lambda: 0
    )
    with caplog.at_level(logging.DEBUG, "tracker"):
        sampler.start()
        _wait_for(lambda: len(points) >= 3)
        sampler.stop()
    assert len(points) >= 3
    assert all(set(p[2]) == {"system/count"} for p in points)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "broken" in warnings[0].getMessage()
    assert warnings[0].exc_info is None


def test_sources_that_cannot_open_end_sampling_quietly(caplog: pytest.LogCaptureFixture) -> None:
    """If opening the sources raises, sampling is off with one warning; nothing raises."""

    def cannot_open() -> list[Counting]:
        raise RuntimeError("no /proc")

    points: list[Point] = []
    sampler = Sampler(points.append, interval=0.01, open_sources=cannot_open, step=lambda: 0)
    sampler.start()
    sampler.stop()
    assert points == []
    assert "no /proc" in caplog.text


def test_a_failing_step_does_not_lose_the_sample() -> None:
    """If the step cannot be read the point is still queued, at step 0."""
    points: list[Point] = []

    def step() -> int:
        raise RuntimeError("no step")

    sampler = Sampler(points.append, interval=10, open_sources=lambda: [Counting()], step=step)
    sampler.start()
    sampler.stop()
    assert [p[0] for p in points] == [0, 0]
