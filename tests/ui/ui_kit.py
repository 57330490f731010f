"""What the dashboard tests share: hostile values, a served dashboard, an HTTP getter.

Importable as ``ui_kit`` (this folder has no ``__init__.py``; pytest puts it on the path)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message

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
