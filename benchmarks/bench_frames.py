"""Frames benchmark (`tracker.frames`, in the ``analysis`` environment): runs and points
of an SQLite store as data frames.

1. ``tf.history`` of 2,000,000 points (10 runs x 2 metrics x 100,000 points) against the
   loop a user would write without it (``store.history`` point by point into rows, then
   ``pandas.DataFrame(rows)``): best of three of each, and the ratio.
2. ``tf.history`` of ``--big-runs`` runs x ``--big-points`` points (default 100 x
   1,000,000) in a fresh process: the frame's size and the process's peak RSS before and
   after reading, to show that memory stays near the frame's own size.
3. ``tf.runs`` of 10,000 runs with 30 config keys and 3 summary keys each: best of three,
   next to ``store.runs`` alone.

Run: ``python benchmarks/bench_frames.py [--big-runs N] [--big-points N] [--skip-big]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

BATCH = 100_000  # points a log_metrics call of the writer side carries here


def _fill(uri: str, runs: int, keys: list[str], points: int) -> list[str]:
    """``runs`` runs with ``points`` points of each of ``keys``, written through the
    store's own `log_metrics` (as the writer thread does, in large batches)."""
    from tracker import open_store
    from tracker.records import MetricBatch, RunRecord, Series

    store = open_store(uri)
    ids = []
    for r in range(runs):
        run_id = f"run{r:04d}"
        store.start_run(RunRecord(run_id, "bench", run_id, started_at=time.time()), resume=False)
        for key in keys:
            for start in range(0, points, BATCH):
                steps = array("q", range(start, min(points, start + BATCH)))
                values = array("d", (1.0 / (s + 1) for s in steps))
                times = array("d", (1.7e9 + s * 0.1 for s in steps))
                store.log_metrics(run_id, MetricBatch({key: Series(steps, values, times)}))
        store.finish_run(run_id, "finished", time.time(), None)
        ids.append(run_id)
    store.close()
    return ids


def _best(fn: object, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best, result


def two_million(folder: Path) -> None:
    """Part 1: the frame against the user's loop."""
    import pandas as pd

    import tracker.frames as tf
    from tracker import open_store

    uri = f"sqlite:///{folder / 'two-million.db'}"
    keys = ["train/loss", "eval/loss"]
    ids = _fill(uri, 10, keys, 100_000)
    store = open_store(uri)

    def by_hand() -> pd.DataFrame:
        rows = []
        for run_id in ids:
            for key in keys:
                for step, value, at in store.history(run_id, key):
                    rows.append((run_id, key, step, value, at))
        return pd.DataFrame(rows, columns=["run_id", "key", "step", "value", "time"])

    loop_s, expected = _best(by_hand)
    frame_s, frame = _best(lambda: tf.history(ids, keys, store=store))
    assert isinstance(frame, pd.DataFrame) and isinstance(expected, pd.DataFrame)
    assert len(frame) == len(expected) == 2_000_000
    assert (frame.step.to_numpy() == expected.step.to_numpy()).all()
    assert (frame.value.to_numpy() == expected.value.to_numpy()).all()
    polars_s, _ = _best(lambda: tf.history(ids, keys, backend="polars", store=store))
    arrow_s, _ = _best(lambda: tf.history(ids, keys, arrow=True, store=store))
    print(
        f"2,000,000 points: loop over store.history into a DataFrame {loop_s:.2f} s, "
        f"tf.history {frame_s:.3f} s ({loop_s / frame_s:.1f}x faster); "
        f"polars {polars_s:.3f} s, arrow {arrow_s:.3f} s"
    )
    store.close()


def big(folder: Path, runs: int, points: int) -> None:
    """Part 2: many points in a fresh process, peak RSS reported by the child."""
    uri = f"sqlite:///{folder / 'big.db'}"
    t0 = time.perf_counter()
    _fill(uri, runs, ["train/loss"], points)
    written = time.perf_counter() - t0
    child = subprocess.run(
        [sys.executable, __file__, "--child-big", uri],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(child.stdout.strip().splitlines()[-1])
    total = runs * points
    print(
        f"{runs} runs x {points:,} points ({total:,}; written in {written:.0f} s): "
        f"tf.history {found['seconds']:.1f} s, frame {found['frame_mb']:.0f} MB "
        f"({found['frame_mb'] * 1e6 / total:.0f} bytes a point), peak RSS "
        f"{found['rss_before_mb']:.0f} MB before, {found['rss_after_mb']:.0f} MB after "
        f"(+{found['rss_after_mb'] - found['rss_before_mb']:.0f} MB, "
        f"{(found['rss_after_mb'] - found['rss_before_mb']) / found['frame_mb']:.2f}x the frame)"
    )


def child_big(uri: str) -> None:
    """Read the big store's every point into one frame and report size and peak RSS."""
    import pandas  # noqa: F401  (imported before the first RSS reading)

    import tracker.frames as tf
    from tracker import open_store

    store = open_store(uri)
    ids = [r.run_id for r in store.runs()]
    before = _peak_rss_mb()
    t0 = time.perf_counter()
    frame = tf.history(ids, "train/loss", store=store)
    seconds = time.perf_counter() - t0
    after = _peak_rss_mb()
    size = frame.memory_usage(index=False, deep=False).sum() / 1e6
    print(
        json.dumps(
            {"seconds": seconds, "frame_mb": size, "rss_before_mb": before, "rss_after_mb": after}
        )
    )


def _peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not the
    parent's peak inherited across ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ten_thousand_runs(folder: Path) -> None:
    """Part 3: tf.runs of 10,000 runs with their configs and summaries."""
    import tracker.frames as tf
    from tracker import CustomTracker, TrackerSettings, open_store
    from tracker.records import RunRecord

    uri = f"sqlite:///{folder / 'runs.db'}"
    settings = TrackerSettings(system_interval=0)
    with CustomTracker("bench", store=uri, settings=settings) as real:  # a real environment
        pass
    store = open_store(uri)
    environment = store.get_run(real.run_id or "").environment
    store.delete_run(real.run_id or "")
    t0 = time.perf_counter()
    for i in range(10_000):
        run_id = f"run{i:05d}"
        config = {
            "args": {f"option_{k}": k * i for k in range(20)},
            "optim": {"lr": 10 ** -(1 + i % 5), "betas": [0.9, 0.999], "name": "adamw"},
            "model": {"name": "tiny", "layers": 2 + i % 4, "heads": 4, "dim": 64},
            "seed": i % 3,
            "note": "seeds" if i % 2 else 7,  # mixed types across runs
        }
        record = RunRecord(
            run_id, "bench", run_id, started_at=1.7e9 + i, config=config, sweep=f"s{i % 10}",
            environment=environment,
        )  # fmt: skip
        store.start_run(record, resume=False)
        store.log_summary(run_id, {"eval/loss": 1.0 / (i + 1), "train/runtime": 60.0, "ok": True})
        store.finish_run(run_id, "finished", 1.7e9 + i + 60, None)
    written = time.perf_counter() - t0
    runs_s, found = _best(store.runs)
    frame_s, frame = _best(lambda: tf.runs(store=store))
    assert len(frame) == 10_000 == len(found)  # type: ignore[arg-type]
    print(
        f"10,000 runs ({len(frame.columns)} columns, each with a real run's environment of "
        f"{len(json.dumps(environment)):,} bytes; written in {written:.0f} s): "  # type: ignore[attr-defined]
        f"tf.runs {frame_s:.2f} s (store.runs alone {runs_s:.2f} s)"
    )
    store.close()


def main() -> None:
    """Run the benchmark and print its results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-runs", type=int, default=100)
    parser.add_argument("--big-points", type=int, default=1_000_000)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--child-big", metavar="URI", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_big:
        child_big(args.child_big)
        return
    import pandas as pd
    import polars as pl

    print(
        f"machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, pandas {pd.__version__}, polars {pl.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        two_million(folder)
        ten_thousand_runs(folder)
        if not args.skip_big:
            big(folder, args.big_runs, args.big_points)


if __name__ == "__main__":
    main()
