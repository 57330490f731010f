"""Sweep-panel benchmark: a 50-run sweep (5 learning rates x 10 seeds) grouped, in
parallel coordinates and a scatter, from a cold server.

Fills an SQLite store (not timed) with ``--lrs`` x ``--seeds`` finished runs of project
``bench``, each with a config (``learning_rate``, ``seed``, a list, a fixed model) and
``train/loss``, ``train/grad_norm`` and ``train/learning_rate`` of ``--points`` points
and an ``eval/loss`` every 100 steps. Then:

* **the page**: opens the workspace grouped by ``learning_rate`` on ``train/loss``
  (``/?project=bench&group=learning_rate&metric=train/loss``) in headless chromium, each
  time in a fresh browser context (empty cache: BokehJS downloaded and compiled anew),
  and times from navigation until the first run chart, the parallel coordinates and
  scatter (every run drawn), and the group chart (mean and band per group) are drawn,
  with a **cold server** (a new ``tracker ui`` process each time) and a **warm** one;
* for reference, on the same machine at the same time: `bench_ui.bench_page`'s measure of
  one run's page (its first chart drawn), whose quiet-machine figure docs/benchmarks.md
  gives, so that a loaded machine's numbers can be read against it;
* **the API**: ``/api/params`` and ``/api/groups`` (every point of ``train/loss`` of the
  50 runs read and gathered onto 500 grid points) in this process, the first call and
  the median of the next five.

Needs Playwright and /usr/bin/chromium (``scripts/install_browser.sh``), in the ``ui``
environment. Run: ``python benchmarks/bench_groups.py [--points N] [--cold N] [--warm N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

from bench_ui import CHROMIUM, CHROMIUM_ARGS, bench_page, dashboard, timed

from tracker import open_store
from tracker.records import MetricBatch, RunRecord, Series
from tracker.ui.api import dispatch

LRS = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3]
BATCH = 100_000
QUERY = "project=bench&group=learning_rate&metric=train/loss"
STAGES = {
    "first run chart": ".chart[data-drawn]",
    "parallel coordinates": ".sweep .parallel[data-lines]",
    "scatter": ".sweep .scatter[data-points]",
    "group chart": ".sweep .group-chart[data-drawn='1']",
}


def fill(uri: str, lrs: int, seeds: int, points: int) -> None:
    """``lrs`` x ``seeds`` finished runs of project ``bench``, their metrics of ``points``."""
    store = open_store(uri)
    now = time.time()
    for i in range(lrs * seeds):
        lr, seed = LRS[i // seeds % len(LRS)] * (1 + i // (seeds * len(LRS))), i % seeds
        record = RunRecord(f"sw{i:08d}", "bench", f"lr{lr:g}-s{seed}", started_at=now - 9e4 + i)
        record.config = {
            "learning_rate": lr,
            "seed": seed,
            "optim": {"betas": [0.9, 0.999], "eps": 1e-8},
            "model": {"name": "tiny", "layers": 2},
        }
        store.start_run(record, resume=False)
        scale = 1 + abs(lr - 1e-4) * 1000
        for start in range(0, points, BATCH):
            steps = array("q", range(start, min(points, start + BATCH)))
            times = array("d", (record.started_at + s * 0.5 for s in steps))
            noise = [(s * 7919 + seed * 104729) % 997 / 1e4 for s in steps]
            decay = (scale / (1 + s / 5000) for s in steps)
            loss = array("d", (d + n for d, n in zip(decay, noise, strict=True)))
            series = {
                "train/loss": Series(steps, loss, times),
                "train/grad_norm": Series(steps, array("d", (1 + n * 10 for n in noise)), times),
                "train/learning_rate": Series(steps, array("d", [lr] * len(steps)), times),
            }
            every = [j for j, s in enumerate(steps) if s % 100 == 0]
            series["eval/loss"] = Series(
                array("q", (steps[j] for j in every)),
                array("d", (loss[j] * 0.9 for j in every)),
                array("d", (times[j] for j in every)),
            )
            store.log_metrics(record.run_id, MetricBatch(series))
        store.finish_run(record.run_id, "finished", now, None)
    store.close()


def page_stages(browser: Any, url: str) -> dict[str, float]:
    """Seconds from navigation until each of `STAGES` is drawn (fresh browser context)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(f"{url}/?{QUERY}")
    found = {}
    for name, selector in STAGES.items():
        page.wait_for_selector(selector, state="attached", timeout=120_000)
        found[name] = time.perf_counter() - start
    lines = page.locator(".sweep .parallel polyline.run").count()
    points = page.locator(".sweep .scatter circle.run").count()
    groups = page.locator(".sweep .group-chart").get_attribute("data-groups")
    context.close()
    shown = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in found.items())
    print(f"  {shown} ({lines} lines, {points} points, {groups} groups)")
    return found


def bench_api(uri: str) -> dict[str, tuple[float, float]]:
    """First call and median of five more of /api/params and /api/groups, in-process."""
    store = open_store(uri)
    query = {"project": ["bench"]}
    asks = {
        "/api/params": query,
        "/api/groups": query | {"key": ["learning_rate"], "metric": ["train/loss"]},
    }
    found = {}
    for path, asked in asks.items():
        first = timed(lambda path=path, asked=asked: dispatch(store, path, asked))
        again = statistics.median(
            timed(lambda path=path, asked=asked: dispatch(store, path, asked)) for _ in range(5)
        )
        found[path] = (first, again)
    store.close()
    return found


def main() -> None:
    """Fill, measure the page cold and warm and the API, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--cold", type=int, default=3, help="samples with a new server each")
    parser.add_argument("--warm", type=int, default=3, help="samples on a warm server")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'sweep.db'}"
        t0 = time.perf_counter()
        runs = args.lrs * args.seeds
        print(f"filling {runs} runs x 4 metrics x {args.points:,} points ...", file=sys.stderr)
        fill(uri, args.lrs, args.seeds, args.points)
        print(f"filled in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        api = bench_api(uri)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            print("cold server, fresh browser context:")
            cold = []
            for _ in range(args.cold):
                with dashboard(uri) as url:
                    cold.append(page_stages(browser, url))
            print("warm server, fresh browser context:")
            with dashboard(uri) as url:
                page_stages(browser, url)
                warm = [page_stages(browser, url) for _ in range(args.warm)]
            browser.close()
        with dashboard(uri) as url:  # bench_page drives a Playwright of its own
            reference = bench_page(f"{url}/runs/sw00000000", fresh=args.warm)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {runs} runs x 4 metrics x {args.points:,} points"
    )
    for name, samples in (("cold server", cold), ("warm server", warm)):
        for stage in STAGES:
            times = [sample[stage] for sample in samples]
            print(
                f"  {name}, {stage}: median {statistics.median(times):.2f} s "
                f"(slowest {max(times):.2f})"
            )
    for path, (first, again) in api.items():
        print(f"  {path}: first {first * 1000:.0f} ms, then {again * 1000:.0f} ms")
    print(
        f"  reference, one run's page: first chart median "
        f"{reference['page_first_chart_cold_median_s']:.2f} s "
        f"(slowest {reference['page_first_chart_cold_max_s']:.2f})"
    )
    print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
