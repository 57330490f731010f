"""lm-evaluation-harness benchmark: what tracking adds to an lm-eval run's time.

A tiny Llama (2 layers, built offline by ``tests/assets.py``) is evaluated on the CPU on a
multiple-choice task defined from a local JSON-lines file (``--docs`` questions of 4
choices), samples logged, ``--runs`` times each of two ways:

1. in one process: ``lm_eval.simple_evaluate(...)``, then
   ``tracker.integrations.lm_eval.log_results(results, ...)`` into a SQLite store (a run
   started, one evaluation with every sample, the checkpoint hashed, the run finished),
   each timed: what tracking adds is the second (an A/B of whole runs on a busy machine
   varies by more than it);
2. the CLI, each a fresh process: ``lm_eval ...`` against ``tracker run -- lm_eval ...``
   (the import hook, the run's process, the results recorded when ``simple_evaluate``
   returns), alternating.

It prints the median wall times and the overhead in per cent. A real
model's evaluation takes minutes to hours where this one takes seconds, so these are
upper bounds of the overhead. Run it in the ``hf`` environment:
``HF_HUB_OFFLINE=1 python benchmarks/bench_lm_eval.py [--runs N] [--docs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from assets import build_hf_model  # tests/ is on the path first

TASK_YAML = """\
task: bench_qa
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: choices
doc_to_target: label
metric_list:
  - metric: acc
metadata:
  version: 1.0
"""


def build(root: Path, docs: int) -> tuple[Path, Path]:
    """The tiny model and the task folder."""
    model = build_hf_model(root / "model", arch="llama")
    tasks = root / "tasks"
    tasks.mkdir()
    rows = [
        {"question": f"Question {i}: the answer is", "label": i % 4,
         "choices": [f"choice {i} {c}" for c in "abcd"]}
        for i in range(docs)
    ]  # fmt: skip
    lines = (json.dumps(row) for row in rows)
    (tasks / "bench_qa.jsonl").write_text("\n".join(lines) + "\n")
    (tasks / "bench_qa.yaml").write_text(TASK_YAML.format(data=tasks / "bench_qa.jsonl"))
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


def cli(model: Path, tasks: Path, out: Path, store: str, tracked: bool) -> float:
    """Seconds of one ``lm_eval`` command, under ``tracker run`` where ``tracked``."""
    command = [
        str(Path(sys.executable).with_name("lm_eval")), "--model", "hf",
        "--model_args", f"pretrained={model},dtype=float32", "--tasks", "bench_qa",
        "--include_path", str(tasks), "--device", "cpu", "--batch_size", "8",
        "--output_path", str(out), "--log_samples",
    ]  # fmt: skip
    if tracked:
        command = [sys.executable, "-m", "tracker.cli", "run", "--project", "bench", "--", *command]
    env = {**os.environ, "TRACKER_URI": store, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    begin = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - begin


def report(name: str, plain: list[float], tracked: list[float]) -> None:
    p, t = statistics.median(plain), statistics.median(tracked)
    print(
        f"{name}: untracked {p:.2f} s, tracked {t:.2f} s (medians of {len(plain)}), "
        f"overhead {100 * (t - p) / p:+.1f} %  [untracked {', '.join(f'{v:.2f}' for v in plain)}; "
        f"tracked {', '.join(f'{v:.2f}' for v in tracked)}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--no-cli", action="store_true", help="the in-process half only")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; {args.docs} questions x 4 choices")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model, tasks = build(root, args.docs)
        store = str(root / "tracker.db")
        in_process(model, tasks, store)  # warm: imports, the dataset's cache
        timed = [in_process(model, tasks, store) for _ in range(args.runs)]
        share = [100 * logged / evaluated for evaluated, logged in timed]
        print(
            f"simple_evaluate {statistics.median(e for e, _ in timed):.2f} s, then log_results "
            f"{1000 * statistics.median(t for _, t in timed):.0f} ms (medians of {args.runs}): "
            f"+{statistics.median(share):.1f} % (each run: {', '.join(f'{v:.1f}' for v in share)})"
        )
        if args.no_cli:
            return
        plain, tracked = [], []
        for i in range(args.runs):
            plain.append(cli(model, tasks, root / f"out-p{i}", store, tracked=False))
            tracked.append(cli(model, tasks, root / f"out-t{i}", store, tracked=True))
        report("lm_eval CLI (tracker run --)", plain, tracked)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
