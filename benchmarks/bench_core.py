"""Core benchmark: a run logging 100,000 steps of 10 float scalars to the default SQLite store.

Prints the caller-side cost of `log_metrics` (median, p99), sustained durable ingest
(start to `finish()` returned, every point read back), `finish()` latency, `import
tracker` time, the time to read one metric's 100,000 points as a user's script does (a
fresh process: `open_store()`, `history()`, a list of ``(step, value)`` pairs), the
process's peak resident memory, and the same workload on raw `sqlite3` (one row per
point, batched inserts) as a floor. Run: ``python benchmarks/bench_core.py [--steps N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYS = [f"train/metric_{i}" for i in range(10)]
READ_SCRIPT = """
import importlib, sys, time
import tracker
for module in sys.argv[4:]:  # imported before the clock starts (a driver already loaded)
    importlib.import_module(module)
start = time.perf_counter()
store = tracker.open_store(sys.argv[1])
pairs = [(step, value) for step, value, _ in store.history(sys.argv[2], sys.argv[3])]
print(time.perf_counter() - start, len(pairs))
"""


def bench_import(module: str = "tracker") -> float:
    """Median wall time of ``import module`` in a fresh interpreter, in seconds."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(5)]
    return statistics.median(runs)


def read_in_fresh_process(
    uri: str, run_id: str, key: str, points: int, preload: tuple[str, ...] = ()
) -> float:
    """Median seconds, over 5 fresh interpreters, from `open_store()` to a list of the
    metric's ``(step, value)`` pairs (``import tracker`` and the ``preload`` modules
    before the clock starts). ``tracker``'s bytecode is compiled first, as installing a
    package does (where ``PYTHONDONTWRITEBYTECODE`` is set, a source checkout would
    otherwise be compiled anew by every process)."""
    import compileall

    import tracker

    compileall.compile_dir(Path(tracker.__file__).parent, quiet=1)
    times = []
    for _ in range(5):
        argv = [sys.executable, "-c", READ_SCRIPT, uri, run_id, key, *preload]
        out = subprocess.check_output(argv)
        seconds, count = out.split()
        assert int(count) == points, (count, points)
        times.append(float(seconds))
    return statistics.median(times)


def bench_tracker(uri: str, steps: int) -> dict[str, float]:
    """Log ``steps`` steps of 10 scalars to the store of ``uri`` and time every phase."""
    from tracker import CustomTracker, open_store

    run = CustomTracker(project="bench", run_name="core", store=uri).start()
    payloads = [{k: float(step) * 0.001 + i for i, k in enumerate(KEYS)} for step in range(64)]
    costs = []
    perf = time.perf_counter_ns
    t0 = time.perf_counter()
    for step in range(steps):
        payload = payloads[step & 63]
        a = perf()
        run.log_metrics(payload, step=step)
        costs.append(perf() - a)
    t_last = time.perf_counter()
    report = run.finish()
    t_end = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert report is not None and report.complete, report
    store = open_store(uri)
    assert all(len(store.history(run.run_id, k)) == steps for k in KEYS)
    store.close()
    read_s = read_in_fresh_process(uri, run.run_id, KEYS[0], steps)
    costs.sort()
    return {
        "median_us": costs[len(costs) // 2] / 1000,
        "p99_us": costs[int(len(costs) * 0.99)] / 1000,
        "ingest_points_s": steps * len(KEYS) / (t_end - t0),
        "finish_ms": (t_end - t_last) * 1000,
        "read_ms": read_s * 1000,
        "peak_mb": peak_mb,
    }


def bench_raw_sqlite(directory: Path, steps: int) -> dict[str, float]:
    """The floor: one row per point, inserted in batches of 10,000 rows."""
    db = sqlite3.connect(directory / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE p (run TEXT, key TEXT, step INTEGER, value REAL, ts REAL)")
    db.execute("CREATE INDEX p_key ON p (run, key, step)")
    t0 = time.perf_counter()
    rows = []
    for step in range(steps):
        now = time.time()
        rows.extend(("r", k, step, step * 0.001 + i, now) for i, k in enumerate(KEYS))
        if len(rows) >= 10_000:
            db.execute("BEGIN")
            db.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
            rows.clear()
    if rows:
        db.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?)", rows)
    ingest = steps * len(KEYS) / (time.perf_counter() - t0)
    t_read = time.perf_counter()
    got = db.execute(
        "SELECT step, value, ts FROM p WHERE run = 'r' AND key = ? ORDER BY step", (KEYS[0],)
    ).fetchall()
    read_s = time.perf_counter() - t_read
    assert len(got) == steps
    return {"ingest_points_s": ingest, "read_ms": read_s * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        result = bench_tracker(f"sqlite:///{directory}/tracker.db", args.steps)
        raw = bench_raw_sqlite(directory, args.steps)
    import_ms = bench_import() * 1000
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(f"workload: {args.steps:,} steps x {len(KEYS)} float scalars")
    print(
        f"log_metrics caller cost: median {result['median_us']:.2f} us, "
        f"p99 {result['p99_us']:.2f} us"
    )
    print(
        f"durable ingest: {result['ingest_points_s']:,.0f} points/s "
        f"(raw sqlite3 floor {raw['ingest_points_s']:,.0f}; "
        f"ratio {result['ingest_points_s'] / raw['ingest_points_s']:.2f})"
    )
    print(f"finish(): {result['finish_ms']:.1f} ms after the last call")
    print(f"import tracker: {import_ms:.1f} ms")
    print(
        f"read one metric ({args.steps:,} points): {result['read_ms']:.1f} ms "
        f"(raw sqlite3 {raw['read_ms']:.1f} ms; ratio {result['read_ms'] / raw['read_ms']:.2f})"
    )
    print(f"peak resident memory of the process until finish(): {result['peak_mb']:.1f} MB")


if __name__ == "__main__":
    main()
