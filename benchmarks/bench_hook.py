"""Import-hook benchmark: what ``tracker run``'s hook costs a process that imports no
framework.

Starts ``python -c "import json, email.message, http.client"`` (a few stdlib imports, each
passing the hook's finder) ``--runs`` times with the hook first on ``PYTHONPATH`` and as
many times without it, alternating, and prints the median and p90 wall time of each and
the median difference; then what ``python -X importtime`` reports for loading the hook
(its bytecode compiled, as ``tracker run`` leaves it, and not); then the cost of one
import the finder looks at and lets pass.
Run: ``python benchmarks/bench_hook.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

from tracker.autoattach import SITE_DIR, compile_hook

CODE = "import json, email.message, http.client"
PLAIN = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
HOOKED = {**PLAIN, "PYTHONPATH": str(SITE_DIR)}


def started(env: dict[str, str]) -> float:
    """Wall time in ms of one interpreter running `CODE`."""
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-c", CODE], env=env, check=True)
    return (time.perf_counter() - begin) * 1000


def loading_the_hook(env: dict[str, str]) -> float:
    """What ``-X importtime`` says loading the hook took, in ms (its own import included)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CODE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.endswith("|   sitecustomize")]
    return int(lines[-1].split("|")[1]) / 1000  # cumulative microseconds of the outer one


def bench_startup(runs: int) -> None:
    """Interpreter start-up with and without the hook, interleaved so load drifts cancel."""
    costs: dict[str, list[float]] = {"without the hook": [], "with the hook": []}
    for _ in range(3):  # warm the page cache
        started(PLAIN), started(HOOKED)
    for _ in range(runs):
        costs["without the hook"].append(started(PLAIN))
        costs["with the hook"].append(started(HOOKED))
    for name, values in costs.items():
        values.sort()
        p90 = values[int(len(values) * 0.9)]
        print(f"start-up {name}: median {statistics.median(values):.2f} ms, p90 {p90:.2f} ms")
    extra = [h - p for h, p in zip(costs["with the hook"], costs["without the hook"], strict=True)]
    print(f"difference: median {statistics.median(extra):+.2f} ms per process")


def bench_loading(runs: int) -> None:
    """``-X importtime`` of the hook, compiled bytecode beside it or none (compiled anew)."""
    for name, env in (
        ("bytecode compiled", HOOKED),
        ("no bytecode (PYTHONDONTWRITEBYTECODE=1)", {**HOOKED, "PYTHONDONTWRITEBYTECODE": "1"}),
    ):
        if env is not HOOKED:
            shutil.rmtree(SITE_DIR / "__pycache__", ignore_errors=True)
        values = sorted(loading_the_hook(env) for _ in range(runs))
        p90 = values[int(len(values) * 0.9)]
        print(f"loading the hook, {name}: median {statistics.median(values):.2f} ms, p90 {p90:.2f}")
    compile_hook()


def bench_finder() -> None:
    """One ``find_spec`` of the hook's finder for a module it does not look after."""
    code = (
        "import sys, time\n"
        "finder = sys.meta_path[0]\n"
        "n = 1_000_000\n"
        "begin = time.perf_counter_ns()\n"
        "for _ in range(n): finder.find_spec('json.decoder')\n"
        "print(f'{type(finder).__name__}.find_spec of a module it lets pass: '\n"
        "      f'{(time.perf_counter_ns() - begin) / n:.0f} ns')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=HOOKED, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {args.runs} runs each")
    compile_hook()  # as tracker run leaves it
    bench_startup(args.runs)
    bench_loading(args.runs)
    bench_finder()


if __name__ == "__main__":
    main()
