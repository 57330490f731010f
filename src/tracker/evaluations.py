"""Evaluations of checkpoints: what `CustomTracker.log_evaluation` records, by these rules.

1. One call is one *evaluation*: one task, one set of settings, any number of metrics. It
   gets an ``eval_id`` (the call returns it) shared by its scores, one
   `tracker.records.Evaluation` each.
2. The evaluated version is ``artifact``: a path or URI, recorded as an input of the
   run as `CustomTracker.use_artifact` records it (a local path is hashed, so the
   scores match the checkpoint of the run that produced it, on any machine); an
   `tracker.records.Artifact` a store returned (its uri and digest are taken); by
   default the version the run last used with ``use_artifact``. With none the scores
   are still recorded, of an unknown version (uri ``""``), with a warning. A path that
   no longer exists is recorded as given (a reference, unhashed): the scores are kept.
3. ``metrics`` is a mapping of names to numbers, flattened as ``log_metrics`` flattens
   (``{"acc": {"none": 0.5}}`` is ``acc/none``). What is not a number (an ``alias``
   text) is left out, named in one warning. NaN and infinities are kept as they are: a
   NaN score is a result (the leaderboard shows it and ranks it last). A metric named
   like another with ``_stderr`` inserted (``acc_stderr,none`` beside ``acc,none``, as
   lm-evaluation-harness writes them) is that metric's standard error, not a score of
   its own; ``stderr`` given as a mapping of metric to number wins over it. A call with
   no numeric metric records nothing and warns.
4. ``settings`` is any mapping (harness and version, ``num_fewshot``, ``limit``, batch
   size, chat template, seed, ...), converted to JSON and redacted as config is: two
   evaluations of one version with other settings are both kept, told apart by these.
5. ``samples`` is any iterable of mappings, one per sample (``doc_id``, ``prompt`` or
   ``arguments``, ``target``, ``response``, per-sample metrics such as ``acc``). It is
   read lazily, `SAMPLES_PER_STEP` at a time, each slice one step (0, 1, ...) of the
   run's table ``samples/<task>/<eval_id>`` (docs/tables.md), which the scores name
   (``Evaluation.samples``). A sample without ``doc_id`` gets its position. An iterable
   that raises part way keeps the samples before, with a warning.
6. The scores reach the store through the writer, after the version's digest: the run's
   artifact recorder takes them in order with its ``use_artifact`` requests
   (`tracker.artifacts`) and fills in the digest of the version they name.
7. Nothing here raises into the caller: bad input is a warning, and what is good of the
   call is still recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from tracker.artifacts import Evaluated
from tracker.calls import LogTable
from tracker.ids import new_run_id
from tracker.records import Artifact, Evaluation, Row, paused_gc
from tracker.values import NotAScalar, clean_text, flatten_metrics, to_json, to_scalar

__all__ = [
    "SAMPLES_PER_STEP",
    "build_evaluation",
    "evaluation_work",
    "harness",
    "likeliest",
    "of_version",
    "sample_slices",
    "samples_key",
]

log = logging.getLogger("tracker")

SAMPLES_PER_STEP = 1000
"""Samples of one evaluation sent to the writer at once (one step of its table)."""


_END = object()


def samples_key(task: str, eval_id: str) -> str:
    """The table that holds the samples of evaluation ``eval_id`` of ``task``."""
    return f"samples/{task}/{eval_id}"


def build_evaluation(
    run_id: str,
    task: Any,
    metrics: Any,
    *,
    stderr: Any = None,
    settings: Any = None,
    redact: Callable[[Any], Any],
    at: float,
) -> list[Evaluation]:
    """The scores of one ``log_evaluation`` call, sharing a new ``eval_id``, with uri and
    digest still empty (`tracker.artifacts` fills them in); ``[]`` (with a warning) when
    nothing of it can be recorded. Never raises."""
    name = _text(task)
    if not name:
        log.warning("tracker: log_evaluation needs a task name, such as 'arc_easy'; skipped")
        return []
    if not isinstance(metrics, Mapping):
        log.warning(
            "tracker: log_evaluation(%r) takes a mapping of metric names to numbers, not %s; "
            "skipped",
            name,
            type(metrics).__name__,
        )
        return []
    scores, errors = _scores(name, metrics)
    for metric, value in _numbers(name, "stderr", stderr).items():
        errors[metric] = value
    if not scores:
        log.warning(
            "tracker: log_evaluation(%r) has no numeric metric (got %s); nothing recorded",
            name,
            ", ".join(sorted(map(str, metrics))[:10]) or "none",
        )
        return []
    kept = _settings(name, settings, redact)
    eval_id = new_run_id()
    return [
        Evaluation(run_id, eval_id, name, metric, value, errors.get(metric), settings=kept,
                   created_at=at)
        for metric, value in scores.items()
    ]  # fmt: skip


def of_version(found: list[Evaluation], version: Artifact) -> str:
    """Make ``found`` scores of ``version`` (a record a store returned: its uri and
    digest); the ref to queue them with."""
    for evaluation in found:
        evaluation.uri, evaluation.digest = version.uri, version.digest
    return version.uri


def evaluation_work(
    found: list[Evaluation], ref: str, samples: Any, put: Callable[[LogTable], None]
) -> Evaluated:
    """Put the ``samples``' table slices (rule 5) with ``put``; the scores of version
    ``ref`` (``""``: none named, warned about) to queue after them (rule 6)."""
    first = found[0]
    if not ref and not first.uri:
        log.warning(
            "tracker: log_evaluation(%r): no version named (use_artifact(path) first, or "
            "artifact=path); its scores are recorded of an unknown version",
            first.task,
        )
    if samples is not None:
        key = samples_key(first.task, first.eval_id)
        for step, rows in enumerate(sample_slices(first.task, samples)):
            put(LogTable(key, step, rows))
            for evaluation in found:
                evaluation.samples = key
    return Evaluated(ref, found)


def _scores(task: str, metrics: Mapping[Any, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """The numeric metrics and the standard errors among them (rule 3)."""
    numbers = _numbers(task, "metrics", metrics)
    errors: dict[str, float] = {}
    for key in list(numbers):
        if "_stderr" not in key:
            continue
        base = key.replace("_stderr", "", 1)
        if base in numbers:
            errors[base] = numbers.pop(key)
    return numbers, errors


def _numbers(task: str, what: str, given: Any) -> dict[str, float]:
    """The numbers of mapping ``given``, flattened; what is not one named in a warning."""
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        log.warning(
            "tracker: log_evaluation(%r): %s takes a mapping, not %s; left out",
            task,
            what,
            type(given).__name__,
        )
        return {}
    flat, problems = flatten_metrics(given)
    numbers: dict[str, float] = {}
    skipped = [p.key for p in problems]  # names of what is left out
    for key, value in flat.items():
        try:
            numbers[key] = to_scalar(value)
        except NotAScalar:
            skipped.append(key)
    if skipped:
        log.warning(
            "tracker: log_evaluation(%r): %s that are not numbers left out: %s",
            task,
            what,
            ", ".join(skipped[:10])
            + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""),
        )
    return numbers


def _listed(names: list[str]) -> str:
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return ", ".join(names[:10]) + more


def _settings(task: str, settings: Any, redact: Callable[[Any], Any]) -> dict[str, Any]:
    if settings is None:
        return {}
    try:
        clean = redact(to_json(settings))
    except Exception as exc:
        log.warning(
            "tracker: log_evaluation(%r): settings left out: converting them raised %s",
            task,
            type(exc).__name__,
        )
        return {}
    if not isinstance(clean, dict):
        log.warning(
            "tracker: log_evaluation(%r): settings take a mapping, not %s; left out",
            task,
            type(settings).__name__,
        )
        return {}
    return clean


def sample_slices(task: str, samples: Iterable[Any]) -> Iterator[list[Row | Any]]:
    """``samples`` in slices of `SAMPLES_PER_STEP` (rule 5), each sample a dict with its
    ``doc_id``; what is not a mapping is passed on for the table's rules to skip. Stops
    with a warning where the iterable raises."""
    try:
        iterator = iter(samples)
    except Exception as exc:
        log.warning(
            "tracker: log_evaluation(%r): samples are not iterable (%s); none recorded",
            task,
            type(exc).__name__,
        )
        return
    position, more = 0, True
    while more:
        with paused_gc():  # a slice's rows hold no cycles to collect (see paused_gc)
            part, more = _slice(task, iterator, position)
        position += len(part)
        if part:
            yield part


def _slice(task: str, iterator: Iterator[Any], position: int) -> tuple[list[Row | Any], bool]:
    """The next `SAMPLES_PER_STEP` samples of ``iterator`` (the first at ``position``), and
    whether there may be more."""
    part: list[Row | Any] = []
    while len(part) < SAMPLES_PER_STEP:
        try:
            row = next(iterator, _END)
        except Exception as exc:
            log.warning(
                "tracker: log_evaluation(%r): reading the samples raised %s after %d; the "
                "rest is left out",
                task,
                type(exc).__name__,
                position + len(part),
            )
            return part, False
        if row is _END:
            return part, False
        part.append(_sample(row, position + len(part)))
    return part, True


def _sample(row: Any, position: int) -> Any:
    if not isinstance(row, Mapping):
        return row
    try:
        sample = dict(row)
    except Exception:
        return None  # a mapping whose items raise: skipped as no row
    if sample.get("doc_id") is None:
        sample["doc_id"] = position
    return sample


def harness(distribution: str, recorded: Any = None) -> str:
    """The ``harness`` setting of an evaluation by ``distribution`` (``lm-eval 0.4.13``):
    the version the harness ``recorded`` in its results, else the installed one."""
    version = recorded if isinstance(recorded, str) and recorded else None
    if version is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            version = installed(distribution)
        except PackageNotFoundError:
            version = "unknown"
    return f"{distribution} {version}"


def likeliest(scores: Any) -> int | None:
    """The index of the highest of ``scores`` (a multiple-choice sample's log-likelihood
    of each choice: its response, comparable to a gold index); ``None`` unless it is a
    non-empty sequence of numbers."""
    if not isinstance(scores, list | tuple) or not scores:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores):
        return None
    return max(range(len(scores)), key=scores.__getitem__)


def _text(value: Any) -> str:
    try:
        return clean_text(value if type(value) is str else str(value)).strip()
    except Exception:
        return ""
