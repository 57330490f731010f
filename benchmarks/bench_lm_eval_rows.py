"""What recording lm-eval's samples costs a sample, by prompt length, without a model.

``bench_lm_eval.py`` times a real evaluation, whose prompts are a few words. Real tasks
have long prompts (a 5-shot multiple-choice prompt is ~1,500 characters), and what a
row costs grows with its text. Here ``--docs`` samples are made in the shape lm-eval
0.4 gives them to ``log_results`` (``arguments`` of ``(context, continuation)`` tuples,
one a choice; ``resps`` and ``filtered_resps`` of ``(log-likelihood, greedy)``;
``doc``, hashes, ``acc``), with ``--shots`` worked examples in front of each question,
and ``tracker.integrations.lm_eval.log_results`` records them into a fresh SQLite store
(a run started, one evaluation, the samples, the run finished): the process's CPU time
(both threads), median of ``--runs`` after one untimed call. No model, no lm-eval import.
Run: ``python benchmarks/bench_lm_eval_rows.py [--docs N] [--shots K] [--runs N]`` in
the ``core`` environment; for a before/after, run it with the old code on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from typing import Any

from tracker.integrations.lm_eval import log_results

SHOT = (
    "Question {k}: which river flows through the capital city of the country with code "
    "{k}, and into which sea does it drain?\nA. the first river\nB. the second river\n"
    "C. the third river\nD. the fourth river\nAnswer: B\n\n"
)


def results(docs: int, shots: int) -> dict[str, Any]:
    """An lm-eval results dict of one 4-choice task with ``docs`` samples."""
    rng = random.Random(0)
    preamble = "The following are multiple choice questions (with answers).\n\n" * bool(shots)
    preamble += "".join(SHOT.format(k=k) for k in range(shots))
    samples = []
    for i in range(docs):
        context = f"{preamble}Question {i}: which of these is the capital of country {i}?\n"
        context += "A. one\nB. two\nC. three\nD. four\nAnswer:"
        choices = [f" {c}" for c in "ABCD"]
        scores = [(-rng.random() * 10, False) for _ in choices]
        right = max(range(4), key=lambda c: scores[c][0]) == i % 4
        samples.append({
            "doc_id": i, "doc": {"question": context, "choices": choices, "label": i % 4},
            "target": i % 4, "arguments": [(context, c) for c in choices],
            "resps": [[s] for s in scores], "filtered_resps": scores, "filter": "none",
            "metrics": ["acc"], "doc_hash": "0" * 64, "prompt_hash": "1" * 64,
            "target_hash": "2" * 64, "acc": float(right),
        })  # fmt: skip
    return {
        "results": {"qa": {"alias": "qa", "acc,none": 0.25, "acc_stderr,none": 0.01}},
        "config": {"model": "hf", "model_args": {"pretrained": "/nonexistent/checkpoint"}},
        "versions": {"qa": 1.0},
        "n-shot": {"qa": shots},
        "samples": {"qa": samples},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    given = results(args.docs, args.shots)
    prompt = len(given["samples"]["qa"][0]["arguments"][0][0])
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "t.db")
        log_results(given, project="warm-up", store=store)
        times = []
        for _ in range(args.runs):
            start = time.process_time()
            log_results(given, project="bench", store=store)
            times.append(time.process_time() - start)
    per = statistics.median(times)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}; {args.docs} samples, {args.shots} shots "
        f"(prompt {prompt} characters)"
    )
    print(
        f"log_results: {per * 1000:.0f} ms of CPU (median of {args.runs}: "
        f"{', '.join(f'{t * 1000:.0f}' for t in times)}), {per / args.docs * 1e6:.1f} µs a sample"
    )


if __name__ == "__main__":
    main()
