"""Host metrics through the real psutil."""

from __future__ import annotations

import time
from pathlib import Path

from tracker.system.host import HostSource


def test_host_values_are_real(tmp_path: Path) -> None:
    """CPU, memory and disk usage come from this machine and are in range."""
    values = HostSource(tmp_path).sample()
    assert 0 <= values["cpu/percent"] <= 100
    assert values["cpu/process_percent"] >= 0
    assert 0 < values["memory/process_rss_bytes"] < values["memory/total_bytes"]
    assert 0 < values["memory/used_bytes"] <= values["memory/total_bytes"]
    assert 0 < values["memory/percent"] <= 100
    assert 0 <= values["disk/used_percent"] <= 100


def test_throughput_is_a_rate_from_the_second_sample(tmp_path: Path) -> None:
    """Disk and network counters give bytes per second since the previous sample, so the
    first sample has none and the second has non-negative rates."""
    source = HostSource(tmp_path)
    first = source.sample()
    (tmp_path / "blob").write_bytes(b"x" * 1_000_000)
    time.sleep(0.05)
    second = source.sample()
    rates = [key for key in second if key.endswith("_bytes_per_second")]
    assert not [key for key in first if key.endswith("_bytes_per_second")]
    assert rates, "psutil reports neither disk nor network counters here"
    assert all(second[key] >= 0 for key in rates)
