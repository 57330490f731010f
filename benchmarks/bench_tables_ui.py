"""Tables-in-the-dashboard benchmark: one step's rows of a 100,000-row table (1,000 steps x
100 completions) drawn in the browser, timed from picking the step to the rows drawn.

The store is filled through the store API (not timed); the dashboard is a ``tracker ui``
process of its own; the browser is Debian's headless chromium driven by Playwright. For
each of ``--fresh`` new browser contexts (a fresh profile: empty cache), the run page is
opened and ``--picks`` steps are picked on the slider, each timed in the page from the
slider's input event until that step's rows are in the table and the next frame has been
painted. Also times ``GET /api/runs/RUN/table?step=S`` alone. Run:
``python benchmarks/bench_tables_ui.py [--steps N] [--rows N] [--fresh N] [--picks N]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_ui import CHROMIUM, CHROMIUM_ARGS, dashboard, report, timed

from tracker import open_store
from tracker.records import RunRecord
from tracker.store.base import Store

TABLE = "train/completions"
# In the page: pick step ``i`` (the i-th: the steps are 0, 1, ...) on the slider; milliseconds
# until its rows are drawn.
PICK = """async (i) => {
  const viewer = document.querySelector("section.tables");
  const slider = viewer.querySelector("input[type=range]");
  const step = () => viewer.querySelector(".pane")?.dataset.step;
  const start = performance.now();
  slider.value = String(i);
  slider.dispatchEvent(new Event("input", { bubbles: true }));
  await new Promise((resolve) => {
    const done = () => viewer.dataset.loading === "0" && step() === String(i);
    if (done()) { resolve(); return; }
    const watch = new MutationObserver(() => { if (done()) { watch.disconnect(); resolve(); } });
    watch.observe(viewer, { subtree: true, childList: true, attributes: true });
  });
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
  return performance.now() - start;
}"""


def fill_table(store: Store, steps: int, rows: int) -> str:
    """One finished run with the table `TABLE`: ``rows`` completions at each of ``steps``
    steps (a 200-character prompt, a 1,000-character completion, two rewards)."""
    run = RunRecord("tablerun00", "bench", "completions", started_at=time.time())
    store.start_run(run, resume=False)
    prompt = ("Write a short story about a fox. " * 7)[:200]
    completion = ("The quick brown fox jumps over the lazy dog. " * 23)[:1000]
    for step in range(steps):
        store.log_table(
            run.run_id,
            TABLE,
            step,
            [
                {"prompt": prompt, "completion": f"{step}/{i} {completion}", "reward": i / rows}
                | {"format_reward": float(i % 2), "advantage": (i - rows / 2) / rows}
                for i in range(rows)
            ],
        )
    store.finish_run(run.run_id, "finished", time.time(), None)
    return run.run_id


def bench_api(url: str, run_id: str, steps: int) -> dict[str, float]:
    """Seconds of ``GET /api/runs/RUN/table`` of one step (median of 20 random steps)."""
    picked = random.Random(1).sample(range(steps), min(20, steps))

    def fetch(step: int) -> float:
        address = f"{url}/api/runs/{run_id}/table?key={TABLE}&step={step}"
        start = time.perf_counter()
        with urllib.request.urlopen(address) as response:
            response.read()
        return time.perf_counter() - start

    return {"api_step_rows_median_ms": 1e3 * statistics.median(fetch(s) for s in picked)}


def bench_browser(url: str, steps: int, fresh: int, picks: int) -> dict[str, float]:
    """Milliseconds from picking a step to its rows drawn: the first pick of each fresh
    context, and every pick (median, p90, slowest)."""
    from playwright.sync_api import sync_playwright

    choose = random.Random(2)
    first, every = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(fresh):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)
            shown, times = steps - 1, []  # the page opens on the last step
            for _ in range(picks):
                shown = (shown + choose.randrange(1, steps)) % steps  # another step
                times.append(float(page.evaluate(PICK, shown)))
            first.append(times[0])
            every += times
            context.close()
        browser.close()
    every.sort()
    return {
        "browser_first_pick_median_ms": statistics.median(first),
        "browser_first_pick_max_ms": max(first),
        "browser_pick_median_ms": statistics.median(every),
        "browser_pick_p90_ms": every[int(len(every) * 0.9)],
        "browser_pick_max_ms": every[-1],
    }


def main() -> None:
    """Fill the store, measure, print the machine and the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--fresh", type=int, default=5)
    parser.add_argument("--picks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'tables.db'}"
        store = open_store(uri)
        fill = timed(lambda: fill_table(store, args.steps, args.rows))
        store.close()
        results = {"fill_s": fill}
        with dashboard(uri) as url:
            results |= bench_api(url, "tablerun00", args.steps)
            results |= bench_browser(f"{url}/runs/tablerun00", args.steps, args.fresh, args.picks)
    report(f"table of {args.steps:,} steps x {args.rows} rows", results)


if __name__ == "__main__":
    main()
