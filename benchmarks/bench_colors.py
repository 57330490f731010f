"""Run colours benchmark: what ranking a project's runs by start time (`color_ranks`, the
``color`` of the dashboard's run rows) adds to a workspace request.

A SQLite store with one project of N runs (200, 1,000, 5,000; configs as `bench_ui.py`
writes them, no metrics: ranking reads run records only), filled through the store API
(not timed). Timed: `color_ranks` for the workspace's 100 newest runs, the first call (the
project ranked) and then the median of 7 (its ranks kept, checked by a count and one
row), and for comparison reading those 100 runs (`Store.runs`), which every workspace
request does.

Run: ``python benchmarks/bench_colors.py [--runs 200 1000 5000]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tracker import open_store
from tracker.records import RunRecord
from tracker.store.base import RunQuery, Store
from tracker.ui.colors import color_ranks


def fill(store: Store, count: int) -> None:
    """``count`` finished runs of project ``p``, a second apart."""
    now = time.time()
    for i in range(count):
        record = RunRecord(f"r{i:09d}", "p", f"run-{i}", started_at=now - i)
        record.config = {"lr": 1e-4 * (1 + i % 5), "model": {"layers": 2 + i % 3}}
        store.start_run(record, resume=False)
        store.finish_run(record.run_id, "finished", now - i + 60, None)


def timings_ms(store: Store, shown: list[RunRecord], repeat: int = 7) -> tuple[float, float]:
    """`color_ranks` of ``shown``: the first call (the project ranked), then the median of
    ``repeat`` (its ranks kept)."""
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        color_ranks(store, shown)
        times.append((time.perf_counter() - start) * 1000)
    return times[0], statistics.median(times[1:])


def reading_ms(store: Store, repeat: int = 7) -> float:
    """Reading the workspace's 100 newest runs, median of ``repeat``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        store.runs(RunQuery(project="p", limit=100))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[200, 1_000, 5_000])
    args = parser.parse_args()
    for count in args.runs:
        with tempfile.TemporaryDirectory() as folder:
            store = open_store(f"sqlite:///{Path(folder) / 'runs.db'}")
            fill(store, count)
            cold, warm = timings_ms(store, store.runs(RunQuery(project="p", limit=100)))
            print(
                f"{count:>6} runs: color_ranks first {cold:6.1f} ms, then {warm:5.2f} ms;"
                f" reading 100 runs {reading_ms(store):5.2f} ms"
            )
            store.close()


if __name__ == "__main__":
    main()
