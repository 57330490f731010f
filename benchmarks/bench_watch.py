"""`tracker watch` benchmark: the CPU one look costs over a store of many runs.

Fills an SQLite store (not timed) with ``--runs`` runs: most finished, ``--running``
alive (fresh heartbeats, training metrics moving), ``--crashed`` gone silent (stored
``running``, stale heartbeat), each with a realistic environment and config and
``--metrics`` metrics. Then times `Watcher.check`: the first look (it raises the crashed
alerts and records them) and the median of ``--looks`` looks after it (nothing new to
raise), as CPU seconds of this process (SQLite runs in it), and that as a share of one
core at the default interval of `tracker watch`.
Run: ``python benchmarks/bench_watch.py [--runs N] [--running N] [--crashed N]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from array import array
from pathlib import Path


def fill(path: Path, runs: int, running: int, crashed: int, metrics: int) -> None:
    """The store of the benchmark."""
    from tracker.distributed import process_info
    from tracker.environment import capture
    from tracker.records import MetricBatch, RunRecord, Series
    from tracker.settings import TrackerSettings
    from tracker.store.sqlite import SqliteStore

    store = SqliteStore(path)
    environment = capture(process_info(TrackerSettings()))
    config = {f"group{g}": {f"key{k}": k * 0.1 for k in range(10)} for g in range(5)}
    now = time.time()
    for i in range(runs):
        alive, silent = i < running, running <= i < running + crashed
        started = now - 3600 - i
        record = RunRecord(
            run_id=f"run{i:07d}",
            project=f"project{i % 20}",
            name=f"name-{i}",
            config=config,
            environment=environment,
            started_at=started,
            heartbeat_at=now if alive else started + 60,
            heartbeat_interval=3600.0 if alive else 10.0,
        )
        store.start_run(record, resume=False)
        batch = MetricBatch()
        for m in range(metrics):
            key = f"train/metric_{m}" if m < metrics - 2 else f"system/gpu/0/m{m}"
            batch.series[key] = Series(
                array("q", [100]), array("d", [1.0]), array("d", [now if alive else started])
            )
        store.log_metrics(record.run_id, batch)
        if not (alive or silent):
            store.finish_run(record.run_id, "finished", started + 60, None)
    store.close()


def main() -> None:
    """Fill, look, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=200)
    parser.add_argument("--crashed", type=int, default=300)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--looks", type=int, default=20)
    args = parser.parse_args()

    from tracker.alerts.watch import Watcher
    from tracker.settings import TrackerSettings
    from tracker.store.sqlite import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tracker.db"
        t0 = time.perf_counter()
        fill(path, args.runs, args.running, args.crashed, args.metrics)
        print(f"filled {args.runs} runs in {time.perf_counter() - t0:.1f} s")
        settings = TrackerSettings(alert_webhooks=[])
        store = SqliteStore(path)
        watcher = Watcher(store, settings)
        c0 = time.process_time()
        first = watcher.check()
        first_cpu = time.process_time() - c0
        costs = []
        for _ in range(args.looks):
            c0 = time.process_time()
            assert not watcher.check()
            costs.append(time.process_time() - c0)
        store.close()
    look = statistics.median(costs)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(
        f"runs: {args.runs} ({args.running} running, {args.crashed} crashed), "
        f"{args.metrics} metrics each"
    )
    print(f"first look: {first_cpu * 1000:.1f} ms CPU, {len(first)} crashed alerts raised")
    print(f"each later look: median {look * 1000:.1f} ms CPU (max {max(costs) * 1000:.1f} ms)")
    print(
        f"at the default interval ({settings.watch_interval:g} s): "
        f"{look / settings.watch_interval * 100:.3f} % of one core"
    )


if __name__ == "__main__":
    main()
