"""Host metrics through the real psutil."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from tracker.system.host import MIN_CPU_INTERVAL_S, HostSource


def test_host_values_are_real(tmp_path: Path) -> None:
    """CPU, memory and disk usage come from this machine and are in range."""
    source = HostSource(tmp_path)
    time.sleep(MIN_CPU_INTERVAL_S)
    values = source.sample()
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


def test_back_to_back_samples_never_read_an_impossible_cpu_percent(tmp_path: Path) -> None:
    """Samples taken back to back while the process is busy (the sampler's first ones right
    after start) give no CPU percent over an interval too short to measure, and none above
    100 % times the cores the process may use."""
    cores = len(psutil.Process().cpu_affinity() or ())
    source = HostSource(tmp_path)
    seen: list[float] = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # busy: CPU-time ticks land between two samples
        value = source.sample().get("cpu/process_percent")
        if value is not None:
            seen.append(value)
    assert seen, "no CPU percent at all in a second of sampling"
    assert max(seen) <= 100 * cores, sorted(seen)[-5:]
    assert len(seen) <= 1.0 / MIN_CPU_INTERVAL_S + 1  # none over a too short interval
