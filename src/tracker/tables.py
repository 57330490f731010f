"""Tables: rows of text and numbers logged at a step (completions, generations, samples).

`CustomTracker.log_table` only copies the rows on the training thread; the writer thread
makes them what every store holds, by these rules, in order (`clean_rows`):

* rows are mappings; anything else in the list is skipped (counted in one warning);
* column names are text (other keys by their ``str()``, cleaned as metric keys are); a
  column named ``step`` is renamed ``step_`` (``step`` is the step the row was logged at);
* values that are ``None``, ``bool``, ``int`` (within int64; larger ones as their digits),
  ``float`` or ``str`` are kept; anything else becomes its JSON text (`tracker.values`'
  rules: a chat message list is its JSON); NaN and ±inf stay floats;
* a text longer than `MAX_TEXT` characters is cut there, ending in ``… [N more
  characters]``; secrets are redacted in texts as everywhere (`tracker.values.redact`).

A table's rows are stored per step: logging the same key at another step adds rows, at
the same step replaces that step's rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tracker.records import Cell, Row, paused_gc
from tracker.values import INT64_MAX, INT64_MIN, Redactor, clean_text, is_plain_json, to_json

__all__ = ["MAX_ROWS", "MAX_TEXT", "clean_rows"]

MAX_TEXT = 262_144
"""Characters of one cell kept whole (a long completion is ~10,000)."""
MAX_ROWS = 100_000
"""Rows of one table at one step kept (more are dropped with a warning)."""


_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=True).encode
"""A nested cell's JSON text (`json.dumps` with these options makes an encoder a call)."""


def clean_rows(rows: list[Any], redactor: Redactor | None) -> tuple[list[Row], int]:
    """Rows as stores hold them, and how many entries were skipped (not mappings):
    cleaned, then redacted by ``redactor`` (`Redactor.redact_rows`)."""
    out: list[Row] = []
    skipped = 0
    with paused_gc():  # thousands of rows of plain cells, no cycles to collect: see paused_gc
        for row in rows[:MAX_ROWS]:
            if not isinstance(row, Mapping):
                skipped += 1
                continue
            try:
                out.append(_row(row))
            except Exception:  # a hostile mapping: the row is skipped, never the run
                skipped += 1
        if redactor is not None:
            out = redactor.redact_rows(out)
    return out, skipped + max(0, len(rows) - MAX_ROWS)


def _row(row: Mapping[Any, Any]) -> Row:
    clean: Row = {}
    for key, value in row.items():
        name = key if type(key) is str else _text(key)
        name = clean_text(name)
        if name == "step":
            name = "step_"
        clean[name] = _cell(value)
    return clean


def _cell(value: Any) -> Cell:
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return value if INT64_MIN <= value <= INT64_MAX else str(value)
    if kind is str:
        return _cut(clean_text(value))
    if (kind is list or kind is dict or kind is tuple) and is_plain_json(value):
        return _cut(_ENCODE(value))  # no copy first
    converted = to_json(value)
    if converted is None or isinstance(converted, bool | float):
        return converted
    if isinstance(converted, int):
        return _cell(converted)
    if isinstance(converted, str):
        return _cut(converted)
    return _cut(_ENCODE(converted))


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}… [{len(text) - MAX_TEXT} more characters]"


def _text(key: Any) -> str:
    try:
        text = str(key)
    except Exception:
        return f"<{type(key).__name__}>"
    return text if isinstance(text, str) else f"<{type(key).__name__}>"
