"""What the dashboard tests share: hostile values, a served dashboard, an HTTP getter.

Importable as ``ui_kit`` (this folder has no ``__init__.py``; pytest puts it on the path)."""

from __future__ import annotations

import math
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

HOSTILE_NAME = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
HOSTILE_CONFIG = {
    "<b>key</b>": '<img src=x onerror="window.__pwned=1">',
    "long": "x" * 100_000,
    "unicode": "日本語 🚀 \u202eright-to-left",
    "quote": "\"'&amp;",
}
HOSTILE_METRIC = "train/<i>odd</i>"
HOSTILE_TEXTS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "x" * 300_000,  # past tracker.tables.MAX_TEXT: kept cut
    "emoji 🚀🤗 done",
    "\u202eright-to-left مرحبا",
    "lone \ud800 surrogate",  # stored backslash-escaped: "lone \\ud800 surrogate"
]
TABLE = "train/completions"
TABLE_STEPS = [0, 10, 20, 30]  # of run "tables"; the hostile texts at the last
REWARDS = [0.5, 10.0, 2.0, float("nan")]  # as text, "10" sorts before "2"
LONG_POINTS = 20_000
SPIKE_EVERY = 997  # train/long is 0 but for a spike of 1 every SPIKE_EVERY steps


@dataclass
class Reply:
    """An HTTP answer: status, headers, body."""

    status: int
    headers: Message
    body: bytes


@dataclass
class Served:
    """A running dashboard and the runs it shows, by name."""

    url: str
    runs: dict[str, str]

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Reply:
        """GET ``path`` (no redirects followed)."""
        request = urllib.request.Request(self.url + path, headers=dict(headers or {}))
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@contextmanager
def serve(**options: object) -> Iterator[str]:
    """Serve the default store in a thread; yield its base URL (no trailing slash)."""
    from tracker import open_store
    from tracker.ui.server import Dashboard

    store = open_store()
    dashboard = Dashboard(store, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=dashboard.serve_forever, daemon=True)
    thread.start()
    try:
        yield dashboard.url.split("/?")[0].rstrip("/")
    finally:
        dashboard.shutdown()
        dashboard.server_close()
        store.close()


def track_tables() -> dict[str, str]:
    """Two runs with the table `TABLE`: ``tables`` at `TABLE_STEPS` (4 rows a step: a
    prompt, a completion, a reward from `REWARDS`, a ``note`` of None; at the last step
    the completions are `HOSTILE_TEXTS`), and ``tables-b`` at steps 10 and 40."""
    from tracker import CustomTracker

    def rows(step: int, run: str) -> list[dict[str, Any]]:
        return [
            {"prompt": f"prompt {step}/{i}", "completion": f"{run} {step}/{i}", "reward": r}
            | {"note": None}
            for i, r in enumerate(REWARDS)
        ]

    ids = {}
    with CustomTracker("demo", "tables") as run:
        for step in TABLE_STEPS[:-1]:
            run.log_table(TABLE, rows(step, "answer"), step=step)
        last = TABLE_STEPS[-1]
        hostile = [{"prompt": f"prompt {last}/{i}", "completion": text, "reward": float(i)}
                   for i, text in enumerate(HOSTILE_TEXTS)]  # fmt: skip
        run.log_table(TABLE, hostile, step=last)
        ids["tables"] = run.run_id
    with CustomTracker("demo", "tables-b") as run:
        for step in (10, 40):
            run.log_table(TABLE, rows(step, "other"), step=step)
        ids["tables-b"] = run.run_id
    return {name: run_id for name, run_id in ids.items() if run_id is not None}


LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3]
SEEDS = 10
SWEEP_STEPS = 20


def sweep_loss(lr: float, seed: int, step: int) -> float:
    """``train/loss`` of the sweep's run (``lr``, ``seed``) at ``step``: best at 1e-4."""
    return (1.0 + 0.3 * abs(math.log10(lr) + 4)) / (step + 1) + 0.01 * seed


def track_sweep() -> dict[str, str]:
    """A learning-rate sweep of project ``sweep``: `LEARNING_RATES` x `SEEDS` runs
    (``lr1e-05-s0``...) tracked with `CustomTracker`, `SWEEP_STEPS` steps of
    ``train/loss`` (`sweep_loss`) and an ``eval/loss`` every 5 steps; besides
    ``learning_rate`` and ``seed`` their configs differ in a list (``optim.betas``), a key
    that is a number in half the runs and a string in the others (``warmup``), a text set
    per run (``output_dir``) and one only some runs set (``note``); ``model.name`` is the
    same in all. Returns the run ids by name."""
    from tracker import CustomTracker

    ids = {}
    for lr in LEARNING_RATES:
        for seed in range(SEEDS):
            name = f"lr{lr:g}-s{seed}"
            config = {
                "learning_rate": lr,
                "seed": seed,
                "model": {"name": "tiny", "layers": 2},
                "optim": {"betas": [0.9, 0.99 if seed % 2 else 0.999]},
                "warmup": 100 if seed < SEEDS // 2 else "auto",
                "output_dir": f"/out/{name}",
            } | ({"note": "rerun"} if seed == 0 else {})
            with CustomTracker("sweep", name, config=config) as run:
                for step in range(SWEEP_STEPS):
                    metrics = {"train/loss": sweep_loss(lr, seed, step)}
                    if step % 5 == 0:
                        metrics["eval/loss"] = sweep_loss(lr, seed, step) / 2
                    run.log_metrics(metrics, step=step)
                assert run.run_id is not None
                ids[name] = run.run_id
    return ids


SMALL_LRS = [1e-4, 3e-4, 1e-3, 3e-3]
SMALL_SEEDS = 3


def track_small_sweep() -> dict[str, str]:
    """A project ``small`` of 13 runs, as a user's first sweep looks: a ``learning_rate``
    x ``seed`` sweep ``lr-sweep`` of 12 runs (`SMALL_LRS` x `SMALL_SEEDS`, `sweep_loss`
    for ``train/loss`` over 30 steps and ``eval/loss`` every 10) and one unrelated run
    ``eval-only`` outside the sweep (another config: ``eval_dataset``, ``batch_size``; one
    point of ``eval/loss``, 0.9, and of ``eval/accuracy``), started last. Returns the run
    ids by name."""
    from tracker import CustomTracker

    ids = {}
    for lr in SMALL_LRS:
        for seed in range(SMALL_SEEDS):
            name = f"lr{lr:g}-s{seed}"
            config = {"learning_rate": lr, "seed": seed, "model": {"lora": {"r": 8 << seed}}}
            with CustomTracker("small", name, config=config, sweep="lr-sweep") as run:
                for step in range(30):
                    metrics = {"train/loss": sweep_loss(lr, seed, step)}
                    if step % 10 == 9:
                        metrics["eval/loss"] = sweep_loss(lr, seed, step) / 2
                    run.log_metrics(metrics, step=step)
                assert run.run_id is not None
                ids[name] = run.run_id
    config = {"eval_dataset": "mmlu", "batch_size": 64}
    with CustomTracker("small", "eval-only", config=config) as run:
        run.log_metrics({"eval/loss": 0.9, "eval/accuracy": 0.61}, step=0)
        assert run.run_id is not None
        ids["eval-only"] = run.run_id
    return ids


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
"""Where the browser tests keep their screenshots (ignored by git)."""


def open_page(page: Any, url: str) -> None:
    """Go to ``url`` and wait until its page says it is ready (``body[data-ready]``)."""
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)


def shot(page: Any, name: str) -> None:
    """Keep a full-page screenshot as ``artifacts/ui/NAME``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


CHART = "key => [...document.querySelectorAll('.chart')].find(c => c.dataset.key === key)"


def chart(page: Any, key: str, expression: str) -> Any:
    """``expression`` about the chart of ``key``: ``node`` is its element, ``plot`` its
    BokehJS plot (the model the canvas is drawn from)."""
    return page.evaluate(
        f"key => {{ const node = ({CHART})(key); const plot = node.chart.plot; "
        f"return {expression}; }}",
        key,
    )


def series(page: Any, key: str) -> int:
    """How many lines the chart of ``key`` draws: visible line renderers with points,
    once BokehJS has drawn the plot on its canvas."""
    page.wait_for_function(f"key => ({CHART})(key)?.dataset.drawn === '1'", arg=key)
    drawn = chart(
        page,
        key,
        "(function canvases(root) { return [...root.querySelectorAll('*')].flatMap(e => ["
        "...(e.tagName === 'CANVAS' ? [e] : []), "
        "...(e.shadowRoot ? canvases(e.shadowRoot) : [])]); "
        "})(node).some(c => c.width > 0 && c.height > 0)",
    )
    assert drawn, f"no canvas drawn for {key}"
    return int(
        chart(
            page,
            key,
            "plot.renderers.filter(r => r.visible && r.glyph.constructor.__name__ === 'Line'"
            " && r.data_source.get_length() > 0).length",
        )
    )


def hover(page: Any, key: str) -> None:
    """Move the mouse over the chart of ``key``, a third of the way in."""
    area = page.evaluate(f"key => ({CHART})(key).getBoundingClientRect().toJSON()", key)
    page.mouse.move(area["x"] + 10, area["y"] + 10)
    page.mouse.move(area["x"] + area["width"] / 3, area["y"] + area["height"] / 2, steps=8)
