"""The dashboard closes connections that send nothing, so no client holds its threads."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from ui_kit import Served, serve

pytest.importorskip("bokeh")


def _request_threads() -> int:
    return sum("process_request" in t.name for t in threading.enumerate())


def test_silent_and_half_sent_connections_are_closed(
    tracker_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client that connects and sends nothing, one that stops inside the request line,
    one that stops inside the headers and a kept-alive one gone quiet are each closed after
    the idle timeout, quietly, while other clients are served."""
    with serve(idle_timeout=0.5) as url:
        address = urlsplit(url)
        assert address.hostname is not None and address.port is not None
        where = (address.hostname, address.port)
        silent = socket.create_connection(where)
        in_line = socket.create_connection(where)
        in_line.sendall(b"GET /api/ru")
        in_headers = socket.create_connection(where)
        in_headers.sendall(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        kept = http.client.HTTPConnection(*where, timeout=30)
        kept.request("GET", "/api/runs")
        reply = kept.getresponse()
        assert (reply.status, json.loads(reply.read())["runs"]) == (200, [])
        assert Served(url, {}).get("/api/runs").status == 200  # the others wait meanwhile
        assert kept.sock is not None
        for client in (silent, in_line, in_headers, kept.sock):
            client.settimeout(30)
            assert client.recv(1024) == b"", "the server should have closed the connection"
            client.close()
        deadline = time.monotonic() + 30
        while _request_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _request_threads() == 0
        assert Served(url, {}).get("/api/runs").status == 200
    assert "Traceback" not in capsys.readouterr().err


def test_the_idle_timeout_must_be_positive(tracker_dir: Path) -> None:
    """A timeout of zero would close every connection at once: refused."""
    from tracker import open_store
    from tracker.ui.server import Dashboard

    with pytest.raises(ValueError, match="positive number of seconds"):
        Dashboard(open_store(), idle_timeout=0)


def test_an_empty_token_is_refused(tracker_dir: Path) -> None:
    """An empty access token would let anyone in: refused, even on loopback."""
    from tracker import open_store
    from tracker.ui.server import Dashboard

    with pytest.raises(ValueError, match="empty access token"):
        Dashboard(open_store(), token="")
