"""System-metrics benchmark: what one sample costs, and `log_metrics` with sampling on/off.

Prints the cost of one sample of each source (host via psutil; GPUs via NVML and torch's
allocator where present) and of a whole `Sampler` tick, then the caller-side cost of
`log_metrics` (median, p99) over runs of ``--steps`` steps of 10 scalars, alternating
sampling off and on (``--interval`` seconds between samples, much more often than the
default 10 s, so that any interference shows).
Run: ``python benchmarks/bench_system.py [--steps N] [--interval S]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

KEYS = [f"train/metric_{i}" for i in range(10)]
SAMPLES = 300


def timed(call: Callable[[], object], n: int = SAMPLES) -> tuple[float, float]:
    """Median and p99 wall time of ``call()`` in microseconds."""
    costs = []
    for _ in range(n):
        start = time.perf_counter_ns()
        call()
        costs.append(time.perf_counter_ns() - start)
    costs.sort()
    return costs[len(costs) // 2] / 1000, costs[int(len(costs) * 0.99)] / 1000


def bench_sources(directory: Path) -> None:
    """One sample of each available source, then a whole sampler tick."""
    from tracker.settings import TrackerSettings
    from tracker.system.gpu import open_gpus
    from tracker.system.host import HostSource
    from tracker.system.sampler import Sampler, Source
    from tracker.system.torch_memory import TorchMemorySource

    sources: list[Source] = [HostSource(directory)]
    gpus, why = open_gpus(TrackerSettings().cuda_visible_devices)
    if gpus is None:
        print(f"GPU: none ({why})")
    else:
        print(f"GPU: {len(gpus.device_names)} x {gpus.device_names[0]}")
        sources.append(gpus)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.zeros(1, device="cuda")  # initialise CUDA as training would
        sources.append(TorchMemorySource())
    for source in sources:
        median, p99 = timed(source.sample)
        keys = len(source.sample())
        print(
            f"sample of {source.name:6s}: median {median:8.1f} us, p99 {p99:8.1f} us ({keys} keys)"
        )
    points: list[object] = []
    sampler = Sampler(points.append, interval=1.0, open_sources=lambda: sources, step=lambda: 0)
    sampler.open()
    median, p99 = timed(sampler.sample_once)
    print(f"whole sampler tick:  median {median:8.1f} us, p99 {p99:8.1f} us")


def bench_log_metrics(steps: int, interval: float) -> tuple[float, float]:
    """Median and p99 caller-side cost of `log_metrics` in microseconds."""
    os.environ["TRACKER_SYSTEM_INTERVAL"] = str(interval)
    from tracker import CustomTracker

    run = CustomTracker(project="bench", run_name=f"system-{interval}").start()
    payloads = [{k: float(step) * 0.001 + i for i, k in enumerate(KEYS)} for step in range(64)]
    costs = []
    perf = time.perf_counter_ns
    for step in range(steps):
        payload = payloads[step & 63]
        start = perf()
        run.log_metrics(payload, step=step)
        costs.append(perf() - start)
    report = run.finish()
    assert report is not None and report.complete, report
    costs.sort()
    return costs[len(costs) // 2] / 1000, costs[int(len(costs) * 0.99)] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--torch", action="store_true", help="import torch first (GPU runs)")
    args = parser.parse_args()
    if args.torch:
        import torch  # noqa: F401 - makes the torch allocator source available
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TRACKER_DIR"] = tmp
        bench_sources(Path(tmp))
        print(f"log_metrics, {args.steps:,} steps x {len(KEYS)} scalars per run:")
        results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for _ in range(2):
            results["off"].append(bench_log_metrics(args.steps, 0))
            results["on"].append(bench_log_metrics(args.steps, args.interval))
    for label, runs in results.items():
        median = statistics.median(r[0] for r in runs)
        p99 = statistics.median(r[1] for r in runs)
        what = "off" if label == "off" else f"on, a sample every {args.interval} s"
        print(f"  sampling {what:28s}: median {median:.2f} us, p99 {p99:.2f} us")


if __name__ == "__main__":
    main()
