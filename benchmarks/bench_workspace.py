"""Project-workspace benchmark: 50 runs x 10 metrics x 100,000 points, first charts drawn.

Fills an SQLite store (``--store postgres``: a throwaway PostgreSQL server, as the tests
make it) (not timed) with ``--runs`` finished runs of one project, each with ``--metrics``
metrics (train/, eval/ and system/ ones) of ``--points`` points, then times the server's
part: each chart's ``/api/curves`` (all its runs, at ``--width`` pixels, as the page asks
it: float64 arrays, the answer's bytes made) in a new process (cold: nothing cached, the
store opened anew) and again in that process (warm: the drawn curves cached; the target is
0.3 s for every chart in view), and its JSON form encoded (warm). Unless
``--no-browser``, it then opens the workspace (``/``) in headless chromium, each time in a
fresh browser context (an empty cache, as a fresh profile: BokehJS downloaded and compiled
anew), and times from navigation until (a) the first chart is drawn and (b) every chart in
the first screen is drawn:

* with a **cold server**: a new ``tracker ui`` process each time, nothing cached (the
  target: every chart in view in 2 s at a load average of 2, printed beside each sample);
* with a **warm server**: the same process again (its thinned curves cached);
* for reference, on the same machine at the same time: `bench_ui.bench_page`'s measure of
  one run's page (its first chart drawn), whose quiet-machine figure docs/benchmarks.md
  gives, so that a loaded machine's numbers can be read against it.

Then what a user knows as *warm* (the target: 0.3 s), in one browser context whose page is
open (BokehJS cached, the server's curves cached):

* **coming back**: the page reloaded, a run's page left for the workspace by a link, and
  by the browser's Back (the back-forward cache on, as in a user's chromium), until every
  chart in view is drawn again;
* **a redraw of the open page**: the smoothing on and off, moved while on (0.6 to 0.8 and
  back), a run hidden and shown again, x
  changed to the time and back to the step, until every chart in view holds its new data
  and the browser has painted it.

Needs Playwright and /usr/bin/chromium (``scripts/install_browser.sh``), in the ``ui``
environment. Run: ``python benchmarks/bench_workspace.py [--runs N] [--points N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench_ui import CHROMIUM, CHROMIUM_ARGS, bench_page, dashboard

from tracker import open_store
from tracker.records import MetricBatch, RunRecord, Series

KEYS = [
    "train/loss", "train/learning_rate", "train/grad_norm", "train/tokens_per_second",
    "train/epoch", "train/num_input_tokens_seen", "eval/loss", "eval/accuracy",
    "system/gpu/0/utilization", "system/gpu/0/memory_used_bytes",
]  # fmt: skip
BATCH = 100_000
# every chart in the first screen of a 1280 x 900 window is drawn
IN_VIEW_DRAWN = """() => {
  const charts = [...document.querySelectorAll('.chart')].filter(
    (c) => c.getBoundingClientRect().top < window.innerHeight);
  return charts.length > 0 && charts.every((c) => c.dataset.drawn === '1');
}"""


def fill(uri: str, runs: int, metrics: int, points: int) -> None:
    """``runs`` finished runs of project ``bench``, ``metrics`` metrics of ``points`` each."""
    store = open_store(uri)
    now = time.time()
    for r in range(runs):
        record = RunRecord(f"ws{r:08d}", "bench", f"run-{r:02d}", started_at=now - 86_400 + r)
        store.start_run(record, resume=False)
        for start in range(0, points, BATCH):
            steps = array("q", range(start, min(points, start + BATCH)))
            times = array("d", (record.started_at + s * 0.5 for s in steps))
            series = {}
            for m, key in enumerate(KEYS[:metrics]):
                values = array(
                    "d",
                    ((1 + m + r * 0.01) / (1 + s / 5000) + (s * 7919 % 997) / 1e4 for s in steps),
                )
                series[key] = Series(steps, values, times)
            store.log_metrics(record.run_id, MetricBatch(series))
        store.finish_run(record.run_id, "finished", now, None)
    store.close()


# a new process: opens the store, asks each chart's curves as the page does (times=0,
# format=binary: float64 arrays), the answer's bytes included, twice (cold, then warm); then
# the JSON form an API user gets, encoded (warm)
API_TIMES = """
import json, sys, time
from tracker import open_store
from tracker.ui.api import dispatch
from tracker.views import dumps
uri, width, limit, keys = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
store = open_store(uri)
query = {"project": ["bench"], "limit": [limit]}
runs = [r["id"] for r in dispatch(store, "/api/workspace", query)["runs"]]
times = {"cold": [], "warm": [], "json": []}
def ask(key, form):
    query = {"key": [key], "run": runs, "width": [width], "times": ["0"], "format": [form]}
    return dispatch(store, "/api/curves", query)
for kind in ("cold", "warm"):
    for key in keys:
        start = time.perf_counter()
        size = len(ask(key, "binary").body)
        times[kind].append(time.perf_counter() - start)
for key in keys:
    start = time.perf_counter()
    answer = ask(key, "json")
    json_size = len(dumps(answer).encode())
    times["json"].append(time.perf_counter() - start)
points = sum(len(c["steps"]) for c in answer["curves"])
print(json.dumps({**times, "runs": len(runs), "points_last_chart": points, "bytes": size,
                  "json_bytes": json_size}))
"""


def api_times(uri: str, width: int, runs: int, keys: list[str]) -> dict[str, Any]:
    """Each chart's ``/api/curves`` of ``runs`` runs in seconds, cold (a new process) and
    warm, as the page asks it (bytes), and warm as JSON."""
    command = [sys.executable, "-c", API_TIMES, uri, str(width), str(runs), *keys]
    return dict(json.loads(subprocess.run(command, check=True, capture_output=True).stdout))


def load() -> str:
    """The load average (1, 5, 15 minutes), as printed beside each measure."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@contextlib.contextmanager
def store_uri(kind: str, tmp: str) -> Iterator[str]:
    """An empty store of ``kind``: an SQLite file in ``tmp``, or a throwaway PostgreSQL."""
    if kind == "sqlite":
        Path(tmp).mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{Path(tmp) / 'workspace.db'}"
        return
    from bench_postgres import server

    with server(None) as (uri, _version):
        yield uri


def first_charts(browser: Any, url: str) -> tuple[float, float]:
    """Seconds until the first chart, and every chart in view, is drawn (fresh context)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(".chart[data-drawn]", state="attached", timeout=120_000)
    first = time.perf_counter() - start
    page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling=20)
    in_view = time.perf_counter() - start
    shown = page.evaluate("document.querySelectorAll('.chart[data-drawn]').length")
    lines = page.evaluate("document.querySelector('.chart[data-drawn]').dataset.series")
    context.close()
    print(
        f"  first {first:.2f} s, in view {in_view:.2f} s ({shown} charts, {lines} lines) "
        f"[load {load()}]"
    )
    return first, in_view


BFCACHE_OFF = "--disable-back-forward-cache"
# a frame painted after the charts' new data: the next animation frame, then the one after
PAINTED = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
FORGET_DRAWN = (
    "() => document.querySelectorAll('.chart[data-drawn]').forEach((c) => delete c.dataset.drawn)"
)


def come_back(browser: Any, url: str, run_url: str, samples: int) -> dict[str, list[float]]:
    """Seconds until every chart in view is drawn again in a context that has shown the
    workspace: the page reloaded, and navigated to from a run's page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling=20)
    times: dict[str, list[float]] = {"reload": [], "from a run's page": [], "back": []}
    for _ in range(samples):
        page.wait_for_load_state("networkidle")  # as a user who read the page
        page.goto(run_url)
        page.wait_for_selector(".chart[data-drawn]", state="attached", timeout=120_000)
        start = time.perf_counter()
        page.go_back(wait_until="commit")  # restored from the back-forward cache: no load
        page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling="raf")
        times["back"].append(time.perf_counter() - start)
        start = time.perf_counter()
        page.reload()
        page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling="raf")
        times["reload"].append(time.perf_counter() - start)
        page.goto(run_url)
        page.wait_for_selector(".chart[data-drawn]", state="attached", timeout=120_000)
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling="raf")
        times["from a run's page"].append(time.perf_counter() - start)
    context.close()
    return times


def redraws(browser: Any, url: str, samples: int) -> dict[str, list[float]]:
    """Seconds from a change of the open workspace until every chart in view holds its new
    data and is painted: smoothing on and off, moved while on, a run hidden and shown, x as
    time and step."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling=20)
    smoothing = page.get_by_label("smoothing")
    first_run = page.locator(".run-list input").first
    x_axis = page.get_by_label("x axis")
    # each change, done twice a sample (there and back), and the smoothing it starts from
    changes = {
        "smoothing 0.6, then 0": (lambda i: smoothing.fill("0.6" if i % 2 == 0 else "0"), "0"),
        "smoothing moved, 0.6 to 0.8 and back": (
            lambda i: smoothing.fill("0.6" if i % 2 else "0.8"),
            "0.6",
        ),
        "a run hidden, then shown": (lambda i: first_run.click(), "0"),
        "x as time, then step": (
            lambda i: x_axis.select_option("time" if i % 2 == 0 else "step"),
            "0",
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in changes}

    def timed(change: Callable[[], object]) -> float:
        page.evaluate(FORGET_DRAWN)
        start = time.perf_counter()
        change()
        page.wait_for_function(IN_VIEW_DRAWN, timeout=120_000, polling="raf")
        page.evaluate(PAINTED)
        return time.perf_counter() - start

    for name, (change, smoothed) in changes.items():
        if smoothing.input_value() != smoothed:
            timed(lambda: smoothing.fill(smoothed))  # noqa: B023 (called at once)
        for i in range(2 * samples):
            times[name].append(timed(lambda: change(i)))  # noqa: B023 (called at once)
    context.close()
    return times


def report_warm(measures: dict[str, list[float]]) -> None:
    """Print each warm measure: its median and slowest (target 0.3 s)."""
    for name, samples in measures.items():
        print(
            f"  {name}: median {statistics.median(samples):.3f} s (slowest {max(samples):.3f}; "
            f"{', '.join(f'{s:.2f}' for s in samples)}) [load {load()}]"
        )


def main() -> None:
    """Fill, measure cold and warm, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--width", type=int, default=484, help="a workspace chart at 1280 px")
    parser.add_argument("--in-view", type=int, default=7, help="charts in the first screen")
    parser.add_argument("--cold", type=int, default=3, help="samples with a new server each")
    parser.add_argument("--warm", type=int, default=5, help="samples on a warm server")
    parser.add_argument("--no-browser", action="store_true", help="the server's part only")
    parser.add_argument("--only-warm", action="store_true", help="coming back and redraws only")
    parser.add_argument("--uri", help="a store filled before (--keep, or PostgreSQL): not refilled")
    parser.add_argument("--keep", help="fill an SQLite store at this path and keep it")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        uri = args.uri
        if uri is None:
            tmp = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
            uri = stack.enter_context(store_uri(args.store, tmp))
            t0 = time.perf_counter()
            print(f"filling {args.runs} x {args.metrics} x {args.points:,} ...", file=sys.stderr)
            fill(uri, args.runs, args.metrics, args.points)
            print(f"filled in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        filled = f"{args.metrics} metrics x {args.points:,} points"
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; {uri.split(':')[0]}, {args.runs} runs x "
            f"{filled if args.uri is None else 'the metrics and points filled before'}; "
            f"load average {load()}"
        )
        in_view = KEYS[: min(args.in_view, args.metrics)]
        if not args.only_warm:
            times = [api_times(uri, args.width, args.runs, in_view) for _ in range(args.cold)]
            report_api(times, args.width)
        if not args.no_browser:
            if not args.only_warm:
                report_browser(*bench_browser(uri, args.runs, args.cold, args.warm))
            report_warm(bench_warm(uri, args.runs, args.warm))
    print(f"  load average: {load()}")


def report_api(api: list[dict[str, Any]], width: int) -> None:
    """Print the server's part: every chart in view, cold and warm (target: 0.3 s)."""
    cold = [sum(sample["cold"]) for sample in api]
    warm = [sum(sample["warm"]) for sample in api]
    json_warm = [sum(sample["json"]) for sample in api]
    print(
        f"  /api/curves of the {len(api[0]['cold'])} charts in view ({api[0]['runs']} runs "
        f"each, width {width}, {api[0]['points_last_chart']:,} points in the last; as the "
        f"page asks, {api[0]['bytes']:,} bytes a chart): cold median "
        f"{statistics.median(cold):.2f} s (slowest {max(cold):.2f}; slowest chart "
        f"{max(max(s['cold']) for s in api):.2f} s), warm median "
        f"{statistics.median(warm):.3f} s (slowest {max(warm):.3f}; target 0.3 s); as JSON "
        f"({api[0]['json_bytes']:,} bytes), warm {statistics.median(json_warm):.3f} s "
        f"[load {load()}]",
        flush=True,
    )


Sample = tuple[float, float]


def bench_browser(uri: str, runs: int, cold_samples: int, warm_samples: int) -> tuple[Any, ...]:
    """The workspace of ``runs`` runs in chromium: cold and warm server samples, and one
    run's page."""
    shown = f"/?project=bench&limit={runs}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print("cold server, fresh browser context:")
        cold = []
        for _ in range(cold_samples):
            with dashboard(uri) as url:
                cold.append(first_charts(browser, url + shown))
        print("warm server, fresh browser context:")
        with dashboard(uri) as url:
            first_charts(browser, url + shown)  # fills the server's cache
            warm = [first_charts(browser, url + shown) for _ in range(warm_samples)]
        browser.close()
    with dashboard(uri) as url:  # bench_page drives a Playwright of its own
        reference = bench_page(f"{url}/runs/ws00000000", fresh=warm_samples)
    return cold, warm, reference


def bench_warm(uri: str, runs: int, samples: int) -> dict[str, list[float]]:
    """Coming back to the workspace, and redrawing it, in one browser (a warm server)."""
    shown = f"/?project=bench&limit={runs}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, dashboard(uri) as url:
        # with the back-forward cache of a user's chromium (Playwright turns it off)
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, ignore_default_args=[BFCACHE_OFF]
        )
        print("warm server, one browser context (the target: 0.3 s):")
        first_charts(browser, url + shown)  # fills the server's cache
        measures = come_back(browser, url + shown, f"{url}/runs/ws00000000", samples)
        measures |= redraws(browser, url + shown, samples)
        browser.close()
    return measures


def report_browser(cold: list[Sample], warm: list[Sample], reference: dict[str, float]) -> None:
    """Print the browser's medians."""
    for name, samples in (("cold server", cold), ("warm server", warm)):
        firsts, views = zip(*samples, strict=True)
        target = " (target 2 s at a load of 2)" if name == "cold server" else ""
        print(
            f"  {name}: first chart median {statistics.median(firsts):.2f} s "
            f"(slowest {max(firsts):.2f}), charts in view median {statistics.median(views):.2f} s "
            f"(slowest {max(views):.2f}){target}"
        )
    print(
        f"  reference, one run's page: first chart median "
        f"{reference['page_first_chart_cold_median_s']:.2f} s "
        f"(slowest {reference['page_first_chart_cold_max_s']:.2f})"
    )


if __name__ == "__main__":
    main()
