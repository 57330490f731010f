"""PostgreSQL benchmark: the team store on a server on loopback.

* one run logging 100,000 steps of 10 float scalars (1,000,000 points): caller cost of
  `log_metrics` and durable ingest, start to `finish()` returned (as `bench_core.py`);
* 16 runs at once, each its own process, 10,000 steps x 10 scalars each: points per second
  together, from the first process's first call to the last one's `finish()`, and every
  point checked in the store afterwards;
* reading one metric's 100,000 points as a user's script does (a fresh process:
  `open_store()`, `history()`, a list of pairs), median of 5; and the same where the
  process had imported psycopg before (the driver's import is most of a fresh read);
* ``tracker runs`` on a store of 10,000 runs, in process (as `bench_ui.py`);
* the floor, in the same server: plain ``COPY`` of one row per point into a table with an
  index on (run, key, step), and reading 100,000 of those rows back the same way.

Without ``--uri``, a throwaway server is made as the tests make it (`tests/pg_server.py`:
initdb in a temporary folder, ``fsync=on``), and removed afterwards. Run:
``python benchmarks/bench_postgres.py [--steps N] [--uri postgresql://...]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_core import KEYS, bench_import, bench_tracker, read_in_fresh_process  # noqa: E402
from bench_ui import bench_runs, fill_many_runs  # noqa: E402

from tracker import open_store  # noqa: E402

CONCURRENT_RUNS = 16
CONCURRENT_STEPS = 10_000
WORKER = """
import json, sys, time
from pathlib import Path
from tracker import CustomTracker
uri, name, steps, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
keys = [f"train/metric_{i}" for i in range(10)]
payloads = [{k: s * 0.001 + i for i, k in enumerate(keys)} for s in range(64)]
run = CustomTracker(project="concurrent", run_name=name, store=uri).start()
while not go.exists():
    time.sleep(0.005)
start = time.time()
for step in range(steps):
    run.log_metrics(payloads[step & 63], step=step)
report = run.finish()
print(json.dumps({"run_id": run.run_id, "start": start, "end": time.time(),
                  "complete": report is not None and report.complete}))
"""
READ_RAW = """
import sys, time
start = time.perf_counter()
import psycopg
with psycopg.connect(sys.argv[1]) as conn:
    rows = conn.execute(
        "SELECT step, value, ts FROM raw_points WHERE run = 'r' AND key = %s ORDER BY step",
        (sys.argv[2],),
    ).fetchall()
pairs = [(step, value) for step, value, _ in rows]
print(time.perf_counter() - start, len(pairs))
"""


@contextlib.contextmanager
def server(uri: str | None) -> Iterator[tuple[str, str]]:
    """The database to measure (and its server's version): ``uri``, or a throwaway one."""
    import psycopg

    if uri is not None:
        with psycopg.connect(uri) as conn:
            yield uri, conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        return
    from pg_server import throwaway_postgres

    with throwaway_postgres() as pg, psycopg.connect(pg.uri) as conn:
        yield pg.uri, conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]


def bench_concurrent(uri: str) -> dict[str, float]:
    """16 processes log at once; points per second together, and every point checked."""
    with tempfile.TemporaryDirectory() as tmp:
        go = Path(tmp) / "go"
        env = {**os.environ, "TRACKER_SYSTEM_INTERVAL": "0"}
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, uri, f"c{i}", str(CONCURRENT_STEPS), str(go)],
                stdout=subprocess.PIPE,
                env=env,
            )
            for i in range(CONCURRENT_RUNS)
        ]
        time.sleep(3.0)  # every interpreter started and its run opened
        go.touch()
        results = [json.loads(w.communicate()[0]) for w in workers]
    assert all(r["complete"] for r in results), results
    store = open_store(uri)
    for r in results:
        stats = store.metric_stats(r["run_id"])
        assert all(stats[k].count == CONCURRENT_STEPS for k in KEYS), stats
        history = store.history(r["run_id"], KEYS[-1])
        assert [s for s, _, _ in history] == list(range(CONCURRENT_STEPS))
    store.close()
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {"points_s": CONCURRENT_RUNS * CONCURRENT_STEPS * len(KEYS) / seconds}


def bench_raw_copy(uri: str, steps: int) -> dict[str, float]:
    """The floor: ``COPY`` of one row per point into an indexed table, then a read."""
    import psycopg

    with psycopg.connect(uri) as conn:
        conn.execute(
            "CREATE TABLE raw_points (run TEXT, key TEXT, step BIGINT, "
            "value DOUBLE PRECISION, ts DOUBLE PRECISION)"
        )
        conn.execute("CREATE INDEX raw_points_key ON raw_points (run, key, step)")
        conn.commit()
        start = time.perf_counter()
        with conn.cursor().copy("COPY raw_points FROM STDIN") as copy:
            for step in range(steps):
                now = time.time()
                for i, key in enumerate(KEYS):
                    copy.write_row(("r", key, step, step * 0.001 + i, now))
        conn.commit()
        ingest = steps * len(KEYS) / (time.perf_counter() - start)
    times = []
    for _ in range(5):
        out = subprocess.check_output([sys.executable, "-c", READ_RAW, uri, KEYS[0]])
        seconds, count = out.split()
        assert int(count) == steps
        times.append(float(seconds))
    return {"ingest_points_s": ingest, "read_s": sorted(times)[2]}


def main() -> None:
    """Run every measurement on one server and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--uri", help="an empty PostgreSQL database (default: a throwaway one)")
    args = parser.parse_args()
    with server(args.uri) as (uri, version):
        one = bench_tracker(uri, args.steps)
        store = open_store(uri)
        (run,) = store.runs(project="bench", limit=1)
        store.close()
        read_s = read_in_fresh_process(uri, run.run_id, KEYS[0], args.steps)
        warm_s = read_in_fresh_process(uri, run.run_id, KEYS[0], args.steps, ("psycopg",))
        driver_s = bench_import("psycopg")
        many = bench_concurrent(uri)
        raw = bench_raw_copy(uri, args.steps)
        print(f"filling {args.runs:,} runs ...", file=sys.stderr)
        store = open_store(uri)
        fill_many_runs(store, args.runs)
        store.close()
        listing = bench_runs(uri)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL {version} on loopback"
    )
    print(f"workload: {args.steps:,} steps x {len(KEYS)} float scalars")
    print(f"log_metrics caller cost: median {one['median_us']:.2f} us, p99 {one['p99_us']:.2f} us")
    print(
        f"durable ingest, one run: {one['ingest_points_s']:,.0f} points/s "
        f"(raw COPY floor {raw['ingest_points_s']:,.0f}; "
        f"ratio {one['ingest_points_s'] / raw['ingest_points_s']:.1f})"
    )
    print(f"finish(): {one['finish_ms']:.1f} ms after the last call")
    print(
        f"{CONCURRENT_RUNS} runs at once ({CONCURRENT_STEPS:,} steps x {len(KEYS)} each): "
        f"{many['points_s']:,.0f} points/s together, every point stored once"
    )
    print(
        f"read one metric ({args.steps:,} points) in a fresh process: {read_s * 1000:.1f} ms "
        f"(raw rows {raw['read_s'] * 1000:.1f} ms; ratio {raw['read_s'] / read_s:.1f}); "
        f"{warm_s * 1000:.1f} ms where psycopg was imported already "
        f"(importing psycopg alone: {driver_s * 1000:.1f} ms)"
    )
    print(
        f"tracker runs on {args.runs:,} runs, in process: {listing['runs_50_s'] * 1000:.1f} ms "
        f"(--limit 0: {listing['runs_all_s'] * 1000:.0f} ms; "
        f"a new process: {listing['runs_50_process_s'] * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
