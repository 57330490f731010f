"""What a runs table shows and sorts by: a `RunColumn`, and a `RunOrder` over one.

A column is a field of the run (``name``, ``project``, ``framework``, ``started_at``), a
config path (``config:model.lora.r``: a key of the config flattened as
`tracker.views.flatten_config` flattens it, as the compare view shows it), a summary path
(``summary:best/accuracy``) or a metric's final value (``metric:eval/loss``, its last
point). The dashboard writes one in its address as that text (`RunColumn.parse`,
``str(column)``), an order with a ``-`` before it when it is descending
(``sort=-metric:eval/loss``).

Every store sorts by the same rule (the SQL stores in their query, from where each key
sorts as `sort_cells` wrote it beside the run, so that a page of 10,000 runs reads one
page; the others here, `sort_runs`):

1. numbers (ints and finite floats), by value; then texts, by code point; then bools,
   false before true; then lists and empty mappings, in no defined order among themselves;
2. last, whatever the direction: the runs without the value (no such flattened key,
   ``None``, a NaN or infinite number);
3. ``descending`` reverses the order inside each of these groups only;
4. ties: the newest run first, then by run id.

A text is compared as the database holds it: NUL characters and lone surrogates (which
neither engine stores) are dropped or replaced.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple, get_args

from tracker.records import RunRecord

__all__ = [
    "RUN_FIELDS",
    "RunColumn",
    "RunOrder",
    "Source",
    "sort_cells",
    "sort_group",
    "sort_runs",
]

Source = Literal["run", "config", "summary", "metric"]
RUN_FIELDS = ("name", "project", "framework", "started_at")
"""The run's own fields a column may show."""

MISSING = 4
"""`sort_group` of a run without the value: after every other."""


class RunColumn(NamedTuple):
    """One column of the runs table: where its value comes from and its key there."""

    source: Source
    key: str

    @classmethod
    def parse(cls, text: str) -> RunColumn:
        """``name``, ``config:learning_rate``, ``summary:best``, ``metric:eval/loss``;
        `ValueError` (saying what is accepted) for anything else."""
        source, colon, key = text.partition(":")
        if not colon:
            source, key = "run", text
        if source not in get_args(Source) or (source == "run" and key not in RUN_FIELDS):
            raise ValueError(
                f"unknown column {text!r}: write one of {', '.join(RUN_FIELDS)}, "
                "config:PATH, summary:PATH or metric:KEY"
            )
        if not key or "\x00" in key:
            raise ValueError(f"column {text!r} needs a key (without NUL)")
        return cls(source, key)  # type: ignore[arg-type]  # checked against Source above

    def __str__(self) -> str:
        return self.key if self.source == "run" else f"{self.source}:{self.key}"

    def value(self, run: RunRecord, final: Callable[[str], float | None]) -> Any:
        """The column's value for ``run`` (``None``: it has none); ``final(key)`` is the
        run's last value of a metric."""
        if self.source == "run":
            return getattr(run, self.key)
        if self.source == "metric":
            return final(self.key)
        from tracker.views import flatten_config  # not at the top: views imports the store

        return flatten_config(run.config if self.source == "config" else run.summary).get(self.key)


class RunOrder(NamedTuple):
    """How `Store.runs` orders the runs: by one column (module docstring for the rule)."""

    column: RunColumn
    descending: bool = False

    @classmethod
    def parse(cls, text: str) -> RunOrder:
        """``metric:eval/loss`` (ascending) or ``-metric:eval/loss`` (descending)."""
        descending = text.startswith("-")
        return cls(RunColumn.parse(text[1:] if descending else text), descending)

    def __str__(self) -> str:
        return f"{'-' if self.descending else ''}{self.column}"


def sort_group(value: Any) -> tuple[int, Any]:
    """Where ``value`` sorts: its group (0 numbers, 1 texts, 2 bools, 3 lists and
    mappings, `MISSING`) and what orders it inside the group."""
    if isinstance(value, bool):
        return 2, int(value)
    if isinstance(value, int | float):
        return (0, float(value)) if math.isfinite(value) else (MISSING, 0)
    if isinstance(value, str):
        return 1, value
    if value is None:
        return MISSING, 0
    return 3, 0


Cell = tuple[str, int, float | None, str | None]


def sort_cells(document: Mapping[str, Any]) -> list[Cell]:
    """Where each flattened key of a config or summary sorts, as the SQL stores keep it
    beside the run (``run_values``): ``(path, group, number, text)``, the number for
    numbers and bools, the text for texts; a key without a value is left out."""
    from tracker.views import flatten_config  # not at the top: views imports the store

    cells: list[Cell] = []
    for path, value in flatten_config(document).items():
        group, key = sort_group(value)
        if group == MISSING:
            continue
        if group == 1:  # what a database's text holds: no NUL, valid UTF-8
            text = key.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
            cells.append((path, group, None, text))
        else:
            cells.append((path, group, float(key) if group in (0, 2) else None, None))
    return cells


def sort_runs(
    runs: Sequence[RunRecord], order: RunOrder, final: Callable[[str, str], float | None]
) -> list[RunRecord]:
    """``runs`` in ``order``; ``final(run_id, key)`` is a run's last value of a metric."""
    ranked = sorted(runs, key=lambda r: r.run_id)
    ranked.sort(key=lambda r: r.started_at, reverse=True)  # ties: newest first
    groups: dict[int, list[tuple[Any, RunRecord]]] = {}
    for run in ranked:
        group, value = sort_group(order.column.value(run, functools.partial(final, run.run_id)))
        groups.setdefault(group, []).append((value, run))
    found = []
    for group in sorted(groups):
        members = groups[group]
        members.sort(key=lambda member: member[0], reverse=order.descending)  # stable
        found += [run for _, run in members]
    return found
