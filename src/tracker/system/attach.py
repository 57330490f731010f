"""Which process samples what, and where its points go.

* The process that owns the run (global rank 0) samples its node into the run's own
  writer queue, at the run's last logged step.
* In a job of several nodes, the first process of every other node samples its node and
  writes the points into the same run with a writer of its own. It learns the run id
  from ``TRACKER_RUN_ID`` when the launcher set it, else from rank 0 through
  torch.distributed's key-value store (`tracker.distributed.share`), and the run's step
  the same way. Keys carry the node's name: ``system/<node>/gpu/0/utilization``.
* Such a node says when it joins and leaves the run: the events ``node_joined``
  (``{"node", "interval", "rank"}``) and ``node_left`` (``{"node"}``), written by its own
  writer. A node that joined and never left went silent (`tracker.views.node_states`):
  it was killed or lost its network, and its samples end where it stopped.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

from tracker import distributed
from tracker.calls import LogEvent
from tracker.distributed import ProcessInfo
from tracker.environment import host_name
from tracker.records import Event, RunRecord
from tracker.rescue import rescue_dirs
from tracker.settings import TrackerSettings
from tracker.store.base import Backend
from tracker.system.sampler import Point, Sampler, Source
from tracker.writer import Writer

__all__ = ["SystemMetrics", "samples_node"]

log = logging.getLogger("tracker")

_EARLY_POINTS = 360
"""Points a node keeps while it does not know the run id yet (an hour at 10 s)."""

Factories = list[tuple[str, Callable[[str], Backend]]]


def samples_node(settings: TrackerSettings, process: ProcessInfo) -> bool:
    """Whether this process, which does not own the run, samples its node for it."""
    return (
        settings.system_interval > 0
        and not settings.disabled
        and not process.is_main
        and process.is_local_main
        and process.is_multi_node
    )


def _node(settings: TrackerSettings) -> str:
    """This node's name in metric keys and events: ``TRACKER_NODE_NAME`` or the host name."""
    return (settings.node_name or host_name()).replace("/", "_")


def _prefix(settings: TrackerSettings, process: ProcessInfo) -> str:
    return f"system/{_node(settings)}/" if process.is_multi_node else "system/"


def _open_sources(settings: TrackerSettings) -> list[Source]:
    from tracker.system.gpu import open_gpus
    from tracker.system.host import HostSource
    from tracker.system.torch_memory import TorchMemorySource

    sources: list[Source] = [HostSource(settings.dir if settings.dir.is_dir() else None)]
    gpus, why = open_gpus(settings.cuda_visible_devices)
    if gpus is None:
        log.info("tracker: no GPU metrics: %s; recording host metrics only", why)
    else:
        sources.append(gpus)
    sources.append(TorchMemorySource())
    return sources


class _RemoteRun:
    """A node's points, written into the run rank 0 owns once its id is known."""

    def __init__(
        self, settings: TrackerSettings, process: ProcessInfo, backends: Factories
    ) -> None:
        self._settings = settings
        self._rank = process.rank
        self._backends = backends
        self._early: deque[Point] = deque(maxlen=_EARLY_POINTS)
        self._writer: Writer | None = None
        self._step = 0

    def _open(self) -> Writer | None:
        run_id = self._settings.run_id or distributed.shared("run_id")
        if run_id is None:
            return None
        settings = self._settings
        writer = Writer(
            RunRecord(run_id=run_id, project=settings.project, name=""),
            self._backends,
            flush_interval=settings.flush_interval,
            heartbeat_interval=math.inf,  # liveness is rank 0's to report
            max_pending=settings.max_pending,
            max_pending_points=settings.max_pending,
            spool_bytes=settings.spool_max_mb * 2**20,
            rescue_dirs=rescue_dirs(settings.dir / "unsent"),
        )
        joined = {"node": _node(settings), "interval": settings.system_interval, "rank": self._rank}
        writer.channel.put(LogEvent(Event("node_joined", time.time(), payload=joined)))
        for point in self._early:
            writer.channel.put_point(point)
        writer.start()
        return writer

    def append(self, point: Point) -> None:
        if self._writer is None:
            self._writer = self._open()
        if self._writer is None:
            self._early.append(point)
        else:
            self._writer.channel.put_point(point)

    def step(self) -> int:
        shared = distributed.shared("step")
        if shared is not None:
            self._step = int(shared)
        return self._step

    def close(self) -> None:
        if self._writer is None:
            if self._early:
                log.warning(
                    "tracker: %d system samples of this node were not recorded: the run id "
                    "never reached it (set TRACKER_RUN_ID for every node)",
                    len(self._early),
                )
            return
        left = Event("node_left", time.time(), payload={"node": _node(self._settings)})
        self._writer.channel.put(LogEvent(left))
        report = self._writer.close(self._settings.finish_timeout)
        if not report.complete:
            log.warning(
                "tracker: %d system samples of this node could not be written",
                report.unwritten_points + report.dropped_points,
            )


class SystemMetrics:
    """One process's system sampling: `start` it with the run, `stop` it before the run's
    writer closes. Does nothing where ``system_interval`` is 0."""

    def __init__(
        self,
        settings: TrackerSettings,
        process: ProcessInfo,
        step: Callable[[], int],
        remote: _RemoteRun | None = None,
    ) -> None:
        self._settings = settings
        self._process = process
        self._step = step
        self._remote = remote
        self._sampler: Sampler | None = None

    @classmethod
    def for_run(
        cls,
        settings: TrackerSettings,
        process: ProcessInfo,
        run_id: str,
        last_step: Callable[[], int],
    ) -> SystemMetrics:
        """Sampling by the process that owns the run ``run_id``."""
        multi_node = process.is_multi_node and settings.system_interval > 0
        if multi_node:
            distributed.share("run_id", run_id)

        def step() -> int:
            value = max(0, last_step())
            if multi_node:
                distributed.share("step", str(value))
            return value

        return cls(settings, process, step)

    @classmethod
    def for_node(
        cls, settings: TrackerSettings, process: ProcessInfo, backends: Factories
    ) -> SystemMetrics:
        """Sampling by the first process of a node that does not own the run."""
        remote = _RemoteRun(settings, process, backends)
        return cls(settings, process, remote.step, remote)

    def start(self, sink: Callable[[Point], object] | None = None) -> None:
        """Start sampling into ``sink`` (the run's writer queue's ``append``)."""
        settings = self._settings
        if settings.system_interval <= 0 or self._sampler is not None:
            return
        if sink is None:
            if self._remote is None:
                raise ValueError("start() needs a sink on the process that owns the run")
            sink = self._remote.append
        self._sampler = Sampler(
            sink,
            interval=settings.system_interval,
            open_sources=lambda: _open_sources(settings),
            step=self._step,
            prefix=_prefix(settings, self._process),
        )
        self._sampler.start()

    def device_name(self) -> str | None:
        """The name of the first GPU sampled, once known (for MFU)."""
        sources = self._sampler.sources if self._sampler is not None else ()
        for source in sources:
            names: list[str] = getattr(source, "device_names", [])
            if names:
                return names[0]
        return None

    def stop(self) -> None:
        """Take a last sample, end the thread, and on a node close its writer."""
        if self._sampler is not None:
            self._sampler.stop()
        if self._remote is not None:
            self._remote.close()
            self._remote = None
