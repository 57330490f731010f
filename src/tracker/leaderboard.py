"""Reading evaluations back: which checkpoint scores what (`leaderboard`), the scores along
the producing run's steps (`bench_history`), and what changed between two evaluations of
one task, sample by sample (`sample_diff`).

How an evaluation finds its checkpoint, on read (so any order of recording works): of
the versions runs *produced* (``direction="output"``), the first logged whose digest is
the evaluation's digest, else whose uri is its uri. An evaluation matching none is kept
as a version of its own, named by its uri (the checkpoint is unknown, or not recorded
yet; once it is, the same read finds it). Scores are read grouped by evaluating run and
version (`tracker.store.base.version_scores`: in the SQL stores, one row a group), and
each group is matched once: its scores name the same version.

Which score is best: higher, except for metrics whose name says lower is better, by the
rule every view shares (`tracker.views.lower_is_better`, applied to the metric's name
before any ``,filter``: ``word_perplexity,none`` is lower-better). NaN is never best
and ranks last. Where one version has several
evaluations of a column (evaluated again), the one recorded last is shown.

A column is ``task/metric``; where evaluations of one column differ in their settings
(a 0-shot and a 5-shot run), the column is split, each named with the settings that
differ: ``arc_easy/acc [num_fewshot=5]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from tracker.records import Artifact, Cell, Evaluation, Record, Row, Series, paused_gc
from tracker.store.base import Store, StoreError, VersionScores, version_scores
from tracker.views import lower_is_better

__all__ = [
    "Entry",
    "Leaderboard",
    "SampleDiff",
    "bench_history",
    "column_names",
    "evaluations_of",
    "higher_is_better",
    "leaderboard",
    "sample_diff",
    "scores",
]

BENCH = "bench"
"""The section of a producing run's metrics where its checkpoints' scores are read
(``bench/<task>/<metric>``, docs/naming.md)."""


def higher_is_better(metric: str) -> bool:
    """Whether a higher score of ``metric`` (``acc,none``) is better (the module's rule)."""
    return not lower_is_better(metric.split(",", 1)[0])


class Entry(Record):
    """One evaluated version and its scores by column. ``checkpoint`` is the version a run
    produced, ``None`` where no run's output matches (``uri`` and ``digest`` are then the
    evaluation's)."""

    __slots__ = ("checkpoint", "uri", "digest", "scores")  # noqa: RUF023 (field order)

    def __init__(
        self,
        checkpoint: Artifact | None,
        uri: str,
        digest: str | None,
        scores: dict[str, Evaluation] | None = None,
    ) -> None:
        self.checkpoint = checkpoint
        self.uri = uri
        self.digest = digest
        self.scores: dict[str, Evaluation] = {} if scores is None else scores

    def value(self, column: str) -> float:
        """The score of ``column`` (NaN where there is none)."""
        found = self.scores.get(column)
        return math.nan if found is None else found.value


class Leaderboard(Record):
    """Versions by columns: ``entries`` in the order their versions were logged (unknown
    versions last), ``columns`` sorted."""

    __slots__ = ("columns", "entries")

    def __init__(self, columns: list[str], entries: list[Entry]) -> None:
        self.columns = columns
        self.entries = entries

    def _up(self, column: str, highest: bool | None) -> bool:
        if highest is not None:
            return highest
        metric = next((e.scores[column].metric for e in self.entries if column in e.scores), "")
        return higher_is_better(metric)

    def best(self, column: str, *, highest: bool | None = None) -> Entry | None:
        """The entry with the best finite score of ``column`` (``highest`` overrides the
        module's rule); of equals, the first."""
        up = self._up(column, highest)
        ranked = [
            (-v if up else v, i)
            for i, e in enumerate(self.entries)
            if math.isfinite(v := e.value(column))
        ]
        return self.entries[min(ranked)[1]] if ranked else None

    def ranked(self, column: str, *, highest: bool | None = None) -> list[Entry]:
        """The entries with a score of ``column``, best first, NaN last."""
        up = self._up(column, highest)
        scored = [e for e in self.entries if column in e.scores]

        def key(e: Entry) -> tuple[bool, float]:
            v = e.value(column)
            return (math.isnan(v), -v if up and not math.isnan(v) else v)

        return sorted(scored, key=key)

    def as_rows(self) -> list[dict[str, Any]]:
        """One dict per entry: run, name, version, step, kind, state, uri, then each
        column's value (for ``--json`` and frames)."""
        rows = []
        for e in self.entries:
            c = e.checkpoint
            row: dict[str, Any] = {
                "run_id": None if c is None else c.run_id,
                "name": None if c is None else c.name,
                "version": None if c is None else c.version,
                "step": None if c is None else c.step,
                "kind": None if c is None else c.kind,
                "state": None if c is None else c.state,
                "uri": e.uri,
                "digest": e.digest,
            }
            for column in self.columns:
                row[column] = e.value(column) if column in e.scores else None
            rows.append(row)
        return rows


def evaluations_of(store: Store, versions: Sequence[Artifact]) -> list[Evaluation]:
    """Every evaluation of one of ``versions`` (by the module's rule): what lineage shows
    as their consumers, in recording order."""
    return [e for e, _ in _flat(_of(store, versions))]


Matched = list[tuple[VersionScores, Artifact | None]]
"""Groups of scores (one run's of one version), each with the version it is of."""


def _of(store: Store, versions: Sequence[Artifact]) -> Matched:
    """The scores of ``versions``, grouped, each group with the version it is of."""
    refs = sorted({ref for a in versions for ref in (a.digest, a.uri) if ref})
    if not refs:
        return []
    match = _matcher(versions)
    found = version_scores(store, refs=refs)
    return [(g, version) for g in found if (version := match(g.uri, g.digest)) is not None]


def scores(store: Store, project: str) -> list[tuple[Evaluation, Artifact | None]]:
    """Every evaluation of a version the runs of ``project`` produced, and every one its
    runs made, each with the version it matches (``None``: no run's output matches), in
    recording order."""
    with paused_gc():  # tens of thousands of records and pairs: see paused_gc
        return _flat(_project(store, project))


def _project(store: Store, project: str) -> Matched:
    """`scores`, grouped: the scores of the outputs of ``project``'s runs, then those its
    runs recorded of other versions. Matched once a group: its scores share a version."""
    outputs = store.artifacts(project=project, direction="output")
    groups = _of(store, outputs)
    mine = version_scores(store, project=project)  # by the project's own runs
    if mine:
        match = _matcher(outputs)
        seen = {(g.run_id, g.uri, g.digest) for g, _ in groups}
        groups += [
            (g, match(g.uri, g.digest)) for g in mine if (g.run_id, g.uri, g.digest) not in seen
        ]
    return groups


def _flat(groups: Matched) -> list[tuple[Evaluation, Artifact | None]]:
    pairs = [(e, version) for g, version in groups for e in g.evaluations]
    pairs.sort(key=lambda pair: pair[0].created_at)
    return pairs


def _matcher(outputs: Sequence[Artifact]) -> Callable[[str, str | None], Artifact | None]:
    """The version of ``outputs`` that scores of ``(uri, digest)`` are of: the first logged
    with that digest, else with that uri, unless both have digests that differ."""
    by_digest: dict[str, Artifact] = {}
    by_uri: dict[str, Artifact] = {}
    for a in outputs:
        if a.digest:
            by_digest.setdefault(a.digest, a)
        by_uri.setdefault(a.uri, a)

    def match(uri: str, digest: str | None) -> Artifact | None:
        version = by_digest.get(digest) if digest else None
        if version is None and uri:
            version = by_uri.get(uri)
            if version is not None and digest and version.digest:
                version = None  # the same path, other bytes: another version
        return version

    return match


def leaderboard(store: Store, project: str) -> Leaderboard:
    """The versions the runs of ``project`` produced that have evaluations, and the
    versions its runs evaluated that no run's output matches, with their scores."""
    with paused_gc():
        return _board(_project(store, project))


def _board(groups: Matched) -> Leaderboard:
    """Groups by version (a known one by its record, held meanwhile: its ``id``; an unknown
    one by digest or uri), the score recorded last of each column."""
    entries: dict[int | str, Entry] = {}
    named = _columns([e for g, _ in groups for e in g.evaluations])
    for g, version in groups:
        key = (g.digest or g.uri) if version is None else id(version)
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = (
                Entry(None, g.uri, g.digest) if version is None
                else Entry(version, version.uri, version.digest)
            )  # fmt: skip
        held = entry.scores
        for e in g.evaluations:
            column = named[e.task, e.metric, id(e.settings)]
            last = held.get(column)
            if last is None or e.created_at >= last.created_at:
                held[column] = e
    return Leaderboard(sorted(set(named.values())), sorted(entries.values(), key=_order))


def _order(entry: Entry) -> tuple[bool, Any]:
    """Versions in the order they were logged, then unknown versions by uri."""
    c = entry.checkpoint
    if c is None:
        return (True, entry.uri)
    return (False, (c.created_at, c.run_id, c.name, c.version))


def column_names(evaluations: Sequence[Evaluation]) -> list[str]:
    """Each evaluation's column: ``task/metric``, with the settings that differ among the
    evaluations of that name where they differ."""
    named = _columns(evaluations)
    return [named[e.task, e.metric, id(e.settings)] for e in evaluations]


def _columns(evaluations: Sequence[Evaluation]) -> dict[tuple[str, str, int], str]:
    """`column_names` by task, metric and settings dict: a store hands the scores of one
    evaluation one shared settings dict, so this is a few names for tens of thousands of
    scores, each settings written as text once."""
    kinds: dict[tuple[str, str, int], dict[str, Any]] = {}
    for e in evaluations:
        kinds[e.task, e.metric, id(e.settings)] = e.settings
    texts = {key: _text(settings) for key, settings in kinds.items()}
    settings_of: dict[str, dict[str, dict[str, Any]]] = {}
    for key, settings in kinds.items():
        held = settings_of.setdefault(f"{key[0]}/{key[1]}", {})
        if len(held) < 64:  # a column split more finely than this is not worth naming
            held.setdefault(texts[key], settings)
    labels: dict[tuple[str, str], str] = {}
    for name, held in settings_of.items():
        if len(held) < 2:
            continue
        keys = sorted({k for s in held.values() for k in s})
        differ = [k for k in keys if len({_text(s.get(k)) for s in held.values()}) > 1]
        for text, settings in held.items():
            shown = ", ".join(f"{k}={_text(settings.get(k))}" for k in differ)
            labels[(name, text)] = f"{name} [{shown}]"
    named: dict[tuple[str, str, int], str] = {}
    for key in kinds:
        name = f"{key[0]}/{key[1]}"
        named[key] = labels.get((name, texts[key]), name)
    return named


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def bench_history(store: Store, run_id: str) -> dict[str, Series]:
    """The scores of run ``run_id``'s checkpoints, as ``bench/<task>/<metric>`` series at
    the steps the checkpoints were saved (one point a step: the score recorded last),
    each point's time the evaluation's. Read, not stored: the run is not touched."""
    outputs = [a for a in store.artifacts(run_id=run_id, direction="output") if a.step is not None]
    points: dict[str, dict[int, tuple[float, float]]] = {}
    for e, version in _flat(_of(store, outputs)):
        assert version is not None and version.step is not None
        at = points.setdefault(f"{BENCH}/{e.task}/{e.metric}", {})
        held = at.get(version.step)
        if held is None or e.created_at >= held[1]:
            at[version.step] = (e.value, e.created_at)
    history: dict[str, Series] = {}
    for key in sorted(points):
        series = history[key] = Series()
        for step in sorted(points[key]):
            value, at_time = points[key][step]
            series.steps.append(step)
            series.values.append(value)
            series.times.append(at_time)
    return history


class SampleDiff(Record):
    """Two evaluations' samples side by side, matched by ``doc_id``, judged by one
    per-sample ``metric`` (right: a value above zero, or true). ``worse`` went right →
    wrong, ``better`` wrong → right, each a list of ``(doc_id, row_a, row_b)``;
    ``counts`` has ``right_both``, ``wrong_both``, ``only_a`` and ``only_b`` too."""

    __slots__ = ("a", "b", "metric", "worse", "better", "counts")  # noqa: RUF023

    def __init__(
        self,
        a: Evaluation,
        b: Evaluation,
        metric: str,
        worse: list[tuple[Cell, Row, Row]],
        better: list[tuple[Cell, Row, Row]],
        counts: dict[str, int],
    ) -> None:
        self.a = a
        self.b = b
        self.metric = metric
        self.worse = worse
        self.better = better
        self.counts = counts


def sample_diff(store: Store, eval_a: str, eval_b: str, metric: str | None = None) -> SampleDiff:
    """Which samples of evaluation ``eval_a`` and ``eval_b`` went right → wrong and back.
    ``metric`` is the per-sample column to judge by; by default the first metric of
    ``eval_a`` (its name before any ``,filter``) that its samples hold. `StoreError`
    says what is missing."""
    a, b = _evaluation(store, eval_a), _evaluation(store, eval_b)
    with paused_gc():
        rows_a, rows_b = _samples(store, a), _samples(store, b)
    column = metric or _judged_by(store, a, rows_a)
    by_doc = {row.get("doc_id"): row for row in rows_b}
    worse: list[tuple[Cell, Row, Row]] = []
    better: list[tuple[Cell, Row, Row]] = []
    counts = {"right_both": 0, "wrong_both": 0, "only_a": 0, "only_b": 0}
    matched = 0
    for row in rows_a:
        doc = row.get("doc_id")
        other = by_doc.get(doc)
        if other is None:
            counts["only_a"] += 1
            continue
        matched += 1
        was, now = _right(row.get(column)), _right(other.get(column))
        if was and not now:
            worse.append((doc, row, other))
        elif now and not was:
            better.append((doc, row, other))
        else:
            counts["right_both" if was else "wrong_both"] += 1
    counts["only_b"] = len(rows_b) - matched
    return SampleDiff(a, b, column, worse, better, counts)


def _evaluation(store: Store, eval_id: str) -> Evaluation:
    found = store.evaluations(eval_id=eval_id, limit=1)
    if not found:
        raise StoreError(
            f"no evaluation {eval_id!r} in {store.uri}; `tracker evals PROJECT --json` "
            "lists each score's eval_id"
        )
    return found[0]


def _samples(store: Store, evaluation: Evaluation) -> list[Row]:
    if not evaluation.samples:
        raise StoreError(
            f"evaluation {evaluation.eval_id} ({evaluation.task}) recorded no samples: "
            "pass samples= to log_evaluation (lm_eval: --log_samples)"
        )
    return store.table_rows(evaluation.run_id, evaluation.samples)


def _judged_by(store: Store, a: Evaluation, rows: Sequence[Row]) -> str:
    names = [e.metric for e in store.evaluations(eval_id=a.eval_id)]
    columns = rows[0].keys() if rows else ()
    for name in names:
        base = name.split(",")[0]
        if base in columns:
            return base
    raise StoreError(
        f"the samples of {a.eval_id} hold none of its metrics ({', '.join(names)}) as a "
        f"column; name the column to judge by (columns: {', '.join(columns)})"
    )


def _right(value: Cell) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    return False


def board_json(board: Leaderboard) -> dict[str, Any]:
    """``{"columns", "rows"}``: `Leaderboard.as_rows`, each row with ``eval_ids``, the
    evaluation each value came from (``tracker evals --json``, the dashboard's API)."""
    rows = board.as_rows()
    for row, entry in zip(rows, board.entries, strict=True):
        row["eval_ids"] = {c: e.eval_id for c, e in entry.scores.items()}
    return {"columns": board.columns, "rows": rows}


def diff_json(diff: SampleDiff) -> dict[str, Any]:
    """A sample diff whole: the two evaluations, the column judged by, the counts and the
    samples that changed (``tracker evals --diff --json``, the dashboard's API)."""
    return {
        "a": diff.a.eval_id,
        "b": diff.b.eval_id,
        "metric": diff.metric,
        "counts": diff.counts,
        "worse": [{"doc_id": d, "a": ra, "b": rb} for d, ra, rb in diff.worse],
        "better": [{"doc_id": d, "a": ra, "b": rb} for d, ra, rb in diff.better],
    }
