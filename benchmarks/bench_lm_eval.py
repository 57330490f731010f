"""lm-evaluation-harness benchmark: what tracking adds to an lm-eval run's time.

A tiny Llama (2 layers, built offline by ``tests/assets.py``) is evaluated on the CPU on a
multiple-choice task defined from a local JSON-lines file (``--docs`` questions of 4
choices), samples logged, two ways:

1. in this process, ``--runs`` times (after the CLI half): ``lm_eval.simple_evaluate(...)``, then
   ``tracker.integrations.lm_eval.log_results(results, ...)`` into a SQLite store (a run
   started, one evaluation with every sample, the checkpoint hashed, the run finished),
   each timed: what tracking adds in the process is the second;
2. the CLI, ``--pairs`` pairs of fresh processes: ``lm_eval ...`` and
   ``tracker run -- lm_eval ...`` (the ``tracker run`` process, its system sampler, the
   import hook, the results recorded when ``simple_evaluate`` returns), after one
   warm-up of each. Made to resolve 1 %:

   - the measure is the **CPU time of the whole process tree** (user + system, from
     ``resource.getrusage(RUSAGE_CHILDREN)`` before and after each command), not the wall
     time a loaded machine stretches at random; this process is made a child subreaper
     (Linux ``PR_SET_CHILD_SUBREAPER``) and reaps every descendant after each command, so
     a helper that outlives its parent (the hashing helper) is counted too;
   - every process runs one thread (``OMP_NUM_THREADS=1`` ...): idle OpenMP workers that
     spin would add CPU time at random;
   - the two arms are **interleaved** in pairs, the order swapped every pair (AB, BA,
     ...), so a drift of the machine (a neighbour's load, thermal state) falls on both;
   - the overhead is the mean of the pairs' relative differences with its 95 %
     confidence interval (Student's t): the run resolves 1 % where that interval's
     half-width is under 1 %, and says so. Wall times are reported beside, paired alike.

A real model's evaluation takes minutes to hours where this one takes seconds, so these
are upper bounds of the overhead. ``--model small`` evaluates instead a model of the shape
of the smallest ones people evaluate (SmolLM2-135M's 30 layers of 576, random weights, the
same tiny tokenizer: ~100 million parameters, built offline): what tracking costs a sample
is the same, what evaluating it costs is nearer a real run's (use fewer ``--docs``).
Run it in the ``hf`` environment on a quiet machine: ``HF_HUB_OFFLINE=1
.venvs/hf/bin/python benchmarks/bench_lm_eval.py [--pairs N] [--docs N] [--runs N]
[--no-cli] [--model tiny|small]``.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from assets import build_hf_model, build_lm_eval_task  # tests/ is on the path first

SMALL = {  # SmolLM2-135M's layers
    "hidden_size": 576,
    "num_layers": 30,
    "num_heads": 9,
    "num_kv_heads": 3,
    "intermediate_size": 1536,
}


def build(root: Path, docs: int, small: bool) -> tuple[Path, Path]:
    """The model (tiny, or ``small``: `SMALL`) and the task folder."""
    model = build_hf_model(root / "model", arch="llama", **(SMALL if small else {}))
    questions = [
        (f"Question {i}: the answer is", [f"choice {i} {c}" for c in "abcd"], i % 4)
        for i in range(docs)
    ]
    tasks = build_lm_eval_task(root / "tasks", "bench_qa", questions)
    return model, tasks


def in_process(model: Path, tasks: Path, store: str) -> tuple[float, float]:
    """Seconds of one ``simple_evaluate``, then of its ``log_results``."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    from tracker.integrations.lm_eval import log_results

    begin = time.perf_counter()
    results = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model},dtype=float32", tasks=["bench_qa"],
        task_manager=TaskManager(include_path=str(tasks)), device="cpu", batch_size=8,
        log_samples=True,
    )  # fmt: skip
    evaluated = time.perf_counter()
    log_results(results, project="bench", store=store)
    return evaluated - begin, time.perf_counter() - evaluated


ONE_THREAD = dict.fromkeys(
    ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"), "1"
)
_T975 = (12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14,
         2.13, 2.12, 2.11, 2.10, 2.09, 2.09)  # fmt: skip
"""Student's t, two-sided 95 %, by degrees of freedom 1..20 (1.96 beyond)."""


def subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux), so that their CPU
    time reaches ``RUSAGE_CHILDREN`` once reaped; whether it could."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap() -> None:
    """Wait for every descendant left (each an orphan handed to this subreaper): the CLI
    half runs before this process starts a child of its own (the in-process half's
    hashing helper), which this would wait for forever."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def cli(model: Path, tasks: Path, out: Path, store: str, tracked: bool) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the whole process tree) of one
    ``lm_eval`` command, under ``tracker run`` where ``tracked``."""
    command = [
        str(Path(sys.executable).with_name("lm_eval")), "--model", "hf",
        "--model_args", f"pretrained={model},dtype=float32", "--tasks", "bench_qa",
        "--include_path", str(tasks), "--device", "cpu", "--batch_size", "8",
        "--output_path", str(out), "--log_samples",
    ]  # fmt: skip
    if tracked:
        command = [sys.executable, "-m", "tracker.cli", "run", "--project", "bench", "--", *command]
    env = {**os.environ, **ONE_THREAD, "TRACKER_URI": store, "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    reap()
    wall = time.perf_counter() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def paired(name: str, plain: list[float], tracked: list[float]) -> None:
    """The mean relative difference of the pairs, its 95 % interval, whether it resolves 1 %."""
    diffs = [100 * (t - p) / p for p, t in zip(plain, tracked, strict=True)]
    n = len(diffs)
    half = math.inf
    if n > 1:
        t = _T975[n - 2] if n - 1 <= len(_T975) else 1.96
        half = t * statistics.stdev(diffs) / math.sqrt(n)
    print(
        f"{name}: untracked {statistics.median(plain):.2f} s, tracked "
        f"{statistics.median(tracked):.2f} s (medians of {n}); overhead "
        f"{statistics.fmean(diffs):+.2f} % ± {half:.2f} % (95 %, {n} pairs): "
        f"{'resolves' if half < 1 else 'does NOT resolve'} 1 %  "
        f"[pairs: {', '.join(f'{d:+.1f}' for d in diffs)}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="in-process runs")
    parser.add_argument("--pairs", type=int, default=10, help="CLI pairs (untracked, tracked)")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--no-cli", action="store_true", help="the in-process half only")
    parser.add_argument(
        "--model", choices=["tiny", "small"], default="tiny", help="small: SmolLM2-135M's shape"
    )
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; {args.model} model; "
          f"{args.docs} questions x 4 choices")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model, tasks = build(root, args.docs, args.model == "small")
        store = str(root / "tracker.db")
        import compileall

        import tracker  # its bytecode compiled, as an install does (PYTHONDONTWRITEBYTECODE)

        compileall.compile_dir(Path(tracker.__file__).parent, quiet=1)
        if not args.no_cli:  # first: this process has no child of its own to outlive them
            if not subreaper():
                print("not a subreaper here: a descendant outliving its parent is not counted")
            for tracked in (False, True):  # warm-up: the page cache, lm-eval's dataset cache
                cli(model, tasks, root / f"out-warm-{tracked}", store, tracked)
            runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for i in range(args.pairs):
                for tracked in (False, True) if i % 2 == 0 else (True, False):
                    out = root / f"out-{i}-{tracked}"
                    runs[tracked].append(cli(model, tasks, out, store, tracked))
            for what, index in (("CPU time of the process tree", 1), ("wall time", 0)):
                paired(
                    f"lm_eval CLI (tracker run --), {what}",
                    [r[index] for r in runs[False]],
                    [r[index] for r in runs[True]],
                )
        in_process(model, tasks, store)  # warm: imports, the dataset's cache
        timed = [in_process(model, tasks, store) for _ in range(args.runs)]
        share = [100 * logged / evaluated for evaluated, logged in timed]
        print(
            f"simple_evaluate {statistics.median(e for e, _ in timed):.2f} s, then log_results "
            f"{1000 * statistics.median(t for _, t in timed):.0f} ms (medians of {args.runs}): "
            f"+{statistics.median(share):.1f} % (each run: {', '.join(f'{v:.1f}' for v in share)})"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
