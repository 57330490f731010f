"""`Sampler`: a daemon thread that reads every source each interval and queues one point."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from tracker.calls import Point

__all__ = ["Point", "Sampler", "Source"]

log = logging.getLogger("tracker")


_STOP_WAIT_S = 2.0


class Source(Protocol):
    """Something the sampler reads: host, GPUs, torch's allocator."""

    name: str

    def sample(self) -> dict[str, float]:
        """Current values, keyed by name relative to the sampler's prefix."""
        ...

    def close(self) -> None:
        """Release what the source holds (NVML handles)."""
        ...


class Sampler:
    """Samples ``open_sources()`` every ``interval`` seconds on a daemon thread.

    Sources are opened on the thread, so a slow driver never delays the run's start.
    Each point goes to ``sink`` (the writer queue's ``append``) under ``prefix``, at the
    step ``step()`` returns. A source that fails is logged once and sampled again next
    time; the thread never raises. `stop` takes a last sample so that short runs have two.
    """

    def __init__(
        self,
        sink: Callable[[Point], object],
        *,
        interval: float,
        open_sources: Callable[[], Sequence[Source]],
        step: Callable[[], int],
        prefix: str = "system/",
        name: str = "tracker-system",
    ) -> None:
        self._sink = sink
        self._interval = interval
        self._open_sources = open_sources
        self._step = step
        self._prefix = prefix
        self._sources: Sequence[Source] = ()
        self._failed: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = _STOP_WAIT_S) -> None:
        """Take a last sample and end the thread (waiting at most ``timeout``)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def sources(self) -> Sequence[Source]:
        """The sources opened so far (empty until the thread has started them)."""
        return self._sources

    def open(self) -> bool:
        """Open the sources (done by the thread); whether there is anything to sample."""
        try:
            self._sources = self._open_sources()
        except Exception as exc:  # a broken source set must not end the run
            log.warning("tracker: system metrics are off: %s: %s", type(exc).__name__, exc)
            return False
        return True

    def _loop(self) -> None:
        if not self.open():
            return
        try:
            while True:
                self.sample_once()
                if self._stop.wait(self._interval):
                    self.sample_once()
                    return
        finally:
            for source in self._sources:
                try:
                    source.close()
                except Exception:
                    log.debug("tracker: closing the %s source failed", source.name, exc_info=True)

    def sample_once(self) -> dict[str, float]:
        """Read every source once and queue the point; return what was queued."""
        values: dict[str, float] = {}
        for source in self._sources:
            try:
                sampled = source.sample()
            except Exception as exc:
                if source.name not in self._failed:
                    self._failed.add(source.name)
                    log.warning(
                        "tracker: system metrics from %s failed (%s: %s); training goes on "
                        "(warned once)",
                        source.name,
                        type(exc).__name__,
                        exc,
                    )
                continue
            prefix = self._prefix
            for key, value in sampled.items():
                values[prefix + key] = float(value)
        if values:
            try:
                step = self._step()
            except Exception:
                step = 0
            self._sink((step, time.time(), values))
        return values
