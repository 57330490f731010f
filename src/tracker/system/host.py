"""Host metrics through psutil: CPU, process and system memory, disk and network rates."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

__all__ = ["HostSource"]

MIN_CPU_INTERVAL_S = 0.1
"""The shortest interval a CPU percentage is measured over. The kernel counts a process's
CPU time in ticks of 10 ms: over a shorter interval one tick more or less reads as
thousands of percent (1,571 % on a 2-core machine between two back-to-back readings)."""


class HostSource:
    """CPU percent, memory, disk usage, and disk and network throughput as rates.

    Rates are bytes per second since the previous sample, so the first sample has none.
    CPU percentages are measured since the previous reading of at least
    `MIN_CPU_INTERVAL_S` ago (a sample sooner has none), and the process's is at most
    100 times the cores it may run on.
    ``disk_path`` is the folder whose filesystem's usage is reported (the run's store).
    """

    name = "host"

    def __init__(self, disk_path: Path | None = None) -> None:
        self._process = psutil.Process(os.getpid())
        self._disk_path = str(disk_path) if disk_path is not None else os.getcwd()
        self._last: dict[str, float] = {}
        self._last_time = 0.0
        psutil.cpu_percent(interval=None)  # the first reading of both is meaningless:
        self._process.cpu_percent(interval=None)  # prime them so the first sample is not 0
        self._cpu_since = time.monotonic()

    def sample(self) -> dict[str, float]:
        """One reading; each part on its own so a missing counter loses only itself."""
        out: dict[str, float] = {}
        parts = (self._cpu, self._memory, self._disk_usage, self._counters)
        for part in parts:
            try:
                out.update(part())
            except (OSError, psutil.Error, AttributeError, ValueError):
                continue
        return out

    def close(self) -> None:
        """Nothing to release."""

    def _cpu(self) -> dict[str, float]:
        now = time.monotonic()
        if now - self._cpu_since < MIN_CPU_INTERVAL_S:
            return {}  # too soon to measure: the next sample covers this interval too
        self._cpu_since = now
        process = self._process.cpu_percent(interval=None)
        return {
            "cpu/percent": psutil.cpu_percent(interval=None),  # a share of all cores: <= 100
            "cpu/process_percent": min(process, 100.0 * _usable_cores(self._process)),
        }

    def _memory(self) -> dict[str, float]:
        memory = psutil.virtual_memory()
        return {
            "memory/process_rss_bytes": float(self._process.memory_info().rss),
            "memory/used_bytes": float(memory.total - memory.available),
            "memory/total_bytes": float(memory.total),
            "memory/percent": memory.percent,
        }

    def _disk_usage(self) -> dict[str, float]:
        return {"disk/used_percent": psutil.disk_usage(self._disk_path).percent}

    def _counters(self) -> dict[str, float]:
        now = time.monotonic()
        current: dict[str, float] = {}
        disk = psutil.disk_io_counters()
        if disk is not None:
            current["disk/read_bytes_per_second"] = disk.read_bytes
            current["disk/write_bytes_per_second"] = disk.write_bytes
        net = psutil.net_io_counters()
        if net is not None:
            current["network/sent_bytes_per_second"] = net.bytes_sent
            current["network/recv_bytes_per_second"] = net.bytes_recv
        last, elapsed = self._last, now - self._last_time
        self._last, self._last_time = current, now
        if not last or elapsed <= 0:
            return {}
        return {
            key: max(0.0, value - last[key]) / elapsed
            for key, value in current.items()
            if key in last
        }


def _usable_cores(process: psutil.Process) -> int:
    """How many cores the process may run on: its CPU affinity where the platform has
    one, else every logical core."""
    try:
        return max(1, len(process.cpu_affinity() or ()))
    except (AttributeError, OSError, psutil.Error):  # no affinity on macOS
        return max(1, psutil.cpu_count() or 1)
