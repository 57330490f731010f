"""Runs of a sweep as data for the dashboard: their parameters, final metrics and groups.

What ``/api/params`` and ``/api/groups`` answer (`tracker.ui.api` selects the runs and
parses the request; this module only computes, from what the store holds):

* **Parameters** are the run configs flattened to dotted keys (`tracker.views.flatten_config`,
  as the compare view shows them); only the keys whose value is not the same in every run
  are kept. A key is a ``number`` when every run that sets it (to something other than
  ``None``) holds an int or a finite float, else a ``category``: every value is then text
  (a string as it is, anything else as JSON: ``[1, 2]``, ``true``, ``0.1``), so a list or
  a key that is a number in one run and a string in another is a category, never an error.
* **The final metric** of a run is the last value of the metric (`Store.metric_stats`):
  no point is read.
* **Groups** gather the runs by the value of one key (those without it in a group of their
  own) and give, per group, the mean, lowest and highest value of a metric at each point
  of one step grid shared by every group: the steps themselves when the runs have at most
  ``points`` distinct steps between them, else ``points`` equal slices of the step range,
  each run's values averaged within a slice first. A metric sampled by time (``system/``)
  is gathered by the seconds since each run started instead of the step.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tracker.naming import sampled_by_time
from tracker.records import RunRecord
from tracker.store.base import MetricStats, Store, metric_stats_of
from tracker.views import flatten_config

__all__ = [
    "MAX_GROUPS",
    "GroupError",
    "NotInRuns",
    "TooManyGroups",
    "default_metric",
    "group_curves",
    "param_table",
]

MAX_GROUPS = 100
EXACT_POINTS = 200_000  # points of a metric over all runs sorted to find its distinct steps
TEXT_LIMIT = 200  # characters of a category's text kept; a longer one ends in a hash
CACHED_ANSWERS = 32  # groups answers kept between requests (a few kB each)
_PREFERRED = ("eval/loss", "train/loss")

Floats = npt.NDArray[np.float64]
Value = float | int | str | None


class GroupError(ValueError):
    """Runs that cannot be grouped as asked."""


class NotInRuns(GroupError, LookupError):
    """A config key or metric that none of the runs has."""


class TooManyGroups(GroupError):
    """A key with more than `MAX_GROUPS` different values."""


@dataclass(frozen=True, slots=True)
class Param:
    """A config key that varies across the runs: how its values are shown."""

    key: str
    kind: Literal["number", "category"]
    values: list[Value]  # the distinct values set, sorted (numbers) or as text (categories)
    unset: int  # runs without it (or with None)

    def as_dict(self) -> dict[str, Any]:
        """The key as ``/api/params`` lists it."""
        return {"key": self.key, "kind": self.kind, "values": self.values, "unset": self.unset}


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def as_text(value: Any) -> str:
    """A config value as a category's text: a string as it is, anything else as JSON; a
    text longer than `TEXT_LIMIT` is cut and ends in a hash of the whole, so two long
    values that differ stay two categories."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if len(text) <= TEXT_LIMIT:
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{text[:TEXT_LIMIT]}… #{digest}"


def _params(flats: Sequence[Mapping[str, Any]]) -> list[Param]:
    """The keys whose values differ between ``flats`` (one flattened config per run)."""
    found = []
    for key in sorted(set().union(*flats)):
        values = [flat.get(key) for flat in flats]
        texts = {json.dumps(v, sort_keys=True, default=str) for v in values}
        if len(texts) == 1:
            continue
        present = [v for v in values if v is not None]
        distinct: list[Value]
        kind: Literal["number", "category"]
        if all(_is_number(v) for v in present):
            distinct, kind = sorted(set(present)), "number"
        else:
            distinct, kind = [*sorted({as_text(v) for v in present})], "category"
        found.append(Param(key, kind, distinct, len(values) - len(present)))
    return found


def _shown(param: Param, value: Any) -> Value:
    if value is None:
        return None
    return value if param.kind == "number" else as_text(value)


def default_metric(metrics: Sequence[str]) -> str | None:
    """The metric a sweep is judged by unless one is asked for: ``eval/loss``, else
    ``train/loss``, else the first."""
    return next((m for m in _PREFERRED if m in metrics), metrics[0] if metrics else None)


def param_table(
    runs: Sequence[RunRecord], stats: Mapping[str, Mapping[str, MetricStats]]
) -> dict[str, Any]:
    """What ``/api/params`` answers for ``runs`` (``stats``: each run's metric stats):
    the varying keys, the metrics (``system/`` ones left out), and each run with its
    value of every varying key (``None``: not set) and the final value of every metric."""
    flats = [flatten_config(run.config) for run in runs]
    params = _params(flats)
    metrics = sorted({k for s in stats.values() for k in s if not k.startswith("system/")})
    rows = []
    for run, flat in zip(runs, flats, strict=True):
        finals = stats.get(run.run_id, {})
        rows.append(
            {
                "id": run.run_id,
                "name": run.name,
                "status": run.status,
                "params": {p.key: _shown(p, flat.get(p.key)) for p in params},
                "final": {m: finals[m].last_value for m in metrics if m in finals},
            }
        )
    return {
        "params": [p.as_dict() for p in params],
        "constant": len(set().union(*flats)) - len(params) if flats else 0,
        "metrics": metrics,
        "metric": default_metric(metrics),
        "runs": rows,
    }


# -- groups -----------------------------------------------------------------------------
def _group_of(runs: Sequence[RunRecord], key: str) -> dict[Value, list[RunRecord]]:
    """The runs by their value of ``key``: numbers first, in order, then texts, then the
    runs without it (``None``)."""
    flats = [flatten_config(run.config) for run in runs]
    if not any(key in flat for flat in flats):
        known = sorted(set().union(*flats)) if flats else []
        shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        raise NotInRuns(f"no run has the config key {key!r}; the runs have: {shown or 'none'}")
    present = [flat.get(key) for flat in flats]
    numbers = all(_is_number(v) for v in present if v is not None)
    groups: dict[Value, list[RunRecord]] = {}
    for run, value in zip(runs, present, strict=True):
        label = None if value is None else value if numbers else as_text(value)
        groups.setdefault(label, []).append(run)
    if len(groups) > MAX_GROUPS:
        raise TooManyGroups(
            f"{key!r} has {len(groups)} different values; group by a key with at most "
            f"{MAX_GROUPS} (a learning rate, a model size), not one set per run"
        )

    def order(value: Value) -> tuple[int, Any]:
        return (2, "") if value is None else (0, value) if numbers else (1, value)

    return {value: groups[value] for value in sorted(groups, key=order)}


def _points(store: Store, run: RunRecord, metric: str) -> tuple[Floats, Floats]:
    """The run's finite points of ``metric`` as (x, value): x the step, or the seconds
    since the run started for a metric sampled by time."""
    by_time = sampled_by_time(metric)
    xs: list[Floats] = []
    values: list[Floats] = []
    for chunk in store.iter_history(run.run_id, metric, raw=by_time):
        # from the arrays' buffers, as tracker.ui.downsample.read_curve reads them
        if by_time:
            xs.append(np.frombuffer(chunk.times, dtype=np.float64) - run.started_at)
        else:
            xs.append(np.frombuffer(chunk.steps, dtype=np.int64).astype(np.float64))
        values.append(np.frombuffer(chunk.values, dtype=np.float64))
    if not xs:
        return np.empty(0), np.empty(0)
    x, value = np.concatenate(xs), np.concatenate(values)
    finite = np.isfinite(value)
    return (x, value) if finite.all() else (x[finite], value[finite])


def _grid(xs: Sequence[Floats], points: int) -> tuple[Floats, list[npt.NDArray[np.intp]]]:
    """The shared grid over every run's x, and each point's slot on it: the distinct x
    themselves when there are at most ``points``, else ``points`` equal slices of their
    range, each placed at the mean x of the points in it (empty slices dropped). Only a
    few points (`EXACT_POINTS`) are sorted to find their distinct x: more are sliced in
    one pass, which finds the same grid wherever the distinct x are a slice apart."""
    found = [x for x in xs if len(x)]
    if not found:
        return np.empty(0), [np.empty(0, dtype=np.intp) for _ in xs]
    if sum(len(x) for x in found) <= EXACT_POINTS:
        distinct = np.unique(np.concatenate(found))
        if len(distinct) <= points:
            return distinct, [np.searchsorted(distinct, x) for x in xs]
    lo = min(float(x.min()) for x in found)
    hi = max(float(x.max()) for x in found)
    width = (hi - lo) / points or 1.0
    slots = [np.minimum(((x - lo) / width).astype(np.intp), points - 1) for x in xs]
    counts = np.zeros(points)
    sums = np.zeros(points)
    for x, slot in zip(xs, slots, strict=True):
        counts += np.bincount(slot, minlength=points)
        sums += np.bincount(slot, weights=x, minlength=points)
    used = counts > 0
    renumber = np.cumsum(used) - 1
    return sums[used] / counts[used], [renumber[slot] for slot in slots]


def group_curves(
    store: Store, runs: Sequence[RunRecord], key: str, metric: str, points: int
) -> dict[str, Any]:
    """What ``/api/groups`` answers: ``runs`` grouped by config ``key``, each group with
    its runs and its ``metric`` as mean, lowest and highest value over the group's runs,
    and how many runs have a value there, at each point of the shared grid where any of
    them has one. Runs without the metric are listed in ``missing``."""
    grouped = _group_of(runs, key)
    stats = metric_stats_of(store, [run.run_id for run in runs])
    having = {run.run_id: stats[run.run_id][metric] for run in runs if metric in stats[run.run_id]}
    if not having:
        raise NotInRuns(f"no run has the metric {metric!r}")
    # what the answer is made of: a new point or a changed config makes a new one
    version = (
        store.uri,
        metric,
        points,
        tuple((value, tuple(r.run_id for r in members)) for value, members in grouped.items()),
        tuple((i, s.count, s.last_step, s.last_time) for i, s in having.items()),
    )
    found = _ANSWERS.get(version)
    if found is None:
        found = _answer(store, runs, grouped, metric, points, list(having))
        _ANSWERS.put(version, found)
    return {"key": key, **found}


def _answer(
    store: Store,
    runs: Sequence[RunRecord],
    grouped: Mapping[Value, Sequence[RunRecord]],
    metric: str,
    points: int,
    having: Sequence[str],
) -> dict[str, Any]:
    runs_by_id = {run.run_id: run for run in runs}
    read = {run_id: _points(store, runs_by_id[run_id], metric) for run_id in having}
    ids = list(read)
    grid, slots = _grid([read[i][0] for i in ids], points)
    # each run's mean value in each slot of the grid (NaN where it has none)
    table = np.full((len(ids), len(grid)), np.nan)
    for row, (run_id, slot) in enumerate(zip(ids, slots, strict=True)):
        sums = np.bincount(slot, weights=read[run_id][1], minlength=len(grid))
        counts = np.bincount(slot, minlength=len(grid))
        np.divide(sums, counts, out=table[row], where=counts > 0)
    row_of = {run_id: row for row, run_id in enumerate(ids)}
    groups = []
    for value, members in grouped.items():
        rows = table[[row_of[r.run_id] for r in members if r.run_id in row_of]]
        if not len(rows):  # none of the group's runs has the metric
            rows = np.full((1, len(grid)), np.nan)
        set_ = ~np.isnan(rows)
        count = set_.sum(axis=0)
        shown = count > 0
        total = np.where(set_, rows, 0.0).sum(axis=0)
        groups.append(
            {
                "value": value,
                "runs": [r.run_id for r in members],
                "steps": grid[shown].tolist(),
                "mean": (total[shown] / count[shown]).tolist(),
                "min": np.where(set_, rows, np.inf).min(axis=0)[shown].tolist(),
                "max": np.where(set_, rows, -np.inf).max(axis=0)[shown].tolist(),
                "count": count[shown].tolist(),
            }
        )
    return {
        "metric": metric,
        "x": "time" if sampled_by_time(metric) else "step",
        "groups": groups,
        "missing": [run.run_id for run in runs if run.run_id not in read],
    }


class _Answers:
    """The last `CACHED_ANSWERS` groups answered, by what they were made of."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()  # the server answers on several threads

    def get(self, version: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._lock:
            found = self._items.get(version)
            if found is not None:
                self._items.move_to_end(version)
            return found

    def put(self, version: tuple[Any, ...], answer: dict[str, Any]) -> None:
        with self._lock:
            self._items[version] = answer
            while len(self._items) > CACHED_ANSWERS:
                self._items.popitem(last=False)


_ANSWERS = _Answers()
