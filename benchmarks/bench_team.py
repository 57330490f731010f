"""Team-store benchmark: one PostgreSQL server (a throwaway one, tests/pg_server.py).

* ``tracker sync`` from SQLite to PostgreSQL of R runs x P points (default 100 x 1,000,000,
  one metric each): points/s, and how long reading the source alone takes, to say where
  the time goes;
* write throughput of W writer processes at once (each a `CustomTracker` of its own run,
  10 metrics a step, as fast as it can log), straight to the server and through PgBouncer
  (transaction mode): points/s over all of them, and the server's connections meanwhile;
* the dashboard's first chart of a 1,000,000-point metric and ``tracker runs`` / the
  dashboard's runs list on 10,000 runs, from PostgreSQL, next to the same from SQLite
  (`bench_ui`'s measurements, as the read-only role).

Run: ``python benchmarks/bench_team.py [--runs 100] [--points 1000000] [--writers 1,4,16,32]``
(needs PostgreSQL installed: ``scripts/postgres.sh``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from array import array
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_ui import bench_first_chart, bench_runs, dashboard, fill_long_run, fill_many_runs

from pg_server import PostgresServer, throwaway_postgres
from tracker import CustomTracker, open_store
from tracker.records import MetricBatch, RunRecord, Series
from tracker.store.base import Store

BATCH = 100_000
METRICS = 10


def fill_runs(store: Store, runs: int, points: int) -> list[str]:
    """``runs`` finished runs of one ``train/loss`` metric of ``points`` points each."""
    steps = array("q", range(points))
    values = array("d", (1.0 / (1 + s / 1000) + (s * 7919 % 997) / 1e4 for s in steps))
    times = array("d", (1.7e9 + s * 0.01 for s in steps))
    ids = []
    for i in range(runs):
        run = RunRecord(f"sync{i:06d}", "bench", f"sync-{i}", started_at=1.7e9 + i)
        store.start_run(run, resume=False)
        for start in range(0, points, BATCH):
            end = min(points, start + BATCH)
            series = Series(steps[start:end], values[start:end], times[start:end])
            store.log_metrics(run.run_id, MetricBatch({"train/loss": series}))
        store.finish_run(run.run_id, "finished", 1.7e9 + i + 60, None)
        ids.append(run.run_id)
    return ids


def bench_sync(
    server: PostgresServer, directory: Path, runs: int, points: int, storage: str | None
) -> dict[str, float]:
    """``tracker sync --from SQLITE --to POSTGRES`` as a process, as a user runs it; with
    ``storage``, the chunk columns' TOAST storage set to it first (``external``: stored
    uncompressed; PostgreSQL's default, ``extended``, compresses them with pglz)."""
    source_uri = f"sqlite:///{directory}/offline.db"
    source = open_store(source_uri)
    print(f"filling SQLite: {runs} runs x {points:,} points ...", file=sys.stderr)
    ids = fill_runs(source, runs, points)
    start = time.perf_counter()
    for run_id in ids:
        for _ in source.iter_history(run_id, "train/loss", raw=True):
            pass
    read_s = time.perf_counter() - start
    source.close()
    target = server.create_database("synced")
    if storage is not None:
        open_store(target).close()  # creates the tables
        server.admin(
            *(
                f"ALTER TABLE metric_chunks ALTER COLUMN {column} SET STORAGE {storage}"
                for column in ("steps", "vals", "times")
            ),
            database="synced",
        )
    command = [sys.executable, "-m", "tracker.cli", "sync", "--from", source_uri, "--to", target]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    again = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    again_s = time.perf_counter() - again
    check = open_store(target)
    copied = sum(check.metric_stats(run_id)["train/loss"].count for run_id in ids)
    check.close()
    assert copied == runs * points, (copied, runs * points)
    total = runs * points
    return {
        "sync_points": total,
        "sync_s": seconds,
        "sync_points_per_s": total / seconds,
        "sync_read_source_only_points_per_s": total / read_s,
        "sync_again_s": again_s,
    }


def writer(uri: str, index: int, steps: int, start_at: float) -> None:
    """One writer process (``bench_team.py --writer ...``): log ``steps`` steps of METRICS
    metrics from ``start_at`` on, finish; prints its first and last moment and its points."""
    os.environ["TRACKER_SYSTEM_INTERVAL"] = "0"
    os.environ["TRACKER_DELIVER_UNSENT"] = "0"
    run = CustomTracker("bench", f"writer-{index}", store=uri).start()
    names = [f"train/m{k}" for k in range(METRICS)]
    time.sleep(max(0.0, start_at - time.time()))
    start = time.time()
    for step in range(steps):
        run.log_metrics(dict.fromkeys(names, step * 0.5), step=step)
    report = run.finish()
    assert report is not None and report.complete
    print(start, time.time(), steps * METRICS)


@contextlib.contextmanager
def _connections(server: PostgresServer) -> Iterator[list[int]]:
    """The most client connections the server held while the block ran (sampled)."""
    most = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            rows = server.admin("SELECT count(*) FROM pg_stat_activity WHERE datname = 'tracker'")
            most[0] = max(most[0], int(rows[0][0]))
            done.wait(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield most
    finally:
        done.set()
        thread.join()


def bench_writers(server: PostgresServer, counts: list[int], total: int) -> dict[str, float]:
    """Points/s of ``count`` writer processes at once (``total`` points among them), for
    each count, straight to the server and through PgBouncer."""
    results: dict[str, float] = {}
    for via, uri in (("direct", server.uri), ("pgbouncer", server.bouncer_uri)):
        for count in counts:
            server.truncate()
            steps = max(1, total // (count * METRICS))
            start_at = time.time() + 5 + count * 0.5  # every process started and connected
            command = [sys.executable, __file__, "--writer", uri]
            with _connections(server) as most:
                writers = [
                    subprocess.Popen(
                        [*command, str(i), str(steps), str(start_at)],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    for i in range(count)
                ]
                outputs = [w.communicate(timeout=900)[0] for w in writers]
            assert all(w.returncode == 0 for w in writers), outputs
            windows = [tuple(map(float, out.split())) for out in outputs]
            seconds = max(w[1] for w in windows) - min(w[0] for w in windows)
            points = sum(w[2] for w in windows)
            results[f"writers_{via}_{count}_points_per_s"] = points / seconds
            results[f"writers_{via}_{count}_server_connections"] = most[0]
            _show(results, f"writers_{via}_{count}")
    return results


def _show(results: dict[str, float], prefix: str = "") -> None:
    """Print the results whose names start with ``prefix``, as they come."""
    for name, value in results.items():
        if name.startswith(prefix):
            print(f"  {name:48s} {value:,.3f}", flush=True)


def bench_reading(
    server: PostgresServer, directory: Path, points: int, runs: int
) -> dict[str, float]:
    """bench_ui's first chart and runs list, on SQLite and on PostgreSQL (as the reader)."""
    results: dict[str, float] = {}
    server.truncate()
    pg_long = open_store(server.uri)
    run_id = fill_long_run(pg_long, points)
    pg_long.close()
    many = server.create_database("many")
    many_store = open_store(many)
    fill_many_runs(many_store, runs)
    many_store.close()
    server.grant_reader()
    server.grant_reader("many")
    sqlite_long = f"sqlite:///{directory}/long.db"
    sqlite_many = f"sqlite:///{directory}/many.db"
    fill_long_run(open_store(sqlite_long), points)
    fill_many_runs(open_store(sqlite_many), runs)
    reader_many = server.reader_uri.rsplit("/", 1)[0] + "/many"
    for engine, long_uri, many_uri in (
        ("sqlite", sqlite_long, sqlite_many),
        ("postgres", server.reader_uri, reader_many),
    ):
        with dashboard(long_uri) as url:
            chart = bench_first_chart(url, run_id)
        with dashboard(many_uri) as url:
            api = {}
            for limit in (50, 500):
                fetch = f"{url}/api/runs?limit={limit}"
                times = []
                for _ in range(5):
                    start = time.perf_counter()
                    with urllib.request.urlopen(fetch) as response:
                        response.read()
                    times.append(time.perf_counter() - start)
                api[f"api_runs_{limit}_s"] = statistics.median(times)
        listing = bench_runs(many_uri)
        results |= {f"{engine}_{k}": v for k, v in (chart | api | listing).items()}
    return results


def main() -> None:
    """Start a server, run every measurement, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs to sync")
    parser.add_argument("--points", type=int, default=1_000_000, help="points per synced run")
    parser.add_argument(
        "--chunk-storage", choices=("external", "extended", "main"), help="see bench_sync"
    )
    parser.add_argument("--writers", default="1,4,16,32", help="writer counts, comma separated")
    parser.add_argument("--writer-points", type=int, default=2_000_000)
    parser.add_argument("--team-runs", type=int, default=10_000, help="runs of the runs list")
    parser.add_argument("--skip", default="", help="parts to skip: sync,writers,reading")
    parser.add_argument("--writer", nargs=4, help=argparse.SUPPRESS)  # one writer process
    args = parser.parse_args()
    if args.writer:
        uri, index, steps, start_at = args.writer
        writer(uri, int(index), int(steps), float(start_at))
        return
    skip = set(args.skip.split(","))
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, throwaway_postgres() as server:
        directory = Path(tmp)
        if "sync" not in skip:
            results |= bench_sync(server, directory, args.runs, args.points, args.chunk_storage)
            _show(results, "sync")
        if "writers" not in skip:
            counts = [int(c) for c in args.writers.split(",")]
            results |= bench_writers(server, counts, args.writer_points)
        if "reading" not in skip:
            results |= bench_reading(server, directory, 1_000_000, args.team_runs)
            _show(results, "sqlite")
            _show(results, "postgres")
        version = server.admin("SHOW server_version")[0][0]
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()}, PostgreSQL {version}")  # fmt: skip


if __name__ == "__main__":
    main()
