"""lm-evaluation-harness: the results dict of ``simple_evaluate`` as evaluations of the
checkpoint it evaluated (docs/evaluations.md).

One line after lm-eval's own call::

    results = lm_eval.simple_evaluate(model="hf", model_args="pretrained=out/checkpoint-500",
                                      tasks=["arc_easy"], log_samples=True)
    tracker.integrations.lm_eval.log_results(results)

``tracker run -- lm_eval ...`` needs not even that: its import hook wraps
``lm_eval.evaluator.simple_evaluate`` (`tracker.autoattach.lm_eval`) so that the results
it returns are handed here, samples included, before the CLI writes them.

The translation, in order:

1. The evaluated version is ``peft=`` of ``model_args`` (an adapter), else
   ``pretrained=`` (a string ``k=v,k=v`` or a dict, as lm-eval takes either), else the
   model's name lm-eval recorded (``config.model``, the ``_name_or_path`` of a model
   object); it goes to `CustomTracker.log_evaluation` as ``artifact``.
2. Each task of ``results`` is one evaluation; its metrics are lm-eval's keys with a
   ``,none`` filter dropped (``acc,none`` is ``acc``, ``exact_match,strict-match`` stays),
   its standard errors the ``<metric>_stderr,<filter>`` keys (``N/A`` left out).
3. Its settings: ``harness`` (``lm-eval <version>``), the task's ``version``,
   ``num_fewshot`` (``n-shot``) and ``higher_is_better`` (by metric), and of ``config``
   ``model`` (the model class: ``hf``), ``model_args`` (without ``pretrained`` and
   ``peft``: the version is no setting, or every checkpoint would be a leaderboard
   column of its own), ``limit``, ``batch_size``, the seeds, ``gen_kwargs``;
   ``apply_chat_template`` (whether a chat template was applied), its
   ``chat_template_sha``, ``fewshot_as_multiturn`` and ``system_instruction`` where
   lm-eval recorded them, and the task's ``sample_len`` (the number of samples
   evaluated: no score). ``batch_size`` ``"4"`` (the CLI's) is ``4`` (the API's), an
   empty ``gen_kwargs`` is left out. Settings are redacted as config is (a token in
   ``model_args``).
4. With ``log_samples``, each of the task's samples is a row: ``doc_id``, ``filter``,
   ``prompt`` (the first request's context), ``continuations`` where every request is a
   log-likelihood of that prompt (a multiple-choice sample's choices, the prompt not
   repeated a choice), else ``arguments`` (lm-eval's, whole), ``target``, ``response``
   (of a generation its text; of a multiple-choice sample the index of the likeliest
   choice, as its target is), ``resps`` (lm-eval's filtered responses whole: the
   log-likelihoods), and its per-sample metrics (``acc``, ``exact_match``) under
   lm-eval's names.
5. A results dict of another shape (another lm-eval version) is read as far as it goes:
   what is missing is a warning, what is there is recorded; nothing raises.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, Unpack

from tracker.evaluations import harness, likeliest
from tracker.integrations import recording_run
from tracker.run import CustomTracker, TrackerOptions

__all__ = ["evaluated_model", "log_results"]

log = logging.getLogger("tracker")

_VERSION_ARGS = ("peft", "pretrained")
"""The ``model_args`` that name the version evaluated (rule 1), the first found wins."""
_CONFIG_SETTINGS = (
    "model",
    "model_args",
    "limit",
    "batch_size",
    "random_seed",
    "numpy_seed",
    "torch_seed",
    "fewshot_seed",
    "gen_kwargs",
)
_TOP_SETTINGS = ("chat_template_sha", "fewshot_as_multiturn", "system_instruction")


def log_results(
    results: Mapping[str, Any] | None,
    run: CustomTracker | None = None,
    *,
    project: str | None = None,
    run_name: str | None = None,
    **options: Unpack[TrackerOptions],
) -> list[str]:
    """Record lm-eval's ``results`` (what ``simple_evaluate`` returns; ``None`` on the
    ranks other than 0, where nothing is recorded) in ``run``, by default a new run of
    ``project`` (``options`` as `tracker.CustomTracker` takes them), finished afterwards.
    Returns the ids of the evaluations recorded, one per task. Never raises: bad input
    is a warning."""
    if results is None:
        return []
    if not isinstance(results, Mapping) or not isinstance(results.get("results"), Mapping):
        log.warning(
            "tracker: lm-eval results without a 'results' mapping (got %s); nothing recorded. "
            "Pass what lm_eval.simple_evaluate returned",
            type(results).__name__,
        )
        return []
    with recording_run(run, "lm-eval", project, run_name, options) as target:
        return _log(results, target)


def evaluated_model(results: Mapping[str, Any]) -> str | None:
    """The path or hub id of the model ``results`` are of (rule 1), ``None`` if unknown."""
    config = results.get("config")
    config = config if isinstance(config, Mapping) else {}
    args = _model_args(config.get("model_args"))
    for key in _VERSION_ARGS:
        value = args.get(key)
        if isinstance(value, str) and value:
            return value
    model = config.get("model")
    if isinstance(model, str) and model and model not in _MODEL_TYPES:
        return model
    return None


_MODEL_TYPES = frozenset({"hf", "hf-auto", "huggingface", "vllm", "sglang", "hf-multimodal"})
"""lm-eval's names of model classes: ``config.model`` of a run given by name, not a model."""


def _model_args(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        return {}
    pairs = (part.partition("=") for part in value.split(",") if "=" in part)
    return {key.strip(): text.strip() for key, _, text in pairs}


def _log(results: Mapping[str, Any], run: CustomTracker) -> list[str]:
    artifact = evaluated_model(results)
    if artifact is None:
        log.warning(
            "tracker: lm-eval results name no model (no pretrained= in model_args); the "
            "scores are recorded of the version last given to use_artifact, if any"
        )
    samples = results.get("samples")
    samples = samples if isinstance(samples, Mapping) else {}
    ids = []
    for task, values in results["results"].items():
        if not isinstance(values, Mapping):
            log.warning("tracker: lm-eval task %r has no metrics mapping; left out", task)
            continue
        metrics, stderr = _metrics(values)
        task_samples = samples.get(task)
        eval_id = run.log_evaluation(
            str(task),
            metrics,
            artifact=artifact,
            stderr=stderr,
            settings=_settings(results, str(task)),
            samples=_rows(task_samples) if isinstance(task_samples, list) else None,
        )
        if eval_id is not None:
            ids.append(eval_id)
    return ids


def _metric_name(key: str) -> str:
    name, _, where = key.partition(",")
    return name if where in ("", "none") else key


def _metrics(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A task's scores and standard errors, keyed by metric name (rule 2)."""
    metrics: dict[str, Any] = {}
    stderr: dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(key, str) or key.partition(",")[0] in _NOT_SCORES:
            continue
        name, comma, where = key.partition(",")
        if name.endswith("_stderr"):
            if value != "N/A":
                stderr[_metric_name(name.removesuffix("_stderr") + comma + where)] = value
            continue
        metrics[_metric_name(key)] = value
    return metrics, stderr


_TASK_SETTINGS = (
    ("version", "versions"),
    ("num_fewshot", "n-shot"),
    ("higher_is_better", "higher_is_better"),
)
"""Settings read from results' tables by task: the setting and its table."""
_NOT_SCORES = frozenset({"alias", "name", "sample_len"})
"""Keys of a task's results that are no score: its names, its number of samples."""


def _settings(results: Mapping[str, Any], task: str) -> dict[str, Any]:
    """What tells this evaluation apart from another of the same version (rule 3)."""
    config = results.get("config")
    config = config if isinstance(config, Mapping) else {}
    settings: dict[str, Any] = {"harness": harness("lm-eval", results.get("lm_eval_version"))}
    for key, source in _TASK_SETTINGS:
        table = results.get(source)
        if isinstance(table, Mapping) and task in table:
            settings[key] = table[task]
    settings.update({key: config[key] for key in _CONFIG_SETTINGS if key in config})
    model_args = _model_args(config.get("model_args"))
    if model_args or "model_args" in settings:
        settings["model_args"] = {k: v for k, v in model_args.items() if k not in _VERSION_ARGS}
    if "model" in settings and settings["model"] == evaluated_model(results):
        del settings["model"]  # a path: the version itself, not a setting
    if isinstance(settings.get("batch_size"), str) and settings["batch_size"].isdigit():
        settings["batch_size"] = int(settings["batch_size"])  # the CLI's "4" is the API's 4
    if not settings.get("gen_kwargs"):
        settings.pop("gen_kwargs", None)  # the CLI's {} is the API's None
    values = results["results"].get(task)
    if isinstance(values, Mapping) and "sample_len" in values:
        settings["sample_len"] = values["sample_len"]
    settings["apply_chat_template"] = bool(results.get("chat_template"))
    settings.update({key: results[key] for key in _TOP_SETTINGS if key in results})
    return settings


def _rows(samples: list[Any]) -> Iterator[dict[str, Any]]:
    """lm-eval's logged samples as table rows (rule 4), made one at a time."""
    for sample in samples:
        if not isinstance(sample, Mapping):
            continue
        arguments = sample.get("arguments")
        requests = _requests(arguments)
        prompt = _prompt(requests)
        row: dict[str, Any] = {
            "doc_id": sample.get("doc_id"),
            "filter": sample.get("filter"),
            "prompt": prompt,
        }
        continuations = _continuations(requests, prompt)
        if continuations is None:
            row["arguments"] = arguments
        else:
            row["continuations"] = continuations
        row["target"] = sample.get("target")
        row["response"] = _response(sample.get("filtered_resps"))
        row["resps"] = sample.get("filtered_resps")
        names = sample.get("metrics")
        for name in names if isinstance(names, list) else ():
            if isinstance(name, str) and name in sample:
                row[name] = sample[name]
        yield row


def _requests(arguments: Any) -> list[Any]:
    """lm-eval's arguments as a list of requests, each a sequence of its arguments: as
    lm-eval holds them (``[(context, continuation), ...]``), or in the form its file
    writer puts in their place (``{"gen_args_0": {"arg_0": context, ...}, ...}``)."""
    if isinstance(arguments, Mapping):
        return [list(r.values()) if isinstance(r, Mapping) else r for r in arguments.values()]
    return list(arguments) if isinstance(arguments, list | tuple) else []


def _prompt(requests: list[Any]) -> Any:
    """The first request's context."""
    first = requests[0] if requests else None
    return first[0] if isinstance(first, list | tuple) and first else None


def _continuations(requests: list[Any], prompt: Any) -> list[str] | None:
    """Of log-likelihood requests that all share ``prompt`` as their context (a
    multiple-choice sample: ``[(context, " Paris"), (context, " Rome"), ...]``), each
    request's continuation; ``None`` for any other shape (kept whole as ``arguments``)."""
    if not isinstance(prompt, str):
        return None
    found = []
    for request in requests:
        if not (isinstance(request, list | tuple) and len(request) == 2):
            return None
        context, continuation = request
        if type(context) is not str or context != prompt or type(continuation) is not str:
            return None
        found.append(continuation)
    return found or None


def _response(filtered: Any) -> Any:
    """A generated text as itself; of a choice's log-likelihoods (``[[ll, greedy],
    ...]``, a multiple-choice sample) the index of the likeliest, as the target is."""
    if not isinstance(filtered, list | tuple):
        return filtered
    if len(filtered) == 1:
        only = filtered[0]
        return only[0] if isinstance(only, list | tuple) and len(only) == 1 else only
    best = likeliest([c[0] if isinstance(c, list | tuple) and c else c for c in filtered])
    return filtered if best is None else best
