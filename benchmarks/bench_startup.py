"""What a process pays for its first run: a fresh ``python -c "from tracker import
CustomTracker; CustomTracker().start()"`` against ``python -c pass`` (the whole process,
exit included, where the run is finished by the exit hook), and ``start()`` alone in a
process that has imported tracker.

Targets (issue 21): the whole process at most 150 ms more than ``python -c pass`` (median
of 10), ``start()`` at most 20 ms. Each measurement runs its processes interleaved with
the ``pass`` ones, so a machine's load weighs on both alike; CPU time (user + system) is
printed too, as it moves less with the load than wall time. The default settings are kept
(system sampling on, the embedded SQLite store) but for ``TRACKER_DIR``, a temporary
folder whose store the first, unmeasured run creates. ``tracker``'s bytecode is compiled
first, as installing a package does. ``--src DIR`` measures the tracker of another source
folder (a checkout's ``src``) too, interleaved with this one.

    python benchmarks/bench_startup.py [--runs 10] [--src OTHER/src]
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WHOLE = "from tracker import CustomTracker; CustomTracker().start()"
IN_PROCESS = """
import time
t0 = time.perf_counter()
from tracker import CustomTracker
import tracker.run
t1 = time.perf_counter()
run = CustomTracker()
t2 = time.perf_counter()
run.start()
t3 = time.perf_counter()
run.finish()
t4 = time.perf_counter()
print(t1 - t0, t3 - t2, t4 - t3)
"""


def _run(code: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one fresh ``python -c code``, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stdout


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:6.1f} ms, min {min(values) * 1000:6.1f} ms"


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="processes of each kind")
    parser.add_argument("--src", action="append", default=[], help="another tracker source")
    args = parser.parse_args()

    import tracker

    ours = str(Path(tracker.__file__).resolve().parents[1])
    sources = [ours, *(str(Path(s).resolve()) for s in args.src)]
    for source in sources:
        compileall.compile_dir(Path(source) / "tracker", quiet=1)
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load:.1f}; cwd {Path.cwd()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        base = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        envs = {s: {**base, "TRACKER_DIR": folder, "PYTHONPATH": s} for s in sources}
        for env in envs.values():
            _run(WHOLE, env)  # creates the store; not measured
        passes: tuple[list[float], list[float]] = ([], [])
        whole: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in sources}
        phases: dict[str, tuple[list[float], ...]] = {s: ([], [], []) for s in sources}
        for _ in range(args.runs):
            wall, cpu, _out = _run("pass", base)
            passes[0].append(wall)
            passes[1].append(cpu)
            for source, env in envs.items():
                wall, cpu, _out = _run(WHOLE, env)
                whole[source][0].append(wall)
                whole[source][1].append(cpu)
                _wall, _cpu, out = _run(IN_PROCESS, env)
                for column, value in zip(phases[source], out.split(), strict=True):
                    column.append(float(value))
    print(f"python -c pass: wall {_ms(passes[0])}; cpu {_ms(passes[1])}")
    for source in sources:
        walls, cpus = whole[source]
        more = statistics.median(walls) - statistics.median(passes[0])
        more_cpu = statistics.median(cpus) - statistics.median(passes[1])
        print(f"\n{source}:")
        print(f"  whole process: wall {_ms(walls)}; cpu {_ms(cpus)}")
        print(
            f"  more than pass (medians): wall {more * 1000:.1f} ms, cpu {more_cpu * 1000:.1f} ms"
        )
        imports, starts, finishes = phases[source]
        print(f"  in process: import {_ms(imports)}")
        print(f"              start() {_ms(starts)}")
        print(f"              finish() {_ms(finishes)}")


if __name__ == "__main__":
    main()
