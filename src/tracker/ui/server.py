"""The dashboard's HTTP server: pages, static files and the JSON API over one store.

Built on the standard library's `ThreadingHTTPServer`, so ``tracker ui`` needs no web
framework. Safe by default:

* it binds 127.0.0.1 and answers only requests addressed to a loopback name (a web page
  elsewhere cannot reach it through DNS rebinding);
* on any other address it requires an access token: open ``/?token=TOKEN`` once and a
  cookie carries it after that (API clients send ``Authorization: Bearer TOKEN``);
* pages draw every name and value as text, and a Content-Security-Policy allows scripts
  from the server itself only;
* a connection that sends nothing for ``idle_timeout`` seconds (an idle kept-alive one, a
  client that stopped half-way through a request) is closed: each connection holds a
  thread, and a client must not be able to hold them forever.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tracker.store.base import Store, StoreError
from tracker.ui.api import ApiError, dispatch
from tracker.ui.assets import Asset, load_assets
from tracker.ui.wire import CONTENT_TYPE, Packed
from tracker.views import dumps

__all__ = ["IDLE_TIMEOUT_S", "Dashboard", "is_loopback"]

_COOKIE = "tracker_token"
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_PAGES = ("/", "/compare", "/evals", "/evals/diff", "/lineage")
IDLE_TIMEOUT_S = 60.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Dashboard(ThreadingHTTPServer):
    """``tracker ui``: serves the pages and API over ``store`` at ``(host, port)``.

    ``token`` is required (a non-empty string) unless ``host`` is a loopback address.
    A connection is closed once it has sent nothing for ``idle_timeout`` seconds.
    """

    daemon_threads = True

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        idle_timeout: float = IDLE_TIMEOUT_S,
    ) -> None:
        if not is_loopback(host) and not token:
            raise ValueError(f"serving on {host} needs an access token")
        if token == "":
            raise ValueError("an empty access token would let anyone in: give a token or None")
        if not idle_timeout > 0:
            raise ValueError(
                f"idle_timeout must be a positive number of seconds, not {idle_timeout}"
            )
        self.store = store
        self.idle_timeout = idle_timeout
        self.host = host
        self.token = token
        self.loopback_only = is_loopback(host)
        self.assets = load_assets()
        if ":" in host:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__((host.strip("[]"), port), _Handler)

    @property
    def url(self) -> str:
        """The address to open, with the token where one is needed."""
        port = self.server_address[1]
        shown = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?{urlencode({'token': self.token})}" if self.token else ""
        return f"http://{shown}:{port}/{query}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out or went away is no error worth a traceback."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: Dashboard
    protocol_version = "HTTP/1.1"
    server_version = "tracker-ui"
    # headers and body go out in two writes: without TCP_NODELAY the body of a kept-alive
    # connection's answer can wait for the client's delayed ACK (40 ms on Linux)
    disable_nagle_algorithm = True

    def setup(self) -> None:
        """Every read and write of the connection times out after the idle timeout."""
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the dashboard does not log every request."""

    def do_GET(self) -> None:
        """Answer a page, a static file or an API call."""
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if self.server.loopback_only and not self._addressed_to_loopback():
            self._send_text(HTTPStatus.FORBIDDEN, "this dashboard answers only on localhost")
            return
        if not self._authorized(url.path, query):
            return
        if url.path.startswith("/api/"):
            self._api(url.path, query)
        elif url.path.startswith("/static/"):
            self._static(url.path.removeprefix("/static/"))
        elif url.path in _PAGES or url.path.startswith("/runs/"):
            self._send(HTTPStatus.OK, self.server.assets["index.html"], cache=False)
        else:
            self._send_text(HTTPStatus.NOT_FOUND, "not found")

    # -- access --------------------------------------------------------------------------
    def _addressed_to_loopback(self) -> bool:
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name)

    def _authorized(self, path: str, query: dict[str, list[str]]) -> bool:
        token = self.server.token
        if token is None:
            return True
        given = query.get("token", [None])[-1]
        if given is not None and hmac.compare_digest(given, token):
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Set-Cookie", f"{_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
            self.send_header("Location", path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        if hmac.compare_digest(self._presented_token(), token):
            return True
        self._send_text(
            HTTPStatus.UNAUTHORIZED, "open the link with ?token=... that tracker ui printed"
        )
        return False

    def _presented_token(self) -> str:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ")
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == _COOKIE:
                return value
        return ""

    # -- answers -------------------------------------------------------------------------
    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        try:
            status, payload = HTTPStatus.OK, dispatch(self.server.store, path, query)
        except ApiError as exc:
            status, payload = HTTPStatus(exc.status), exc.payload
        except StoreError as exc:
            status, payload = HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)}
        if isinstance(payload, Packed):  # /api/curves?format=binary
            self._send(status, Asset(payload.body, CONTENT_TYPE), cache=False)
            return
        self._send(status, Asset(dumps(payload).encode(), "application/json"), cache=False)

    def _static(self, name: str) -> None:
        asset = self.server.assets.get(name)
        if asset is None or name == "index.html":
            self._send_text(HTTPStatus.NOT_FOUND, "not found")
            return
        self._send(HTTPStatus.OK, asset, cache=True)

    def _send_text(self, status: HTTPStatus, text: str) -> None:
        self._send(status, Asset(text.encode(), "text/plain; charset=utf-8"), cache=False)

    def _send(self, status: HTTPStatus, asset: Asset, *, cache: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", asset.content_type)
        self.send_header("Content-Length", str(len(asset.body)))
        # static URLs carry a hash of their content (see load_assets): cache them for good
        self.send_header(
            "Cache-Control", "public, max-age=31536000, immutable" if cache else "no-cache"
        )
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(asset.body)
