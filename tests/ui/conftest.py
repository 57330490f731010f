"""Fixtures of the dashboard tests: a store with ordinary and hostile runs, served."""

from __future__ import annotations

import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from tracked_runs import track  # noqa: E402

HOSTILE_NAME = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
HOSTILE_CONFIG = {
    "<b>key</b>": '<img src=x onerror="window.__pwned=1">',
    "long": "x" * 100_000,
    "unicode": "日本語 🚀 \u202eright-to-left",
    "quote": "\"'&amp;",
}
HOSTILE_METRIC = "train/<i>odd</i>"
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


@pytest.fixture
def served(filled_store: dict[str, str]) -> Iterator[Served]:
    """The dashboard over ``filled_store`` on 127.0.0.1, any free port."""
    pytest.importorskip("plotly")
    with serve() as url:
        yield Served(url, filled_store)
