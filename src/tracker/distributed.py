"""Which process of a distributed job this is, as the launcher told it.

torchrun, ``accelerate launch``, DeepSpeed, MPI and SLURM all set the rank and world size
in the environment before user code runs; `TrackerSettings` reads them. The process of
global rank 0 owns the run and writes its training metrics; local rank 0 of each node is
the one that samples that node's hardware.

The other nodes learn the run id from ``TRACKER_RUN_ID`` when the launcher sets it for
every process; otherwise rank 0 shares it (`share`) through the key-value store of
torch.distributed's default process group, where it is already initialised (torch is
never imported here: only found in ``sys.modules``). `share` and `shared` are not
collectives: no process ever waits on another.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from tracker.records import Record
from tracker.settings import TrackerSettings

__all__ = ["ProcessInfo", "process_info", "share", "shared"]

log = logging.getLogger("tracker")

_KEY_PREFIX = "tracker/"


class ProcessInfo(Record):
    """This process's place in the job."""

    __slots__ = ("local_rank", "local_world_size", "rank", "world_size")

    def __init__(
        self, rank: int = 0, local_rank: int = 0, world_size: int = 1, local_world_size: int = 1
    ) -> None:
        self.rank = rank
        self.local_rank = local_rank
        self.world_size = world_size
        self.local_world_size = local_world_size

    @property
    def is_main(self) -> bool:
        """Whether this process owns the run (global rank 0)."""
        return self.rank == 0

    @property
    def is_local_main(self) -> bool:
        """Whether this process is the first of its node."""
        return self.local_rank == 0

    @property
    def is_multi_node(self) -> bool:
        """Whether the job spans more than one node."""
        return self.world_size > self.local_world_size

    @property
    def is_distributed(self) -> bool:
        """Whether the job has more than one process."""
        return self.world_size > 1


def process_info(settings: TrackerSettings) -> ProcessInfo:
    """This process's rank and world size from the settings."""
    return ProcessInfo(
        rank=settings.rank,
        local_rank=settings.local_rank,
        world_size=max(1, settings.world_size),
        local_world_size=max(1, settings.local_world_size),
    )


def _job_store() -> Any | None:
    """The default process group's key-value store, if torch.distributed is in use."""
    dist: Any = sys.modules.get("torch.distributed")
    try:
        if dist is None or not dist.is_available() or not dist.is_initialized():
            return None
        return dist.distributed_c10d._get_default_store()
    except Exception:  # torch versions differ in what they expose: sharing is best effort
        log.debug("tracker: torch.distributed's store is not reachable", exc_info=True)
        return None


def share(key: str, value: str) -> bool:
    """Make ``value`` readable by every process of the job; whether that was possible."""
    store = _job_store()
    if store is None:
        return False
    try:
        store.set(_KEY_PREFIX + key, value)
    except Exception:
        log.debug("tracker: could not share %s", key, exc_info=True)
        return False
    return True


def shared(key: str) -> str | None:
    """What some process shared under ``key``, or ``None`` (never waits for it)."""
    store = _job_store()
    if store is None:
        return None
    try:
        if not store.check([_KEY_PREFIX + key]):
            return None
        value: bytes = store.get(_KEY_PREFIX + key)
    except Exception:
        log.debug("tracker: could not read %s", key, exc_info=True)
        return None
    return value.decode()
