"""Saving calls that a backend never took: the rescue file, and where it can go.

A rescue file is a JSON-lines run (`tracker.store.jsonl`): ``<dir>/<run_id>.jsonl``, read
back with ``tracker runs --store jsonl:///<dir>``. It is written to the first of the given
folders that takes it whole (the run's ``unsent/`` folder, then the system temp folder,
then the working directory); a folder that fails half-way (disk full, read-only, quota)
keeps no partial file. Files are created readable by their owner only.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tracker.calls import Call, StartRun
from tracker.records import RunRecord

__all__ = ["rescue", "rescue_dirs"]

log = logging.getLogger("tracker")


def rescue_dirs(primary: Path) -> list[Path]:
    """Where rescue and spool files go, in order of preference."""
    return [
        primary,
        Path(tempfile.gettempdir()) / f"tracker-unsent-{_uid()}",
        Path.cwd() / "tracker-unsent",
    ]


def _uid() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else "user"


def private_dir(directory: Path) -> None:
    """Create ``directory`` (readable by its owner only, where it is new)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only, unless it exists."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    os.close(fd)


def rescue(
    record: RunRecord, calls: Sequence[Call], dirs: Sequence[Path], target: str
) -> Path | None:
    """Write ``calls`` of ``record``'s run as a JSON-lines run in the first folder of
    ``dirs`` that takes them; the path, or ``None`` when no folder did. A new file's first
    line names the store they were meant for (``target``, its password hidden), so that
    `tracker sync` can deliver them."""
    from tracker.store.jsonl import JsonlStore

    for directory in dirs:
        path = directory / f"{record.run_id}.jsonl"
        existed = path.exists()
        store = None
        try:
            private_dir(directory)
            private_file(path)
            if not existed:
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"op": "target", "target": target}) + "\n")
            store = JsonlStore(directory)
            store.start_run(record, resume=True)  # resume: keep what an earlier rescue saved
            for call in calls:
                if not isinstance(call, StartRun):
                    call.apply(store, record.run_id)
            store.close()
        except Exception as exc:  # disk full, read-only, quota: try the next folder
            log.warning("tracker: could not save the rescue file in %s (%s)", directory, exc)
            if store is not None:
                try:
                    store.close()
                except Exception:
                    log.debug("tracker: closing the half-written rescue file failed")
            if not existed:
                path.unlink(missing_ok=True)
            continue
        return path
    return None
