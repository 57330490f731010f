"""Fixtures of the dashboard tests: a store with ordinary and hostile runs, served."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from showcase import track_showcase  # noqa: E402
from ui_kit import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    HOSTILE_CONFIG,
    HOSTILE_METRIC,
    HOSTILE_NAME,
    LONG_POINTS,
    SPIKE_EVERY,
    Served,
    serve,
    track_small_sweep,
    track_sweep,
    track_tables,
)

from tracked_runs import track  # noqa: E402


@pytest.fixture
def filled_store(tracker_dir: Path) -> dict[str, str]:
    """Runs tracked for real: ``alpha`` (with ``train/long``, LONG_POINTS points with
    spikes), ``beta`` (other config, higher loss), and one whose name, config and a
    metric name are hostile, with NaN and infinite values."""
    return {
        "alpha": track(
            "alpha",
            config={"lr": 0.1, "model": {"layers": 2}},
            steps=LONG_POINTS,
            extra={"train/long": [float(i % SPIKE_EVERY == 0) for i in range(LONG_POINTS)]},
        ),
        "beta": track("beta", config={"lr": 0.2, "model": {"layers": 4}}, offset=0.5),
        "hostile": track(
            HOSTILE_NAME,
            config=HOSTILE_CONFIG,
            extra={HOSTILE_METRIC: [float("nan"), float("inf"), 1.0, 2.0]},
        ),
    }


@pytest.fixture
def served(filled_store: dict[str, str]) -> Iterator[Served]:
    """The dashboard over ``filled_store`` on 127.0.0.1, any free port."""
    pytest.importorskip("bokeh")
    with serve() as url:
        yield Served(url, filled_store)


@pytest.fixture
def tables_served(filled_store: dict[str, str]) -> Iterator[Served]:
    """The dashboard over ``filled_store`` and the two runs of `track_tables`."""
    pytest.importorskip("bokeh")
    runs = filled_store | track_tables()
    with serve() as url:
        yield Served(url, runs)


@pytest.fixture(scope="module")
def sweep_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The dashboard over a store of `track_sweep`'s 50 runs, tracked once for the module."""
    pytest.importorskip("bokeh")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKER_DIR", str(tmp_path_factory.mktemp("sweep") / "tracker-store"))
        patch.delenv("TRACKER_URI", raising=False)
        patch.setenv("TRACKER_FLUSH_INTERVAL", "0.05")
        patch.setenv("TRACKER_SYSTEM_INTERVAL", "0")
        runs = track_sweep()
        with serve() as url:
            yield Served(url, runs)


@pytest.fixture(scope="module")
def showcase_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The dashboard over `showcase`'s 13-run project at a tenth of its steps (a 300-step
    sweep, a 6,000-step run), tracked once for the module."""
    pytest.importorskip("bokeh")
    root = tmp_path_factory.mktemp("showcase")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKER_DIR", str(root / "tracker-store"))
        patch.delenv("TRACKER_URI", raising=False)
        patch.setenv("TRACKER_SYSTEM_INTERVAL", "0")
        runs = track_showcase(root / "files", scale=0.1)
        with serve() as url:
            yield Served(url, runs)


@pytest.fixture(scope="module")
def small_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The dashboard over `track_small_sweep`'s 13 runs, tracked once for the module."""
    pytest.importorskip("bokeh")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKER_DIR", str(tmp_path_factory.mktemp("small") / "tracker-store"))
        patch.delenv("TRACKER_URI", raising=False)
        patch.setenv("TRACKER_FLUSH_INTERVAL", "0.05")
        patch.setenv("TRACKER_SYSTEM_INTERVAL", "0")
        runs = track_small_sweep()
        with serve() as url:
            yield Served(url, runs)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module's tests (skipped without Playwright or chromium)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing (scripts/install_browser.sh)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh page that fails the test on any script or console error (a blocked script
    among them) or request off the app."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems: list[str] = []

    def check_request(request: Any) -> None:
        if not request.url.startswith((served.url, "data:")):
            problems.append(f"request off the app: {request.url}")

    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    # a Content-Security-Policy violation (BokehJS needing eval, say) is a console error
    opened.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    opened.on("request", check_request)
    yield opened
    context.close()
    assert problems == []
