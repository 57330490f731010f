"""Runs-list benchmark: the dashboard's runs table over a store of 10,000 runs.

On SQLite and on PostgreSQL (a throwaway server on loopback, as the tests make it:
`tests/pg_server.py`; ``--no-postgres`` leaves it out), with ``tracker ui`` a process of its
own as a user runs it, and each store filled through the store API (not timed), as
`bench_ui.py` fills it (10,000 finished runs, 3 metrics each), each run's config the size
of a fine-tuning run's (`fine_tuning_config`: 106 keys, 2.8 kB of JSON, as a
`TrainingArguments` dump is, a LoRA block nested in a model block):

* ``GET /api/runs`` as the runs page asks for it: a page of 100 runs and how many match,
  over HTTP, the first request and then the median of 10: the first page, the last page
  (offset 9,900), a name filter, and the crashed runs (running runs told apart after
  reading); and, for comparison, the most one request gives (5,000 rows);
* the same page with 5 config columns (`SORTED_COLUMNS`) sorted by one of them
  (``sort=config:learning_rate``: the store sorts every run by a path into its JSON), its
  last page, descending by a nested path, and sorted by a final metric;
* where Playwright and /usr/bin/chromium are installed, the runs page in headless chromium:
  from navigation until its rows are drawn (median of 5), then the "last page" button until
  the last run is shown (median of 5), and the table rows the page holds.

Run: ``python benchmarks/bench_runs_list.py [--runs N] [--no-postgres]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_ui import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    dashboard,
    fill_many_runs,
    report,
    timed,
)

from tracker import open_store  # noqa: E402

PAGE = 100  # rows the runs page asks for (views/runs.js)
SORTED_COLUMNS = [
    "config:learning_rate", "config:seed", "config:model.lora.r",
    "config:per_device_train_batch_size", "config:warmup_ratio",
]  # fmt: skip


def fine_tuning_config(i: int) -> dict[str, Any]:
    """Run ``i``'s config: a learning rate x seed x rank sweep among 106 keys (2.8 kB)."""
    return {
        "learning_rate": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3][i % 5],
        "seed": i % 17,
        "per_device_train_batch_size": [4, 8, 16][i % 3],
        "warmup_ratio": (i % 10) / 100,
        "model": {
            "name": f"org/model-{i % 4}b",
            "dtype": "bfloat16",
            "lora": {"r": 8 << (i % 3), "alpha": 16, "dropout": 0.05, "targets": ["q", "v"]},
        },
        "output_dir": f"/checkpoints/run-{i}",
        **{f"training_option_{k}": (k * i) % 97 for k in range(100)},
    }


def fill_runs(store: Any, count: int) -> None:
    """``count`` finished runs as `fill_many_runs` writes them, with `fine_tuning_config`."""
    fill_many_runs(store, count)
    for i in range(count):
        store.log_config(f"r{i:09d}", fine_tuning_config(i))


def bench_api(url: str, runs: int) -> dict[str, float]:
    """``/api/runs`` as the page asks for it: the first request, then medians of 10."""

    def fetch(query: str) -> None:
        with urllib.request.urlopen(f"{url}/api/runs?{query}") as response:
            response.read()

    last = (runs - 1) // PAGE * PAGE
    cols = "&".join(f"cols={column}" for column in SORTED_COLUMNS)
    queries = {
        "first_page": f"limit={PAGE}",
        "last_page": f"limit={PAGE}&offset={last}",
        "name_filter": f"limit={PAGE}&name=run-99",
        "crashed": f"limit={PAGE}&status=crashed",
        "rows_5000": "limit=5000",
        "sorted_config": f"limit={PAGE}&{cols}&sort=config:learning_rate",
        "sorted_config_last_page": f"limit={PAGE}&offset={last}&{cols}&sort=config:learning_rate",
        "sorted_nested_descending": f"limit={PAGE}&{cols}&sort=-config:model.lora.r",
        "sorted_final_metric": f"limit={PAGE}&{cols}&sort=metric:eval/loss",
    }
    results = {"api_first_request_s": timed(lambda: fetch(queries["first_page"]))}
    for name, query in queries.items():
        ask = functools.partial(fetch, query)
        results[f"api_{name}_s"] = statistics.median(timed(ask) for _ in range(10))
    return results


def bench_page(url: str, runs: int) -> dict[str, float]:
    """The runs page in chromium: first rows drawn, the last page reached, rows held."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not Path(CHROMIUM).exists():
        return {}
    last = (runs - 1) // PAGE * PAGE
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()

        def first_rows() -> None:
            page.goto(f"{url}/?view=table")
            page.wait_for_selector("body[data-ready] tbody tr", state="attached")

        def last_page() -> None:
            page.get_by_role("button", name="last page").click()
            page.wait_for_selector(f".pager[data-offset='{last}']", state="attached")

        shown, reached = [], []
        for _ in range(5):
            shown.append(timed(first_rows))
            reached.append(timed(last_page))
        rows: Any = page.evaluate("document.querySelectorAll('tbody tr').length")
        browser.close()
    return {
        "page_rows_drawn_s": statistics.median(shown),
        "page_last_page_s": statistics.median(reached),
        "page_rows_held_on_last_page": float(rows),
    }


def bench_store(uri: str, runs: int) -> dict[str, float]:
    """Fill the store at ``uri`` with ``runs`` runs, serve it, measure."""
    store = open_store(uri)
    start = time.perf_counter()
    fill_runs(store, runs)
    store.close()
    print(f"  filled in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    with dashboard(uri) as url:
        return bench_api(url, runs) | bench_page(url, runs)


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server's URI."""
    from pg_server import throwaway_postgres

    with throwaway_postgres() as server:
        yield server.uri


def main() -> None:
    """Measure on SQLite, then on PostgreSQL; print a table each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite: filling {args.runs:,} runs ...", file=sys.stderr)
        sqlite = bench_store(f"sqlite:///{tmp}/many.db", args.runs)
    report(f"runs table over {args.runs:,} runs, SQLite", sqlite)
    if not args.no_postgres:
        print(f"PostgreSQL: filling {args.runs:,} runs ...", file=sys.stderr)
        with postgres() as uri:
            report(f"runs table over {args.runs:,} runs, PostgreSQL", bench_store(uri, args.runs))


if __name__ == "__main__":
    main()
