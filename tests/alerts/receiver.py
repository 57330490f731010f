"""A webhook receiver on 127.0.0.1 that records what it is posted, for the alert tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """Posts received, by path; ``answers`` are the statuses of the next posts (then 200)."""

    url: str
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def taken(self, path: str = "") -> list[dict[str, Any]]:
        """Bodies of the posts to ``path`` (any path when empty) that were answered 200."""
        with self.lock:
            return [body for p, body in self.posts if p.endswith(path) and body.get("_ok")]

    def wait_for(self, count: int, path: str = "", timeout: float = 30.0) -> list[dict[str, Any]]:
        """The taken posts once there are ``count`` of them (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while len(self.taken(path)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.taken(path)


@contextmanager
def serve() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with got.lock:
                status = got.answers.pop(0) if got.answers else 200
                body["_ok"] = status == 200
                got.posts.append((self.path, body))
            if got.delay:
                time.sleep(got.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the sender gave up waiting (the timeout test)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    got = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
