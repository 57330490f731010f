"""What the alert tests share: a webhook receiver on 127.0.0.1 that records what it is
posted, and a scene of training processes to watch.

Importable as ``alert_kit`` (this folder has no ``__init__.py``; its conftest puts it on the
path)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracker.store import Store
from workers import default_sigint


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


TRAIN = """
import sys, time
from tracker import CustomTracker
run = CustomTracker(project="watched", run_name=sys.argv[1]).start()
for step in range(50):
    run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
run.flush()
print("logged", flush=True)
time.sleep(120)  # hung: alive (heartbeats go on), no new step
"""


@dataclass
class Scene:
    """Training runs in processes of their own, a webhook receiver, and the store."""

    env: dict[str, str]
    store: Store
    receiver: Receiver
    processes: list[subprocess.Popen[str]]

    def start(self, *argv: str, **env: str) -> subprocess.Popen[str]:
        """Start ``python ARGV`` with the scene's environment (and ``env``); killed at the
        test's end if still alive."""
        process = subprocess.Popen(
            [sys.executable, *argv],
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,  # noqa: PLW1509 (the tests stop it with SIGINT)
        )
        self.processes.append(process)
        return process

    def train(self, name: str) -> subprocess.Popen[str]:
        """Start a training process of run ``name`` that logs 50 steps, then hangs alive."""
        process = self.start("-c", TRAIN, name)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "logged"
        return process

    def alerts(self, name: str) -> list[dict[str, object]]:
        """The payloads of the alert events of run ``name``."""
        (run,) = [r for r in self.store.runs(project="watched") if r.name == name]
        return [e.payload for e in self.store.events(run.run_id) if e.kind == "alert"]
