"""`Spool`: metric batches that a failing backend cannot take yet, kept on disk.

While a backend is down (a database outage), the writer keeps its calls in memory up to
``max_pending_points``; past that, the oldest metric batches move here, one JSON line
each, and come back in the same order once the backend works again. The file lives in the
first rescue folder that takes it (see `tracker.rescue.rescue_dirs`) and holds at most
``max_bytes``: past that, the oldest points in memory are dropped and counted. Each batch
keeps its identity (``writer``, ``seq``), so a batch replayed twice is stored once. The
first line names the run and the store (its password hidden), for `tracker.sync`.
"""

from __future__ import annotations

import json
import logging
import os
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from tracker.calls import LogMetrics
from tracker.records import MetricBatch, Series
from tracker.rescue import private_dir

__all__ = ["Spool"]

log = logging.getLogger("tracker")


class Spool:
    """An append-only file of metric batches, read back from the front."""

    def __init__(
        self, dirs: Sequence[Path], name: str, max_bytes: int, header: dict[str, str]
    ) -> None:
        self._dirs = list(dirs)
        self._name = name
        self._header = json.dumps(header) + "\n"  # which run, which store: for `tracker sync`
        self._max_bytes = max_bytes
        self._file: IO[str] | None = None
        self.path: Path | None = None
        self._read_at = 0
        self._written = 0
        self.batches = 0
        self.points = 0

    def __len__(self) -> int:
        return self.batches

    def push(self, call: LogMetrics) -> bool:
        """Append ``call``; ``False`` when no folder takes it or the spool is full."""
        line = _dumps(call.batch)
        if self._written + len(line) > self._max_bytes:
            return False
        handle = self._open()
        if handle is None:
            return False
        try:
            handle.write(line)
            handle.flush()
        except OSError as exc:
            log.warning("tracker: the spool %s is full (%s)", self.path, exc)
            self._max_bytes = self._written  # take nothing more; what is in it stays
            return False
        self._written += len(line)
        self.batches += 1
        self.points += len(call.batch)
        return True

    def peek(self, max_points: int) -> list[tuple[LogMetrics, int]]:
        """The oldest batches, up to about ``max_points`` points (at least one), each with
        the place where it ends; they stay in the spool until `advance` passes them."""
        if not self.batches or self.path is None:
            return []
        out: list[tuple[LogMetrics, int]] = []
        taken = 0
        with open(self.path, encoding="utf-8") as handle:
            handle.seek(self._read_at)
            while len(out) < self.batches and (not out or taken < max_points):
                line = handle.readline()
                if not line:
                    break
                batch = _loads(line)
                out.append((LogMetrics(batch), handle.tell()))
                taken += len(batch)
        return out

    def advance(self, taken: list[tuple[LogMetrics, int]]) -> None:
        """Drop the batches `peek` gave, up to the last of ``taken``."""
        if not taken:
            return
        self._read_at = taken[-1][1]
        self.batches -= len(taken)
        self.points -= sum(len(call.batch) for call, _ in taken)
        if not self.batches:
            self.close()

    def drain(self) -> list[LogMetrics]:
        """Everything still in the spool, oldest first, taken out."""
        found = self.peek(self.points + 1)
        self.advance(found)
        return [call for call, _ in found]

    def _open(self) -> IO[str] | None:
        if self._file is not None:
            return self._file
        for directory in self._dirs:
            path = directory / f"{self._name}.spool"
            try:
                private_dir(directory)
                fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
                self._file = os.fdopen(fd, "w", encoding="utf-8")
                self._file.write(self._header)
                self._file.flush()
                self._read_at = len(self._header.encode())
            except OSError as exc:
                log.warning("tracker: cannot spool to %s (%s)", directory, exc)
                continue
            self.path = path
            log.warning(
                "tracker: the store is unreachable and the points in memory reached their "
                "bound; older points are spooled to %s and sent once it is back",
                path,
            )
            return self._file
        self._max_bytes = 0
        return None

    def close(self) -> None:
        """Close and remove the file (everything in it was taken back)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path is not None and not self.batches:
            self.path.unlink(missing_ok=True)
            self.path = None
            self._read_at = self._written = 0


def _dumps(batch: MetricBatch) -> str:
    series = {
        key: [s.steps.tolist(), s.values.tolist(), s.times.tolist()]
        for key, s in batch.series.items()
    }
    return json.dumps({"writer": batch.writer, "seq": batch.seq, "series": series}) + "\n"


def _loads(line: str) -> MetricBatch:
    data = json.loads(line)
    series = {
        key: Series(array("q", steps), array("d", values), array("d", times))
        for key, (steps, values, times) in data["series"].items()
    }
    return MetricBatch(series, writer=data["writer"], seq=data["seq"])
