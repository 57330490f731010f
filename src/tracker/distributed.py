"""Which process of a distributed job this is, as the launcher told it.

torchrun, ``accelerate launch``, DeepSpeed, MPI and SLURM all set the rank and world size
in the environment before user code runs; `TrackerSettings` reads them. The process of
global rank 0 owns the run and writes its training metrics; local rank 0 of each node is
the one that samples that node's hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.settings import TrackerSettings

__all__ = ["ProcessInfo", "process_info"]


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """This process's place in the job."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process owns the run (global rank 0)."""
        return self.rank == 0

    @property
    def is_local_main(self) -> bool:
        """Whether this process is the first of its node."""
        return self.local_rank == 0

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
