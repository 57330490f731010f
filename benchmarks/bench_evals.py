"""Evaluations benchmark: the leaderboard of 1,000 checkpoints x 50 tasks, and the sample
diff of two 10,000-sample evaluations (docs/evaluations.md).

On SQLite and on PostgreSQL (a throwaway server on loopback, as the tests make it:
`tests/pg_server.py`; ``--no-postgres`` leaves it out). Each store is filled through the
store API (not timed): 20 training runs of project ``sft`` saving 50 checkpoints each
(1,000 versions with digests), and an evaluating run of another project that scored each
checkpoint on 50 tasks (50,000 scores, each of its own evaluation, with settings); and
two evaluations of one task with 10,000 samples each (doc id, prompt, target, response,
acc), a third of them changed between the two.

Each measure runs in a fresh process (median of 5): ``tracker.leaderboard.leaderboard``
from the opened store to the finished board, and ``sample_diff`` of the two evaluations,
each in wall-clock time and in the process's CPU time; before it, the import of tracker,
the import of the driver (psycopg, for PostgreSQL) and opening the store (tracker's store
module, the connection, the schema check) are reported on their own, and the sum of the
last two and the leaderboard: the leaderboard counted from before ``open_store``. Each
child also times an empty Python loop of a million turns after it (about 20 ms on an
idle core): on a shared, loaded machine it says how much slower than idle the
wall-clock measures ran, where the CPU time is about what an idle core takes
(for PostgreSQL without the server's share, which EXPLAIN ANALYZE puts under 2 ms).

Run: ``python benchmarks/bench_evals.py [--no-postgres]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_ui import report  # noqa: E402

from tracker import open_store  # noqa: E402
from tracker.records import Artifact, Evaluation, RunRecord  # noqa: E402

RUNS, CHECKPOINTS, TASKS, SAMPLES = 20, 50, 50, 10_000
_CHILD = """
import json, sys, time
clock, cpu = time.perf_counter, time.process_time
t0 = clock()
from tracker import open_store
from tracker.leaderboard import leaderboard, sample_diff
t1, c1 = clock(), cpu()
if sys.argv[1].startswith("postgresql"):
    import psycopg  # the driver's import, timed on its own
td, cd = clock(), cpu()
store = open_store(sys.argv[1])
t2, c2 = clock(), cpu()
if sys.argv[2] == "board":
    board = leaderboard(store, "sft")
    size = [len(board.entries), len(board.columns)]
else:
    diff = sample_diff(store, "diff-a", "diff-b")
    size = [len(diff.worse), len(diff.better)]
t3, c3 = clock(), cpu()
for _ in range(1_000_000):  # a reference: ~20 ms on an idle core of a current x86 machine
    pass
t4 = clock()
print(json.dumps({"import_s": t1 - t0, "driver_s": td - t1, "driver_cpu_s": cd - c1,
                  "open_s": t2 - td, "open_cpu_s": c2 - cd, "seconds": t3 - t2,
                  "cpu_s": c3 - c2, "loop_s": t4 - t3, "size": size}))
"""


def fill(uri: str) -> None:
    """The store described in the module's docstring."""
    store = open_store(uri)
    now = time.time()
    store.start_run(RunRecord("ev", "evals", "ev", started_at=now), resume=False)
    for r in range(RUNS):
        run_id = f"train{r}"
        store.start_run(RunRecord(run_id, "sft", run_id, started_at=now + r), resume=False)
        for c in range(CHECKPOINTS):
            step = (c + 1) * 100
            digest = f"sha256:{r:04d}{c:04d}"
            store.log_artifact(
                run_id,
                Artifact(run_id, "checkpoint", uri=f"/out/{run_id}/checkpoint-{step}",
                         digest=digest, step=step, created_at=now + c),
            )  # fmt: skip
            store.log_evaluations(
                "ev",
                [
                    Evaluation("ev", f"{digest}-{t}", f"task{t:02d}", "acc,none",
                               (r * c * t % 97) / 97, 0.01, f"/b/{digest}", digest,
                               {"harness": "lm-eval 0.4.8", "num_fewshot": 0, "limit": None},
                               None, now + t)
                    for t in range(TASKS)
                ],
            )  # fmt: skip
    for name, shift in (("a", 0), ("b", 1)):
        rows = [
            {"doc_id": i, "prompt": f"Question {i}: which is right?", "target": "A",
             "response": "A" if (i + shift) % 3 else "B", "acc": float(bool((i + shift) % 3))}
            for i in range(SAMPLES)
        ]  # fmt: skip
        key = f"samples/arc/diff-{name}"
        for start in range(0, SAMPLES, 1000):
            store.log_table("ev", key, start // 1000, rows[start : start + 1000])  # type: ignore[arg-type]
        store.log_evaluations(
            "ev", [Evaluation("ev", f"diff-{name}", "arc", "acc,none", 0.66, samples=key)]
        )
    store.close()


def fresh(uri: str, what: str) -> dict[str, float]:
    """The median of 5 fresh processes' times (and the board's size, as a check).
    ``tracker``'s bytecode is compiled first, as installing a package does (this machine
    sets ``PYTHONDONTWRITEBYTECODE``: a source checkout would otherwise be compiled anew
    by every process, inside the clock for the modules opening a store imports)."""
    import compileall

    import tracker

    compileall.compile_dir(Path(tracker.__file__).parent, quiet=1)
    found = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", _CHILD, uri, what], capture_output=True, text=True,
                check=True,
            ).stdout
        )
        for _ in range(5)
    ]  # fmt: skip
    medians = {key: statistics.median(f[key] for f in found) for key in found[0] if key != "size"}
    return medians | {"size": found[0]["size"]}


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server's URI."""
    from pg_server import throwaway_postgres

    with throwaway_postgres() as server:
        yield server.uri


def bench(name: str, uri: str) -> dict[str, float]:
    """Fill the store, then time the leaderboard and the diff in fresh processes."""
    t0 = time.perf_counter()
    fill(uri)
    print(f"{name}: filled in {time.perf_counter() - t0:.0f} s", flush=True)
    board = fresh(uri, "board")
    diff = fresh(uri, "diff")
    assert board["size"] == [RUNS * CHECKPOINTS, TASKS], board
    return {
        f"{name} leaderboard 1,000 x 50 (ms)": board["seconds"] * 1000,
        f"{name} leaderboard, CPU time (ms)": board["cpu_s"] * 1000,
        f"{name} sample diff 2 x 10,000 (ms)": diff["seconds"] * 1000,
        f"{name} sample diff, CPU time (ms)": diff["cpu_s"] * 1000,
        f"{name} import of the driver before it (ms)": board["driver_s"] * 1000,
        f"{name} import of the driver, CPU time (ms)": board["driver_cpu_s"] * 1000,
        f"{name} opening the store before it, the driver imported (ms)": board["open_s"] * 1000,
        f"{name} opening the store, CPU time (ms)": board["open_cpu_s"] * 1000,
        f"{name} leaderboard from before open_store (ms)": (
            board["driver_s"] + board["open_s"] + board["seconds"]
        )
        * 1000,
        f"{name} import of tracker before it (ms)": board["import_s"] * 1000,
        f"{name} reference loop of 10^6 (ms)": board["loop_s"] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        results |= bench("sqlite", f"sqlite:///{folder}/evals.db")
    if not args.no_postgres:
        with postgres() as uri:
            results |= bench("postgres", uri)
    report("leaderboard and sample diff, each in a fresh process (median of 5)", results)


if __name__ == "__main__":
    main()
