"""lighteval: what a lighteval ``Pipeline`` evaluated, as evaluations of the checkpoint it
loaded (docs/evaluations.md).

One line after lighteval's own calls::

    pipeline.evaluate()
    tracker.integrations.lighteval.log_results(pipeline)

``tracker run -- lighteval accelerate ...`` needs not even that: its import hook wraps
``EvaluationTracker.save`` (`tracker.autoattach.lighteval`), which every lighteval
backend calls once the evaluation is done, so that the tracker's results are handed here
before lighteval writes them.

The translation, in order (read from lighteval's ``EvaluationTracker``: what it saves as
``results_*.json`` and, with ``--save-details``, as ``details_*.parquet``):

1. The evaluated version is the model config's ``model_name`` (a path or hub id; of an
   adapter or delta model, the adapter's), given to `CustomTracker.log_evaluation` as
   ``artifact``. lighteval keeps its sample cache in ``cache_dir/model_name/...``: an
   absolute ``model_name`` puts it *inside* the checkpoint's folder, whose digest then
   no longer matches the checkpoint the training saved; that is a warning.
2. Each task of the aggregated metrics is one evaluation, named without its few-shot
   count (``tiny_qa|0`` is task ``tiny_qa`` with ``num_fewshot`` 0); its metrics as
   lighteval names them, ``acc_stderr`` the standard error of ``acc`` (the core's rule).
   ``all`` (lighteval's average over every task and metric) is no task: left out.
3. Its settings: ``harness`` (``lighteval <version>``), the task's ``version``,
   ``num_fewshot`` and ``higher_is_better`` (by metric), ``max_samples``,
   ``num_fewshot_seeds``, ``model`` (the config's class, ``TransformersModelConfig``)
   and ``model_config`` (the model config's fields without ``model_name``, the version,
   and ``cache_dir``, a place on one machine): batch size, dtype, generation
   parameters, chat template, system prompt.
4. Each of a task's details is a sample row: ``doc_id`` (lighteval's ``Doc.id``),
   ``prompt`` (the query), ``choices``, ``target`` (the gold index), ``response`` (of a
   multiple-choice sample the index of the likeliest choice, as the target is; of a
   generation its text), ``logprobs`` and the sample's metrics (``acc``).
5. Nothing raises: what cannot be read is a warning, the rest is recorded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any, Unpack

from tracker.evaluations import harness, likeliest
from tracker.integrations import recording_run
from tracker.run import CustomTracker, TrackerOptions

__all__ = ["log_results"]

log = logging.getLogger("tracker")

_NOT_TASKS = frozenset({"all"})
"""Keys of lighteval's aggregated metrics that are no task (its average over all)."""
_NOT_SETTINGS = frozenset({"model_name", "cache_dir"})
"""Model config fields that are no setting: the version itself, a folder of one machine."""


def log_results(
    source: Any,
    run: CustomTracker | None = None,
    *,
    project: str | None = None,
    run_name: str | None = None,
    **options: Unpack[TrackerOptions],
) -> list[str]:
    """Record what lighteval evaluated: ``source`` is the ``Pipeline`` (after
    ``evaluate()``) or its ``EvaluationTracker``; in ``run``, by default a new run of
    ``project`` (``options`` as `tracker.CustomTracker` takes them), finished afterwards.
    Returns the ids of the evaluations recorded, one per task. Never raises: what cannot
    be read is a warning."""
    tracker = getattr(source, "evaluation_tracker", source)
    aggregated = getattr(getattr(tracker, "metrics_logger", None), "metric_aggregated", None)
    if not isinstance(aggregated, Mapping):
        log.warning(
            "tracker: lighteval's results hold no aggregated metrics (got %s); nothing "
            "recorded. Pass the Pipeline after evaluate(), or its evaluation_tracker",
            type(source).__name__,
        )
        return []
    with recording_run(run, "lighteval", project, run_name, options) as target:
        return _log(tracker, aggregated, target)


def _log(tracker: Any, aggregated: Mapping[str, Any], run: CustomTracker) -> list[str]:
    general = getattr(tracker, "general_config_logger", None)
    model_config = getattr(general, "model_config", None)
    artifact = getattr(model_config, "model_name", None) or getattr(general, "model_name", None)
    if not isinstance(artifact, str) or not artifact:
        artifact = None
        log.warning(
            "tracker: lighteval's results name no model; the scores are recorded of the "
            "version last given to use_artifact, if any"
        )
    else:
        _warn_cache_inside(artifact)
    common = _common_settings(general, model_config)
    configs = getattr(getattr(tracker, "task_config_logger", None), "tasks_configs", None)
    configs = configs if isinstance(configs, Mapping) else {}
    details = getattr(getattr(tracker, "details_logger", None), "details", None)
    details = details if isinstance(details, Mapping) else {}
    ids = []
    for key, metrics in aggregated.items():
        if key in _NOT_TASKS:
            continue
        if not isinstance(metrics, Mapping):
            log.warning("tracker: lighteval task %r has no metrics mapping; left out", key)
            continue
        task, shots = _task(str(key))
        samples = details.get(key)
        eval_id = run.log_evaluation(
            task,
            dict(metrics),
            artifact=artifact,
            settings=common | _task_settings(configs.get(key), shots),
            samples=_rows(samples) if isinstance(samples, list) else None,
        )
        if eval_id is not None:
            ids.append(eval_id)
    return ids


def _warn_cache_inside(model_name: str) -> None:
    """Rule 1: lighteval's ``cache_dir / model_name`` is the checkpoint itself when the
    name is an absolute path."""
    if os.path.isabs(model_name) and os.path.isdir(model_name):
        log.warning(
            "tracker: lighteval keeps its sample cache inside %s (an absolute model_name "
            "replaces its cache_dir), so that folder's digest no longer matches the "
            "checkpoint the training saved; its scores are recorded of the folder as it "
            "is. Give model_name as a relative path to keep the checkpoint unchanged",
            model_name,
        )


def _task(key: str) -> tuple[str, int | None]:
    """``tiny_qa|0`` as task ``tiny_qa`` and 0 shots (rule 2)."""
    name, bar, shots = key.rpartition("|")
    if bar and name and shots.isdigit():
        return name, int(shots)
    return key, None


def _common_settings(general: Any, model_config: Any) -> dict[str, Any]:
    """The settings every task of the evaluation shares (rule 3)."""
    settings: dict[str, Any] = {"harness": harness("lighteval")}
    for key in ("max_samples", "num_fewshot_seeds"):
        if hasattr(general, key):
            settings[key] = getattr(general, key)
    if model_config is not None:
        settings["model"] = type(model_config).__name__
        dump = getattr(model_config, "model_dump", None)
        try:
            fields = dump() if callable(dump) else None
        except Exception as exc:
            log.warning(
                "tracker: lighteval's model config could not be read (%s); left out of the "
                "settings",
                type(exc).__name__,
            )
            fields = None
        if isinstance(fields, Mapping):
            settings["model_config"] = {k: v for k, v in fields.items() if k not in _NOT_SETTINGS}
    return settings


def _task_settings(config: Any, shots: int | None) -> dict[str, Any]:
    """What a task's config says of its evaluation (rule 3)."""
    settings: dict[str, Any] = {}
    if hasattr(config, "version"):
        settings["version"] = config.version
    shots = getattr(config, "num_fewshots", shots)
    if shots is not None:
        settings["num_fewshot"] = shots
    better: dict[str, Any] = {}
    for metric in getattr(config, "metrics", None) or ():
        names = getattr(metric, "metric_name", None)
        higher = getattr(metric, "higher_is_better", None)
        if isinstance(names, str):
            better[names] = higher
        elif isinstance(names, list | tuple) and isinstance(higher, Mapping):
            better.update({n: higher.get(n) for n in names if isinstance(n, str)})
    if better:
        settings["higher_is_better"] = better
    return settings


def _rows(details: list[Any]) -> Iterator[dict[str, Any]]:
    """A task's details as sample rows (rule 4), made one at a time."""
    for detail in details:
        doc, response = getattr(detail, "doc", None), getattr(detail, "model_response", None)
        logprobs = getattr(response, "logprobs", None)
        texts = getattr(response, "text_post_processed", None) or getattr(response, "text", None)
        best = likeliest(logprobs)
        row: dict[str, Any] = {
            "doc_id": getattr(doc, "id", None) or None,  # "" (no id): its position
            "prompt": getattr(doc, "query", None),
            "choices": getattr(doc, "choices", None),
            "target": getattr(doc, "gold_index", None),
            "response": best if best is not None else (texts[0] if texts else None),
            "logprobs": logprobs or None,
        }
        metrics = getattr(detail, "metric", None)
        if isinstance(metrics, Mapping):
            row.update({str(k): v for k, v in metrics.items()})
        yield row
