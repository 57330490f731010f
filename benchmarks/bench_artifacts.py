"""Artifacts benchmark: what recording checkpoints costs a training loop, and reading them.

Prints:

* the caller-side cost of `CustomTracker.log_artifact` (median, p99, max of 1,000 calls
  on a folder, while the recorder hashes in the background);
* the digest rate of the hashing helper process (`tracker.hasher.HelperHasher`, what a
  run uses) against ``sha256sum`` on the same file (``--file-mb``, default 2048; read from
  the page cache after a first read, best of three each, interleaved), the helper's peak
  resident memory (``VmHWM``) after it, and its start-up (a fresh helper's first digest
  of a 1-byte file, median of 10);
* a loop of 60 steps of numpy work (eight 1024 x 1024 products each) that writes a
  ``--ckpt-mb`` checkpoint (default 2048) every 10 steps and keeps two, with and without
  ``log_artifact`` of each checkpoint (``--pairs`` pairs after one warm-up loop, the
  tracked loop first in every other pair): the slowdown per pair and its median, the
  same for the steps' time alone, how much two identical untracked loops differ (the
  machine's noise), and how many checkpoints were hashed before rotation deleted them.
  ``--dir`` puts the files elsewhere (a tmpfs keeps the disk's write-back out of the
  numbers). Run it once more with ``OPENBLAS_NUM_THREADS=1`` for a loop that leaves a
  core free, as a GPU job's Python thread does;
* ``--parts stalls`` (not in the default set): a pure-Python loop, alone, while a run
  hashes a ``--file-mb`` file (its real bytes, queued four times so the hashing lasts the
  whole round) in the helper process, and while it hashes it in the training's process
  (the fallback: a nice-19 thread), with every core kept busy by other processes: its
  longest pause, the time in pauses over 5 ms, and the CPU time the helper got (a thread
  holding the GIL while descheduled between two chunks pauses the loop; a process does
  not);
* listing 10,000 artifact versions of one run from SQLite (warm, median of 20, the last
  listing freed before each clock starts), and the same rows fetched by sqlite3 alone;
* ``tracker best PROJECT --metric eval/loss`` over 1,000 runs of 5 checkpoints each, in a
  fresh process (median of 5 wall times, bytecode compiled first).

Run: ``python benchmarks/bench_artifacts.py [--parts P,...] [--file-mb N] [--ckpt-mb N]
[--pairs N] [--dir D]``.
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

import tracker  # noqa: E402
from tracker import CustomTracker, TrackerSettings, hasher, open_store  # noqa: E402
from tracker.hasher import HelperHasher  # noqa: E402
from tracker.records import Artifact, RunRecord  # noqa: E402


def bench_log_artifact(root: Path) -> list[float]:
    folder = root / "ckpt"
    folder.mkdir()
    (folder / "w.bin").write_bytes(os.urandom(1 << 20))
    times = []
    with CustomTracker("bench", store=f"sqlite:///{root}/calls.db") as run:
        run.log_metrics({"eval/loss": 1.0}, step=1)
        for i in range(1000):
            start = time.perf_counter()
            run.log_artifact(folder, step=i)
            times.append(time.perf_counter() - start)
    return times


def _write(path: Path, megabytes: int) -> Path:
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            handle.write(block)
    return path


def _never() -> bool:
    return False


def _peak_kib(pid: int) -> int:
    """A process's peak resident memory (KiB), from Linux's /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


class DigestResult(NamedTuple):
    ours: float  # MiB/s through the helper
    theirs: float  # MiB/s of sha256sum
    peak_kib: int  # the helper's peak resident memory after hashing the file
    start: float  # seconds: a fresh helper's first digest of a 1-byte file (median)


def bench_digest(root: Path, megabytes: int) -> DigestResult:
    """Best MiB/s of the helper and of sha256sum on one file; the helper's peak memory
    and its start-up."""
    path = _write(root / "big.bin", megabytes)
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)  # warm the cache
    helper = HelperHasher()
    helper.digest(str(path), _never)  # started, and the file read once more
    ours, theirs = [], []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
        theirs.append(time.perf_counter() - start)
        start = time.perf_counter()
        helper.digest(str(path), _never)
        ours.append(time.perf_counter() - start)
    assert helper.pid is not None
    peak = _peak_kib(helper.pid)
    path.unlink()
    tiny = root / "tiny.bin"
    tiny.write_bytes(b"x")
    starts = []
    for _ in range(10):
        fresh = HelperHasher()
        start = time.perf_counter()
        fresh.digest(str(tiny), _never)
        starts.append(time.perf_counter() - start)
        fresh.close()
    return DigestResult(megabytes / min(ours), megabytes / min(theirs), peak,
                        statistics.median(starts))  # fmt: skip


def _step(x: np.ndarray, w: np.ndarray) -> None:
    """One training step's compute: eight fixed products (no drift toward denormals, so
    every step costs the same)."""
    for _ in range(8):
        np.tanh(x @ w)


def _loop(root: Path, steps: int, ckpt_mb: int, run: CustomTracker | None) -> tuple[float, float]:
    """The loop's wall time and the part of it spent in steps (saves left out)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1024, 1024), dtype=np.float32)
    w = rng.standard_normal((1024, 1024), dtype=np.float32) / 32
    payload = bytearray(os.urandom(ckpt_mb << 20))
    computing = 0.0
    start = time.perf_counter()
    for step in range(1, steps + 1):
        began = time.perf_counter()
        _step(x, w)
        computing += time.perf_counter() - began
        if run is not None:
            run.log_metrics({"train/loss": 1 / step}, step=step)
        if step % 10 == 0:
            folder = root / f"checkpoint-{step}"
            folder.mkdir(parents=True, exist_ok=True)
            payload[:8] = step.to_bytes(8, "little")  # each checkpoint its own content
            (folder / "model.bin").write_bytes(payload)
            if run is not None:
                run.log_artifact(folder, step=step)
            old = root / f"checkpoint-{step - 20}"
            if old.exists():  # save_total_limit=2
                shutil.rmtree(old)
                if run is not None:
                    run.check_artifacts()
    elapsed = time.perf_counter() - start
    for folder in root.glob("checkpoint-*"):
        shutil.rmtree(folder)
    return elapsed, computing


class LoopResult(NamedTuple):
    alone: float
    tracked: float
    slowdowns: list[float]  # tracked / alone - 1, per interleaved pair
    compute_slowdowns: list[float]  # the same for the steps' time alone
    noise: list[float]  # alone / the previous alone - 1: what identical loops differ by
    hashed: int  # checkpoints hashed by the end of the tracked loops (the rest rotated away first)
    saved: int


def _tracked_loop(root: Path, steps: int, ckpt_mb: int, uri: str) -> tuple[float, float, int]:
    """The loop with a run that logs each checkpoint; and how many were hashed."""
    run = CustomTracker("bench", store=uri).start()
    seconds, steps_s = _loop(root / "tracked", steps, ckpt_mb, run)
    run.finish()
    store = open_store(uri)
    versions = store.artifacts(run_id=run.run_id)
    store.close()
    return seconds, steps_s, sum(1 for v in versions if v.digest)


def bench_loop(root: Path, ckpt_mb: int, pairs: int, steps: int = 60) -> LoopResult:
    """Pairs of the loop without and with log_artifact, the one or the other first in
    turn (the run's finish, which waits for the last digests, is not in the loop's time)."""
    alone, tracked, computing, computing_tracked = [], [], [], []
    hashed = 0
    _loop(root / "plain", steps, ckpt_mb, None)  # warm-up: the first loop pays for page faults
    for i in range(pairs):
        if i % 2:
            seconds, steps_s, n = _tracked_loop(root, steps, ckpt_mb, f"sqlite:///{root}/{i}.db")
        plain, plain_steps = _loop(root / "plain", steps, ckpt_mb, None)
        if not i % 2:
            seconds, steps_s, n = _tracked_loop(root, steps, ckpt_mb, f"sqlite:///{root}/{i}.db")
        alone.append(plain)
        computing.append(plain_steps)
        tracked.append(seconds)
        computing_tracked.append(steps_s)
        hashed += n
    return LoopResult(
        statistics.median(alone),
        statistics.median(tracked),
        [b / a - 1 for a, b in zip(alone, tracked, strict=True)],
        [b / a - 1 for a, b in zip(computing, computing_tracked, strict=True)],
        [b / a - 1 for a, b in itertools.pairwise(alone)],
        hashed,
        pairs * (steps // 10),
    )


def _cpu_seconds(stat: Path) -> float:
    """CPU seconds of the process or thread whose /proc ``stat`` file this is."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hashing(hashing: str) -> Path:
    """The /proc stat file of what hashes (the helper process, or the run's hashing
    thread), once it has used some CPU: the hashing is under way."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if hashing == "helper":
            pid = hasher.shared_hasher().pid
            stat = None if pid is None else Path(f"/proc/{pid}/stat")
        else:
            ids = [t.native_id for t in threading.enumerate() if t.name == "tracker-artifacts"]
            stat = Path(f"/proc/self/task/{ids[-1]}/stat") if ids and ids[-1] else None
        if stat is not None and _cpu_seconds(stat) > 0.05:
            return stat
        time.sleep(0.01)
    raise RuntimeError("the hashing never started")


class Stalls(NamedTuple):
    iterations: int
    worst: float  # the longest gap between two iterations (s)
    stalled: float  # the time in gaps over 5 ms (s)
    worst_blocked: float  # the longest time in one gap off a core and not runnable (s)
    blocked: float  # the time blocked in all (s)
    hasher_cpu: float | None  # CPU seconds the helper process (or thread) got in the round


def _python_loop(root: Path, seconds: float, hashing: str | None, big: Path) -> Stalls:
    """A pure-Python loop (it wants the GIL all the time) for ``seconds``, alone or while
    a run hashes ``big`` (``hashing``: "helper" or "in-process").

    A gap is time on a core, time runnable waiting for one (the other processes'), and
    time blocked: the loop makes no system call but reading its own schedstat, so blocked
    is waiting for the GIL, held by another thread of the process (the gap less the first
    two, from Linux's /proc/thread-self/schedstat). The run's writer flushes every 30 s
    and samples no system metrics: the hashing is the only other thing the process does."""
    if hashing is not None:
        hasher.shared_hasher().close()
        hasher._shared = HelperHasher(None if hashing == "helper" else "/no/python")
    settings = TrackerSettings(  # the run's other threads stay asleep through the round
        finish_timeout=1, flush_interval=30, heartbeat_interval=30, system_interval=0
    )
    run = CustomTracker("bench", store=f"sqlite:///{root}/stalls.db", settings=settings).start()
    stat, cpu = None, 0.0
    if hashing is not None:
        for _ in range(4):  # the same file four times: hashed for the whole round
            run.log_artifact(big, kind="model")
        stat = _hashing(hashing)
        cpu = _cpu_seconds(stat)
    schedstat = os.open("/proc/thread-self/schedstat", os.O_RDONLY)

    def on_or_queued() -> float:  # seconds on a core + runnable waiting for one
        running, queued, _ = os.pread(schedstat, 128, 0).split()
        return (int(running) + int(queued)) / 1e9

    gaps, blocked = [], []
    start = last = time.perf_counter()
    accounted = on_or_queued()
    while last - start < seconds:
        sum(range(1000))
        now, seen = time.perf_counter(), on_or_queued()
        gaps.append(now - last)
        blocked.append(max(0.0, now - last - (seen - accounted)))
        last, accounted = now, seen
    os.close(schedstat)
    hasher_cpu = None if stat is None else _cpu_seconds(stat) - cpu
    run.finish()
    stalled = sum(g for g in gaps if g > 0.005)
    return Stalls(len(gaps), max(gaps), stalled, max(blocked), sum(blocked), hasher_cpu)


def bench_stalls(root: Path, megabytes: int, rounds: int = 5, seconds: float = 5.0) -> list[str]:
    """The Python loop alone and while a file is hashed, by the helper process and in the
    loop's process, with every core kept busy by other processes (as data loader workers
    or other ranks may)."""
    big = _write(root / "stalls.bin", megabytes)
    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 1)
    ]
    lines = []
    try:
        for _ in range(rounds):
            for hashing in (None, "helper", "in-process"):
                found = _python_loop(root, seconds, hashing, big)
                cpu = f", hashing got {found.hasher_cpu:.2f} s CPU" if found.hasher_cpu else ""
                lines.append(
                    f"{hashing or 'alone':10}: {found.iterations:,} iterations, longest gap "
                    f"{found.worst * 1e3:.1f} ms, {found.stalled:.2f} s of {seconds:.0f} s in "
                    f"gaps over 5 ms; blocked (the GIL) at most {found.worst_blocked * 1e3:.1f}"
                    f" ms at once, {found.blocked:.2f} s in all{cpu} "
                    f"(load average {os.getloadavg()[0]:.1f})"
                )
    finally:
        for process in busy:
            process.kill()
            process.wait()
        hasher.shared_hasher().close()
        big.unlink()
    return lines


def bench_listing(root: Path) -> float:
    uri = f"sqlite:///{root}/list.db"
    store = open_store(uri)
    now = time.time()
    store.start_run(RunRecord("r", "p", "r", started_at=now, heartbeat_at=now), resume=False)
    for i in range(10_000):
        store.log_artifact(
            "r",
            Artifact("r", "checkpoint", uri=f"/out/checkpoint-{i}", digest=f"sha256:{i:064x}",
                     size=1 << 30, files=12, step=i, metrics={"eval/loss": 1 / (i + 1),
                     "train/loss": 2 / (i + 1)}, created_at=now + i),
        )  # fmt: skip
    times = []
    for _ in range(20):
        found = None  # the last listing is freed before the clock starts, as in a new call
        start = time.perf_counter()
        found = store.artifacts(run_id="r")
        times.append(time.perf_counter() - start)
    assert found is not None and len(found) == 10_000
    store.close()
    return statistics.median(times)


def bench_listing_floor(root: Path) -> float:
    """The same rows fetched with sqlite3 alone (no records built): the floor."""
    import sqlite3

    db = sqlite3.connect(root / "list.db")
    sql = "SELECT * FROM artifacts WHERE run_id = ? ORDER BY id"
    times = []
    for _ in range(20):
        rows = None
        start = time.perf_counter()
        rows = db.execute(sql, ("r",)).fetchall()
        times.append(time.perf_counter() - start)
    assert rows is not None and len(rows) == 10_000
    db.close()
    return statistics.median(times)


def bench_best(root: Path) -> float:
    uri = f"sqlite:///{root}/best.db"
    store = open_store(uri)
    now = time.time()
    for r in range(1000):
        run_id = f"run{r:04d}"
        store.start_run(
            RunRecord(run_id, "sweep", run_id, started_at=now + r, heartbeat_at=now), resume=False
        )
        for s in range(5):
            store.log_artifact(
                run_id,
                Artifact(run_id, "checkpoint", uri=f"/out/{run_id}/checkpoint-{s}",
                         digest=f"sha256:{r}-{s}", step=s, created_at=now + r + s,
                         metrics={"eval/loss": 1 + ((r * 7 + s * 13) % 1000) / 1000}),
            )  # fmt: skip
    store.close()
    compileall.compile_dir(Path(tracker.__file__).parent, quiet=1)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    argv = [sys.executable, "-m", "tracker.cli", "best", "sweep", "--metric", "eval/loss"]
    times = []
    for _ in range(5):
        start = time.perf_counter()
        done = subprocess.run(
            [*argv, "--store", uri], env=env, capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
    return statistics.median(times)


def _percents(values: list[float]) -> str:
    return "[" + " ".join(f"{100 * v:+.1f}" for v in values) + "] %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-mb", type=int, default=2048)
    parser.add_argument("--ckpt-mb", type=int, default=2048)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument(
        "--dir", help="where the files are written (default: the system's temporary folder)"
    )
    parser.add_argument(
        "--parts",
        default="calls,digest,loop,listing,best",
        help="which measurements, comma separated (default: all)",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        if "calls" in parts:
            calls = bench_log_artifact(root)
            print(
                f"log_artifact: median {statistics.median(calls) * 1e6:.1f} us, "
                f"p99 {sorted(calls)[989] * 1e6:.1f} us, max {max(calls) * 1e6:.1f} us"
            )
        if "digest" in parts:
            found = bench_digest(root, args.file_mb)
            print(
                f"digest of a {args.file_mb} MiB file by the helper: {found.ours:.0f} MiB/s; "
                f"sha256sum {found.theirs:.0f} MiB/s ({100 * found.ours / found.theirs:.0f} %);"
                f" the helper's peak resident memory {found.peak_kib / 1024:.1f} MiB; a fresh"
                f" helper's first digest (start-up) {found.start * 1e3:.1f} ms"
            )
        if "loop" in parts:
            blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", "all")
            loop = bench_loop(root, args.ckpt_mb, args.pairs)
            print(
                f"loop of 60 steps, a {args.ckpt_mb} MiB checkpoint every 10, {args.pairs} "
                f"interleaved pairs (BLAS threads: {blas_threads}):"
                f" {loop.alone:.2f} s alone, {loop.tracked:.2f} s with log_artifact (medians);"
                f" slowdown per pair {_percents(loop.slowdowns)}, median "
                f"{100 * statistics.median(loop.slowdowns):+.1f} %; the steps alone "
                f"{_percents(loop.compute_slowdowns)}, median "
                f"{100 * statistics.median(loop.compute_slowdowns):+.1f} %; identical untracked"
                f" loops differ by {_percents(loop.noise)}; {loop.hashed} of {loop.saved}"
                " checkpoints hashed before rotation"
            )
        if "stalls" in parts:
            print("a pure-Python loop with every core kept busy by other processes:")
            for line in bench_stalls(root, args.file_mb):
                print(f"  {line}")
        if "listing" in parts:
            listed, floor = bench_listing(root), bench_listing_floor(root)
            print(
                f"listing 10,000 versions: {listed * 1e3:.1f} ms; the rows by sqlite3 alone "
                f"{floor * 1e3:.1f} ms ({listed / floor:.2f}x)"
            )
        if "best" in parts:
            best = bench_best(root)
            print(f"tracker best over 1,000 runs (fresh process): {best * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
