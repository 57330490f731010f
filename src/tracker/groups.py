"""Runs grouped by a value of theirs, with a metric's statistics per group: what
``tracker runs --group-by`` prints.

A run's value for ``by`` (`run_value`) is a leaf of its config or summary, named by its
flattened path (``config.optim.lr``, ``summary.eval/loss``), or one of its fields
(``sweep``, ``project``, ``framework``, ``status``, ``name``). Runs whose values are equal
(compared as JSON: lists and dicts group too) form one group; runs without it form the
group ``None``, listed last. A run's value of ``metric`` (`metric_value`) is the metric's
last logged value, else a number in its summary under that name. Groups are sorted by
value: numbers, then text, then anything else.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.records import Record, RunRecord
from tracker.store.base import MetricStats

__all__ = [
    "RUN_FIELDS",
    "Group",
    "MetricNotFoundError",
    "check_field",
    "group_runs",
    "metric_value",
    "run_value",
]

RUN_FIELDS = ("sweep", "project", "framework", "status", "name")
"""The run fields runs can be grouped by, beside ``config.*`` and ``summary.*``."""
_SECTIONS = ("config.", "summary.")


class Group(Record):
    """Runs with one value of the grouping field, and their metric's statistics (over
    the runs with a finite value of it; ``None`` where none has)."""

    __slots__ = ("value", "run_ids", "values", "mean", "min", "max")  # noqa: RUF023

    def __init__(
        self,
        value: Any,
        run_ids: list[str],
        values: list[float | None],
        mean: float | None,
        min: float | None,
        max: float | None,
    ) -> None:
        self.value = value
        self.run_ids = run_ids
        self.values = values  # each run's metric value, as run_ids orders them
        self.mean = mean
        self.min = min
        self.max = max

    @property
    def count(self) -> int:
        """How many runs the group holds."""
        return len(self.run_ids)


class MetricNotFoundError(KeyError):
    """A metric that none of the runs asked for has (``tf.history``, ``tracker runs
    --group-by ... --metric``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "metric not found"

    @classmethod
    def check(cls, keys: Sequence[str], known: set[str], runs: int) -> None:
        """Raise, naming the metrics the runs have, where one of ``keys`` is not ``known``."""
        unknown = [key for key in keys if key not in known]
        if unknown:
            shown = ", ".join(repr(k) for k in sorted(known)[:20]) or "none"
            more = f" and {len(known) - 20} more" if len(known) > 20 else ""
            raise cls(
                f"no run of {runs} has the metric(s) {', '.join(map(repr, unknown))}; "
                f"their metrics are: {shown}{more}"
            )


def check_field(by: str) -> str:
    """``by`` if runs can be grouped by it, else a `ValueError` naming what can."""
    if by in RUN_FIELDS or (by.startswith(_SECTIONS) and by not in _SECTIONS):
        return by
    raise ValueError(
        f"cannot group runs by {by!r}: name a config or summary key (config.learning_rate, "
        f"summary.eval/loss) or one of {', '.join(RUN_FIELDS)}"
    )


def run_value(run: RunRecord, by: str) -> Any:
    """The run's value of ``by`` (`check_field`); ``None`` where it has none."""
    if by in RUN_FIELDS:
        return getattr(run, by)
    section, _, path = by.partition(".")
    node: Any = getattr(run, section)
    if path in node:  # a key holding dots itself, as the Trainer's never do
        return node[path]
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def metric_value(run: RunRecord, stats: Mapping[str, MetricStats], metric: str) -> float | None:
    """The metric's last logged value, else a number in the summary under its name."""
    found = stats.get(metric)
    if found is not None:
        return found.last_value
    return _number(run.summary.get(metric))


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def group_runs(
    runs: Sequence[RunRecord],
    by: str,
    metric: str | None = None,
    stats: Mapping[str, Mapping[str, MetricStats]] | None = None,
) -> list[Group]:
    """``runs`` grouped by their value of ``by``, each group with ``metric``'s statistics
    (``stats``: each run's `MetricStats`, as `metric_stats_of` reads them);
    `MetricNotFoundError` where runs are given and none has ``metric``, as a metric or a
    number in its summary."""
    check_field(by)
    if metric is not None and runs:
        known = {k for s in (stats or {}).values() for k in s}
        known.update(k for r in runs for k, v in r.summary.items() if _number(v) is not None)
        MetricNotFoundError.check([metric], known, len(runs))
    grouped: dict[str, tuple[Any, list[RunRecord]]] = {}
    for run in runs:
        value = run_value(run, by)
        key = json.dumps(value, sort_keys=True, default=str)
        grouped.setdefault(key, (value, []))[1].append(run)
    groups = []
    for value, members in grouped.values():
        values = [
            None if metric is None else metric_value(run, (stats or {}).get(run.run_id, {}), metric)
            for run in members
        ]
        finite = [v for v in values if v is not None and math.isfinite(v)]
        groups.append(
            Group(
                value,
                [run.run_id for run in members],
                values,
                statistics.fmean(finite) if finite else None,
                min(finite) if finite else None,
                max(finite) if finite else None,
            )
        )
    return sorted(groups, key=lambda g: _order(g.value))


def _order(value: Any) -> tuple[int, Any]:
    if value is None:
        return (3, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))
