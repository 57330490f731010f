"""Reading-runs benchmark: the dashboard's first chart, ``tracker runs``, export throughput.

* time to first chart data: ``GET /api/runs/RUN/curve`` of a 1,000,000-point metric,
  thinned on the server to 2,000 points (cold: first request; warm: median of 5), and,
  where Playwright and /usr/bin/chromium are installed, the run page in headless chromium
  from navigation until that chart is drawn (7 fresh browser contexts, then warm);
* ``tracker runs`` on a store of 10,000 runs (default limit of 50, and ``--limit 0`` for
  all 10,000), in this process and as a fresh ``tracker`` process;
* ``tracker export`` of the 1,000,000 points as csv, jsonl and parquet (if pyarrow).

Stores are filled through the store API directly (not timed). Run:
``python benchmarks/bench_ui.py [--points N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracker import open_store
from tracker.cli import main as tracker_main
from tracker.records import MetricBatch, RunRecord, Series
from tracker.store.base import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
BATCH = 100_000


def fill_long_run(store: Store, points: int) -> str:
    """One finished run with a ``train/loss`` of ``points`` points (a noisy decay)."""
    run = RunRecord("longrun000", "bench", "long", started_at=time.time())
    store.start_run(run, resume=False)
    for start in range(0, points, BATCH):
        steps = array("q", range(start, min(points, start + BATCH)))
        values = array("d", (1.0 / (1 + s / 1000) + (s * 7919 % 997) / 1e4 for s in steps))
        times = array("d", (run.started_at + s * 0.01 for s in steps))
        store.log_metrics(run.run_id, MetricBatch({"train/loss": Series(steps, values, times)}))
    store.finish_run(run.run_id, "finished", time.time(), None)
    return run.run_id


def fill_many_runs(store: Store, count: int) -> None:
    """``count`` finished runs, each with a config and 3 metrics of 10 points."""
    now = time.time()
    for i in range(count):
        run_id = f"r{i:09d}"
        record = RunRecord(run_id, f"project-{i % 7}", f"run-{i}", started_at=now - i)
        record.config = {"lr": 1e-4 * (1 + i % 5), "model": {"layers": 2 + i % 3}}
        store.start_run(record, resume=False)
        steps = array("q", range(10))
        series = {
            key: Series(steps, array("d", (1.0 / (s + 1) for s in steps)), array("d", [now] * 10))
            for key in ("train/loss", "eval/loss", "train/learning_rate")
        }
        store.log_metrics(run_id, MetricBatch(series))
        store.finish_run(run_id, "finished", now - i + 60, None)


@contextlib.contextmanager
def dashboard(uri: str) -> Iterator[str]:
    """``tracker ui`` over the store at ``uri`` in a process of its own, as a user runs it
    (in this process it would share the interpreter lock with Playwright's driver);
    yields its URL."""
    command = [sys.executable, "-m", "tracker.cli", "ui", "--store", uri, "--port", "0"]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()  # "tracker ui: serving URI at URL (Ctrl-C to stop)"
        match = re.search(r" at (http://\S+)", line)
        assert match, f"tracker ui did not start: {line}{server.stderr.read()}"
        yield match.group(1).rstrip("/")
    finally:
        server.terminate()
        server.wait()


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench_first_chart(url: str, run_id: str) -> dict[str, float]:
    """The curve API cold and warm, and the page in chromium when available."""
    curve = f"{url}/api/runs/{run_id}/curve?key=train/loss&points=2000"

    def fetch() -> None:
        with urllib.request.urlopen(curve) as response:
            response.read()

    results = {"api_cold_s": timed(fetch)}
    results["api_warm_s"] = statistics.median(timed(fetch) for _ in range(5))
    return results | bench_page(f"{url}/runs/{run_id}")


def bench_page(url: str, fresh: int = 7) -> dict[str, float]:
    """Seconds from navigation until the run page's chart is drawn, where chromium is
    installed: in ``fresh`` new browser contexts, each with an empty cache like a fresh
    profile (BokehJS downloaded and compiled anew; median and slowest), and again in the
    last one (median of 3)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if shutil.which(CHROMIUM) is None:
        return {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def first_chart(page: Any) -> None:
            page.goto(url)
            # set once BokehJS's show() resolves: the plot is drawn on its canvas
            page.wait_for_selector(".chart[data-drawn]", state="attached", timeout=30_000)

        cold = []
        for _ in range(fresh):
            context = browser.new_context()
            page = context.new_page()
            cold.append(timed(functools.partial(first_chart, page)))
            if len(cold) < fresh:
                context.close()
        warm = statistics.median(timed(functools.partial(first_chart, page)) for _ in range(3))
        browser.close()
    return {
        "page_first_chart_cold_median_s": statistics.median(cold),
        "page_first_chart_cold_max_s": max(cold),
        "page_first_chart_warm_s": warm,
    }


def quiet(*argv: str) -> None:
    """Run ``tracker ARGV`` in this process with its output thrown away."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert tracker_main(list(argv)) == 0


def bench_runs(uri: str) -> dict[str, float]:
    """``tracker runs``: in process (median of 3) and as a fresh process."""
    cli = [sys.executable, "-m", "tracker.cli", "runs", "--store", uri]
    return {
        "runs_50_s": statistics.median(
            timed(lambda: quiet("runs", "--store", uri)) for _ in range(3)
        ),
        "runs_all_s": statistics.median(
            timed(lambda: quiet("runs", "--store", uri, "--limit", "0")) for _ in range(3)
        ),
        "runs_50_process_s": timed(lambda: subprocess.run(cli, check=True, capture_output=True)),
    }


def bench_export(uri: str, run_id: str, points: int, directory: Path) -> dict[str, float]:
    """Points per second written by each export format."""
    formats = ["csv", "jsonl"]
    try:
        import pyarrow  # noqa: F401

        formats.append("parquet")
    except ImportError:
        pass
    results = {}
    for name in formats:
        target = directory / f"export.{name}"
        argv = ("export", run_id, "--store", uri, "--format", name, "-o", str(target))
        seconds = timed(functools.partial(quiet, *argv))
        results[f"export_{name}_points_per_s"] = points / seconds
        results[f"export_{name}_mb"] = target.stat().st_size / 1e6
    return results


def main() -> None:
    """Build the stores, run every measurement, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        long_uri, many_uri = f"sqlite:///{directory}/long.db", f"sqlite:///{directory}/many.db"
        long_store, many_store = open_store(long_uri), open_store(many_uri)
        print(f"filling: {args.points:,} points, {args.runs:,} runs ...", file=sys.stderr)
        run_id = fill_long_run(long_store, args.points)
        fill_many_runs(many_store, args.runs)
        many_store.close()
        results: dict[str, float] = {}
        with dashboard(long_uri) as url:
            results |= bench_first_chart(url, run_id)
        results |= bench_runs(many_uri)
        results |= bench_export(long_uri, run_id, args.points, directory)
        long_store.close()
    report(f"metric of {args.points:,} points; store of {args.runs:,} runs", results)


def report(what: str, results: dict[str, float]) -> None:
    """Print the machine (and its load: the benchmark machine is shared), what was
    measured, and each result."""
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(what)
    for name, value in results.items():
        print(f"  {name:32s} {value:,.3f}")


if __name__ == "__main__":
    main()
