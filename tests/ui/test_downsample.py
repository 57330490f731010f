"""LTTB thinning of long curves: size, ends, and shape kept."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")

from tracker.ui.downsample import lttb  # noqa: E402


def test_lttb_keeps_the_ends_and_the_requested_count() -> None:
    """N points in, the first and last kept, exactly ``points`` indices, increasing."""
    x = np.arange(10_000, dtype=np.float64)
    keep = lttb(x, np.sin(x / 100), 300)
    assert len(keep) == 300
    assert keep[0] == 0 and keep[-1] == 9_999
    assert (np.diff(keep) > 0).all()


def test_lttb_keeps_a_lone_spike() -> None:
    """A single outlier among flat points is chosen: the shape survives."""
    x = np.arange(100_000, dtype=np.float64)
    y = np.zeros_like(x)
    y[54_321] = 50.0
    keep = lttb(x, y, 100)
    assert 54_321 in keep


def test_short_series_are_left_whole() -> None:
    """Fewer points than asked for, or fewer than 3 asked, keeps every point."""
    x = np.arange(10, dtype=np.float64)
    assert list(lttb(x, x, 50)) == list(range(10))
    assert list(lttb(x, x, 2)) == list(range(10))


@pytest.mark.parametrize("spike", [1, 50_000, 99_999, 100_001])
def test_lttb_keeps_a_spike_anywhere_in_a_long_series(spike: int) -> None:
    """Long series are cut to each slice's extremes first: a spike in the first slice,
    the middle, or the short last slice survives both steps."""
    x = np.arange(100_003, dtype=np.float64)
    y = np.zeros_like(x)
    y[spike] = -50.0 if spike % 2 else 50.0
    keep = lttb(x, y, 300)
    assert spike in keep and len(keep) == 300
