"""`Sender`: posts alerts to webhooks from a thread of its own.

* `Sender.send` only queues (any thread, never waits): a slow or unreachable webhook
  never holds up training. Past `MAX_QUEUED` waiting posts new alerts are dropped and warned
  about once (they stay recorded as events on their runs).
* Each alert is posted to each webhook **at most once**: a post is tried again (up to
  ``retries`` times, waiting `BACKOFF_S`, doubled each time) only when it surely did not
  arrive or the receiver said to try again: the connection could not be made, or the
  answer was 429 or 5xx. A post that timed out after it was sent is not repeated.
* The thread ends when nothing is left to send, and starts again with the next alert.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from tracker.alerts.alert import Alert
from tracker.alerts.webhooks import Webhook
from tracker.records import Record

__all__ = ["BACKOFF_S", "MAX_QUEUED", "Sender"]

log = logging.getLogger("tracker")

BACKOFF_S = 0.5
"""Wait before the first retry of a post; doubled for each one after."""
MAX_QUEUED = 1000
"""Most posts waiting at once; past it new alerts are dropped (one warning)."""


class _Post(Record):
    __slots__ = ("alert", "error", "hook", "not_before", "tries")

    def __init__(
        self,
        alert: Alert,
        hook: Webhook,
        tries: int = 0,
        not_before: float = 0.0,
        error: str | None = None,
    ) -> None:
        self.alert = alert
        self.hook = hook
        self.tries = tries
        self.not_before = not_before
        self.error = error  # why the last try failed


class Sender:
    """Posts alerts to ``webhooks``: each one at most once, retried ``retries`` times."""

    def __init__(self, webhooks: Sequence[Webhook], *, retries: int, timeout: float) -> None:
        self.webhooks = list(webhooks)
        self._retries = retries
        self._timeout = timeout
        self._posts: list[_Post] = []
        self._sending: _Post | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()

    def send(self, alert: Alert) -> None:
        """Queue ``alert`` for every webhook; returns at once."""
        if not self.webhooks:
            return
        with self._cond:
            if len(self._posts) + len(self.webhooks) > MAX_QUEUED:
                self._warn("<queue>", f"more than {MAX_QUEUED} alert posts wait; alert dropped")
                return
            self._posts.extend(_Post(alert, hook) for hook in self.webhooks)
            if self._thread is None:
                thread = threading.Thread(target=self._loop, name="tracker-alerts", daemon=True)
                try:
                    thread.start()
                except RuntimeError as exc:  # no thread to be had: the alert stays an event
                    del self._posts[-len(self.webhooks) :]
                    self._warn("<thread>", f"cannot start the alert thread ({exc}); alert dropped")
                    return
                self._thread = thread
            self._cond.notify()

    def drain(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for every queued post; whether all were done."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._posts or self._sending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def unsent(self) -> str:
        """What is still to be posted, by webhook (masked): how many alerts, and why the
        last try of them failed; empty when nothing is."""
        with self._cond:
            posts = [*self._posts, *([self._sending] if self._sending else [])]
        by_hook: dict[str, list[_Post]] = {}
        for post in posts:
            by_hook.setdefault(post.hook.shown, []).append(post)
        parts = []
        for shown, waiting in by_hook.items():
            errors = [post.error for post in waiting if post.error]
            why = f"the last try failed: {errors[-1]}" if errors else "no answer yet"
            count = f"{len(waiting)} alert{'s' if len(waiting) > 1 else ''}"
            parts.append(f"{count} to {shown} ({why})")
        return "; ".join(parts)

    def _loop(self) -> None:
        while True:
            with self._cond:
                post = self._next()
                if post is None:
                    self._thread = None
                    self._cond.notify_all()
                    return
                self._sending = post
            try:
                self._post(post)
            except Exception as exc:  # a bug of ours: the thread goes on with the next post
                self._warn("<bug>", f"posting an alert failed unexpectedly: {exc!r}")
            finally:
                with self._cond:
                    self._sending = None
                    self._cond.notify_all()

    def _next(self) -> _Post | None:
        """The first post due (waiting for one, the lock held); ``None`` when none is left."""
        while self._posts:
            now = time.monotonic()
            due = min(self._posts, key=lambda p: p.not_before)
            if due.not_before <= now:
                self._posts.remove(due)
                return due
            self._cond.wait(due.not_before - now)
        return None

    def _post(self, post: _Post) -> None:
        post.tries += 1
        error, again = _deliver(post.hook, post.hook.body(post.alert), self._timeout)
        if error is None:
            return
        post.error = error
        if again and post.tries <= self._retries:
            post.not_before = time.monotonic() + BACKOFF_S * 2 ** (post.tries - 1)
            with self._cond:
                self._posts.append(post)
            return
        tries = f"{post.tries} tries" if post.tries > 1 else "1 try, not repeated"
        self._warn(
            post.hook.url,
            f"alert webhook {post.hook.shown} failed ({error}; {tries}); alerts are still "
            "recorded as events on their runs",
        )

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("tracker: %s (warned once)", message)


def _deliver(hook: Webhook, body: bytes, timeout: float) -> tuple[str | None, bool]:
    """Post ``body``: ``(None, _)`` when taken, else what went wrong and whether the post
    may be repeated (it surely did not arrive, or the receiver asked for it again)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "tracker-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}", exc.code == 429 or exc.code >= 500
    except urllib.error.URLError as exc:  # before anything was sent, unless it timed out
        reason = exc.reason
        timed_out = isinstance(reason, TimeoutError)
        return f"{type(reason).__name__}: {reason}", not timed_out
    except (OSError, ValueError) as exc:  # timed out or cut while answering: maybe arrived
        return f"{type(exc).__name__}: {exc}", False
    return None, False
