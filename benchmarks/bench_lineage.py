"""Lineage benchmark: the whole chain of 10,000 linked runs, on SQLite and PostgreSQL.

Two shapes of 10,000 runs linked through their checkpoints, filled through the store API
(`Store.start_run`, `Store.log_artifact`; not timed):

* ``chain``: run 0 uses a hub model and saves a checkpoint; run i uses run i-1's
  checkpoint (copied: same digest, another path) and saves its own. The lineage of the
  middle run reaches 5,000 runs upstream and 5,000 downstream;
* ``fan``: run 0 saves a checkpoint that 9,999 runs each start from, each saving its own
  checkpoint: the lineage of run 0 reaches them all downstream, two hops away.

With ``--evals K``, each checkpoint is also evaluated on K tasks (one score each, by a
run ``ev`` that records nothing else): each an evaluation node of the lineage, one hop
below its checkpoint.

Timed (median of 5 after one untimed call; wall and this process's CPU time, with the
load average): `Store.linked_artifacts` both ways (the
store's part: one recursive query each on the SQL stores), and the whole
`tracker.views.lineage_view` (what ``tracker lineage`` and the dashboard get, before
JSON encoding), the same encoded as the dashboard's ``/api/runs/RUN/lineage`` answers
(`tracker.views.dumps`), and ``tracker lineage RUN --json`` piped (the command run in
this process: its store opened, the view written to a pipe, as a script gets it; the
interpreter's start-up, about 60 ms, not counted); also the dashboard's first view, six
hops each way (``?depth=6``, as JSON). Without
``--uri``, PostgreSQL is a throwaway server as the tests make it (`tests/pg_server.py`). Run:
``python benchmarks/bench_lineage.py [--runs N] [--shape chain|fan] [--evals K]
[--uri postgresql://...] [--no-postgres] [--profile]``; ``--profile`` also prints where
one call of the JSON path spends its time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from tracker import open_store  # noqa: E402
from tracker.cli import main as cli  # noqa: E402
from tracker.records import Artifact, Evaluation, RunRecord  # noqa: E402
from tracker.store.base import Store  # noqa: E402
from tracker.views import dumps, lineage_view  # noqa: E402

REPEATS = 5
SHAPES = ["chain", "fan"]
WINDOW = {"depth": 6, "width": 100}  # the dashboard's first view of a lineage (views/lineage.js)


def fill(store: Store, runs: int, shape: str, evals: int = 0) -> list[str]:
    """``runs`` runs linked as ``shape`` (``chain`` or ``fan``), each checkpoint evaluated
    on ``evals`` tasks; the runs' ids in order."""
    ids = [f"run{i:06d}" for i in range(runs)]
    now = time.time()
    if evals:
        store.start_run(RunRecord("ev", "evals", "ev", started_at=now), resume=False)
    for i, run_id in enumerate(ids):
        store.start_run(
            RunRecord(run_id, "lineage", f"stage-{i}", started_at=now + i), resume=False
        )
        if i == 0:
            used = Artifact(run_id, "Qwen/Qwen2.5-0.5B", kind="model", direction="input",
                            uri="Qwen/Qwen2.5-0.5B", state="remote")  # fmt: skip
        else:
            parent = i - 1 if shape == "chain" else 0
            used = Artifact(run_id, "checkpoint", direction="input", uri=f"/copy/{i}/ckpt",
                            digest=f"sha256:{parent:064x}", size=10, files=1)  # fmt: skip
        store.log_artifact(run_id, used)
        store.log_artifact(
            run_id,
            Artifact(run_id, "checkpoint", uri=f"/out/{i}/checkpoint-100",
                     digest=f"sha256:{i:064x}", size=10, files=1, step=100,
                     metrics={"eval/loss": 1.0 / (i + 1)}, created_at=now + i),
        )  # fmt: skip
        if evals:
            digest = f"sha256:{i:064x}"
            store.log_evaluations(
                "ev",
                [
                    Evaluation("ev", f"{i}-{t}", f"task{t:02d}", "acc,none", t / evals, 0.01,
                               f"/b/{i}", digest, {"num_fewshot": 0}, None, now + i)
                    for t in range(evals)
                ],
            )  # fmt: skip
        store.finish_run(run_id, "finished", now + i + 1, None)
    return ids


def median_ms(call: Callable[[], object]) -> str:
    """The median of `REPEATS` timed calls after one untimed: wall time, and this
    process's CPU time (on a machine other processes keep busy, the wall time is theirs
    too; PostgreSQL's own CPU is in the wall time only), in milliseconds."""
    call()
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return f"{statistics.median(walls):7.1f} ms ({statistics.median(cpus):5.1f} CPU)"


def bench_store(
    name: str, uri: str, runs: int, shapes: list[str], evals: int, profile: bool = False
) -> None:
    """Each shape in a fresh database (``uri`` with ``{shape}`` filled in)."""
    for shape in shapes:
        store = open_store(uri.format(shape=shape))
        start = time.perf_counter()
        ids = fill(store, runs, shape, evals)
        filled = time.perf_counter() - start
        root = ids[len(ids) // 2] if shape == "chain" else ids[0]
        bench_shape(name, shape, store, root, evals, uri.format(shape=shape))
        if profile:
            profile_json(store, root)
        print(f"  (filled in {filled:.0f} s)", flush=True)
        store.close()


def bench_shape(name: str, shape: str, store: Store, root: str, evals: int, uri: str) -> None:
    """The lineage of run ``root``: the store's part, the whole view, and the dashboard's
    first view (`WINDOW`: hops each way, nodes at each distance)."""
    record = store.get_run(root)

    def both() -> set[str]:
        up = store.linked_artifacts([root], upstream=True)
        down = store.linked_artifacts([root], upstream=False)
        return set(up.names) | set(down.names)

    reached = len(both())
    whole = lineage_view(store, record)
    assert len(whole["names"]) == reached
    shown = sum(n["kind"] == "evaluation" for n in whole["nodes"])
    # the chain's middle reaches the evaluations of its half downstream; the fan's all
    assert shown == evals * (reached - reached // 2 if shape == "chain" else reached), shown
    near = len(lineage_view(store, record, **WINDOW)["nodes"])
    # a chain's middle: 13 nodes (six hops each way) and the evaluations of the checkpoints
    # on; a fan's first run: its checkpoint, then up to 100 nodes at each distance
    if shape == "chain":
        assert near == 13 + 3 * evals, near
    else:
        assert 2 + WINDOW["width"] <= near <= 2 + (WINDOW["depth"] - 1) * WINDOW["width"], near
    store_ms = median_ms(both)
    view_ms = median_ms(lambda: lineage_view(store, record))
    json_ms = median_ms(lambda: dumps(lineage_view(store, record)))
    cli_ms = median_ms(lambda: piped(["lineage", root, "--json", "--store", uri]))
    window_ms = median_ms(lambda: dumps(lineage_view(store, record, **WINDOW)))
    size = len(dumps(whole).encode()) / 1e6
    print(
        f"{name:10} {shape:5}  runs {reached:6}  evals {evals}  "
        f"load {os.getloadavg()[0]:4.1f}  store both ways "
        f"{store_ms}  lineage_view {view_ms}  as JSON {json_ms} ({size:.1f} MB)  "
        f"tracker lineage --json {cli_ms}  "
        f"the dashboard's first view ({near} nodes, JSON) {window_ms}",
        flush=True,
    )


def piped(argv: list[str]) -> str:
    """What the command ``tracker ARGV`` writes to a pipe."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(argv) == 0
    return out.getvalue()


def profile_json(store: Store, root: str, top: int = 15) -> None:
    """The functions the lineage of run ``root`` as JSON spends most time in (cProfile,
    one call after one untimed; the profiler's overhead inflates Python-level calls)."""
    record = store.get_run(root)
    dumps(lineage_view(store, record))
    profiler = cProfile.Profile()
    profiler.runcall(lambda: dumps(lineage_view(store, record)))
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


@contextlib.contextmanager
def postgres(uri: str | None) -> Iterator[str]:
    """A database URI template with ``{shape}`` for a fresh database per shape."""
    if uri is not None:
        yield uri
        return
    from pg_server import throwaway_postgres

    with throwaway_postgres() as pg:
        for shape in SHAPES:
            pg.create_database(f"lineage_{shape}")
        yield pg.uri_of("lineage_{shape}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument(
        "--uri",
        help="empty PostgreSQL databases to fill, a URI with {shape} in the database name",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--evals", type=int, default=0, help="tasks each checkpoint is scored on")
    parser.add_argument("--shape", choices=SHAPES, action="append", help="default: both")
    parser.add_argument(
        "--profile", action="store_true", help="also where the JSON path's time goes (cProfile)"
    )
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite:///{tmp}/{{shape}}.db"
        bench_store("sqlite", sqlite, args.runs, args.shape or SHAPES, args.evals, args.profile)
    if not args.no_postgres:
        with postgres(args.uri) as uri:
            bench_store(
                "postgresql", uri, args.runs, args.shape or SHAPES, args.evals, args.profile
            )


if __name__ == "__main__":
    main()
