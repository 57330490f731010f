"""Tables benchmark: the caller's cost of `log_table` with 64 rows of 1 KB texts, and
reading one step's rows of a 100,000-row table (1,000 steps x 100 completions).

Prints the median and p99 of the caller-side cost (the training thread only copies the
rows; the writer converts and redacts them) next to the cost of copying the rows alone
(the floor), and the median time to read one step's 100 rows back through the store.
Run: ``python benchmarks/bench_tables.py [--steps N]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    """Run the benchmark and print its results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    from tracker import CustomTracker, TrackerSettings, open_store

    folder = Path(tempfile.mkdtemp())
    uri = f"sqlite:///{folder / 'tables.db'}"
    settings = TrackerSettings(dir=folder, system_interval=0)
    text = ("The quick brown fox jumps over the lazy dog. " * 24)[:1024]
    rows64 = [{"prompt": text, "completion": text, "reward": 0.5} for _ in range(64)]
    copies, calls = [], []
    with CustomTracker(project="bench", store=uri, settings=settings) as run:
        for step in range(200):
            t0 = time.perf_counter()
            _ = [dict(row) for row in rows64]
            t1 = time.perf_counter()
            run.log_table("train/completions", rows64, step=step)
            t2 = time.perf_counter()
            copies.append(t1 - t0)
            calls.append(t2 - t1)
    rows100 = [{"prompt": text, "completion": text, "reward": float(i)} for i in range(100)]
    with CustomTracker(project="bench", store=uri, settings=settings) as big:
        for step in range(args.steps):
            big.log_table("train/completions", rows100, step=step)
    store = open_store(uri)
    reads = []
    for step in range(0, args.steps, max(1, args.steps // 50)):
        t0 = time.perf_counter()
        got = store.table_rows(big.run_id or "", "train/completions", step=step)
        reads.append(time.perf_counter() - t0)
        assert len(got) == 100
    calls.sort()
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"log_table, 64 rows of 1 KB: median {statistics.median(calls) * 1e6:.1f} us, "
        f"p99 {calls[int(len(calls) * 0.99)] * 1e6:.1f} us "
        f"(copying the rows alone: median {statistics.median(copies) * 1e6:.1f} us)"
    )
    print(
        f"table_rows of one step (100 rows) of a {args.steps * 100:,}-row table: median "
        f"{statistics.median(reads) * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
