"""The one metric naming scheme every adapter maps into.

A metric name is ``<section>/<name>``:

==============  ===========================================================================
``train/``      training: ``train/loss``, ``train/learning_rate``, ``train/grad_norm``,
                ``train/epoch``, ``train/num_input_tokens_seen``,
                ``train/tokens_per_second``, TRL's keys such as ``train/rewards/chosen``
``eval/``       evaluation: ``eval/loss``, ``eval/<metric>``, ``eval/rewards/chosen``
``predict/``    prediction: ``predict/<metric>`` (``predict_bleu-4`` → ``predict/bleu-4``)
``system/``     hardware: ``system/gpu/0/utilization``, ``system/cpu/percent``, ...; the
                training device's peak memory in GiB as torchtune reports it:
                ``system/peak_memory_active``, ``system/peak_memory_allocated``,
                ``system/peak_memory_reserved``
==============  ===========================================================================

Framework keys are translated by `split_metrics`: a key that already has a section is
kept; ``eval_x``, ``predict_x`` and ``test_x`` go to ``eval/x``, ``predict/x`` and
``predict/x``, ``train_x`` to ``train/x``; other keys go to the section of the phase that
logged them, after the aliases below (``lr`` is ``learning_rate``, torchtune's
``tokens_per_second_per_gpu`` is ``tokens_per_second``, TRL's ``num_tokens`` is
``num_input_tokens_seen``, torchtune's ``peak_memory_alloc`` is ``peak_memory_allocated``).
Peak memory always goes to ``system/``; ``epoch``, ``learning_rate`` and the token count
logged without a prefix go to ``train/`` (an ``eval_num_tokens`` stays ``eval/``), and the
usual names of evaluation metrics logged without a prefix (``accuracy``, ``f1``,
``precision``, ``recall``, ``exact_match``, ``bleu``, ``rouge1``... see `EVAL_NAMES`) go to
``eval/``.

End-of-phase figures (runtime, throughput, total FLOPs, the mean training loss) are not
curves, but only the adapter knows when a log is the end of a phase: with ``final=True``
(the Trainer's end-of-training, ``evaluate()`` and ``predict()`` logs) they go to the
run's summary, under the same names (``train/runtime``, ``train/total_flos``,
``train/mean_loss``, ``eval/runtime``, ...); otherwise (accelerate's and torchtune's
``log`` calls) every key is a curve, so a ``train_loss`` logged each epoch is the
``train/loss`` curve. `log_framework_metrics` records both halves on a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.run import CustomTracker

__all__ = [
    "EVAL_NAMES",
    "SECTIONS",
    "imported_name",
    "log_framework_metrics",
    "sampled_by_time",
    "split_metrics",
]

SECTIONS = ("train", "eval", "predict", "system")
_SAMPLED = ("system/",)


def sampled_by_time(key: str) -> bool:
    """Whether a metric is sampled on a clock (``system/``) rather than logged per step:
    several of its points can share a step, so it is read whole (``raw``), not one per step."""
    return key.startswith(_SAMPLED)


_PREFIXES = {"eval_": "eval", "predict_": "predict", "test_": "predict", "train_": "train"}
_ALIASES = {
    "lr": "learning_rate",
    "tokens_per_second_per_gpu": "tokens_per_second",
    "num_tokens": "num_input_tokens_seen",
    "peak_memory_alloc": "peak_memory_allocated",
}
_ALWAYS_TRAIN = {"epoch", "num_input_tokens_seen", "learning_rate"}
EVAL_NAMES = frozenset(
    {
        "accuracy",
        "f1",
        "precision",
        "recall",
        "exact_match",
        "matthews_correlation",
        "auc",
        "roc_auc",
        "bleu",
        "sacrebleu",
        "rouge1",
        "rouge2",
        "rougeL",
        "rougeLsum",
        "perplexity",
    }
)
"""Metric names that mean an evaluation when logged without a section or prefix."""
_ALWAYS_SYSTEM = {"peak_memory_active", "peak_memory_allocated", "peak_memory_reserved"}
_SUMMARY = {
    "runtime": "runtime",
    "samples_per_second": "samples_per_second",
    "steps_per_second": "steps_per_second",
    "total_flos": "total_flos",
    "loss": "mean_loss",  # only as ``train_loss``: the mean loss of the whole training
}
_DROPPED = {"step", "global_step"}


def split_metrics(
    logs: Mapping[str, Any], section: str = "train", *, final: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Translate a framework's flat ``logs`` into ``(metrics, summary)`` of the scheme.

    ``section`` is where keys without a prefix belong (``"train"`` inside training,
    ``"eval"`` for an evaluation's output). ``final`` says that ``logs`` is the end of a
    phase, whose figures (runtime, throughput, ``train_loss``) go to the summary. Values
    are passed through untouched.
    """
    metrics: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for key, value in logs.items():
        if key in _DROPPED:
            continue
        head, slash, _rest = key.partition("/")
        if slash and head in SECTIONS:
            metrics[key] = value
            continue
        target, name, prefixed = section, key, False
        for prefix, prefix_section in _PREFIXES.items():
            if key.startswith(prefix):
                target, name, prefixed = prefix_section, key[len(prefix) :], True
                break
        name = _ALIASES.get(name, name)
        if final and name in _SUMMARY and (name != "loss" or key == "train_loss"):
            summary[f"{target}/{_SUMMARY[name]}"] = value
        elif name == "total_flos":
            summary["train/total_flos"] = value
        elif name in _ALWAYS_SYSTEM:
            metrics[f"system/{name}"] = value
        elif name in _ALWAYS_TRAIN and not prefixed:
            metrics[f"train/{name}"] = value
        elif name in EVAL_NAMES and not prefixed and target == "train":
            metrics[f"eval/{name}"] = value
        else:
            metrics[f"{target}/{name}"] = value
    return metrics, summary


_REWRITTEN = {"train": "", "eval": "eval_", "test": "test_"}  # transformers' rewrite_logs, undone


def imported_name(key: str) -> tuple[str, bool] | None:
    """The scheme's name of a metric another tool logged as ``key`` (``tracker import``),
    and whether it is an end-of-phase figure (the run's summary, as `split_metrics` with
    ``final=True`` puts it) rather than a curve; None for a step counter.

    * ``train/x``, ``eval/x``, ``test/x`` are what transformers' callbacks for TensorBoard
      and W&B log for ``x``, ``eval_x``, ``test_x`` (``rewrite_logs``): read back so, then
      mapped as the adapters map them (``train/train_runtime`` is the summary
      ``train/runtime``, ``train/train_loss`` the summary ``train/mean_loss``);
    * any other name with a section of its own (``Loss/train``, ``hparam/final_loss``,
      ``system/...``, ``predict/...``) keeps it;
    * a plain name goes through `split_metrics`; its end-of-phase figures
      (``train_runtime``, ``eval_samples_per_second``, ``total_flos``) are summaries, but
      a plain ``train_loss`` stays the ``train/loss`` curve (accelerate logs it each epoch).
    """
    head, slash, rest = key.partition("/")
    if slash and head not in _REWRITTEN:
        return key, False
    plain = _REWRITTEN[head] + rest if slash else key
    metrics, summary = split_metrics({plain: 0.0}, final=plain != "train_loss" or bool(slash))
    if summary and (plain == "total_flos" or plain.startswith(tuple(_PREFIXES))):
        return next(iter(summary)), True
    if metrics:
        return next(iter(metrics)), False
    if summary:  # a figure logged without a phase (``runtime``): a curve of its phase
        return f"train/{plain}", False
    return None


def log_framework_metrics(
    run: CustomTracker,
    logs: Mapping[str, Any],
    step: int | None = None,
    *,
    section: str = "train",
    final: bool = False,
) -> None:
    """Record a framework's flat ``logs`` on ``run`` under the scheme: the curves at
    ``step`` with `CustomTracker.log_metrics`, end-of-phase figures (``final``) in the
    summary."""
    metrics, summary = split_metrics(logs, section, final=final)
    if metrics:
        run.log_metrics(metrics, step)
    if summary:
        run.log_summary(summary)
