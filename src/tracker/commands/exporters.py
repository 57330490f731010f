"""Writers of metric points, one per export format, fed chunk by chunk, and of tables.

Each metric writer takes ``(key, Series)`` chunks and a destination and returns how many
points it wrote; no writer holds more than one chunk. Columns: ``key, step, value, time``
(time as unix seconds). A table writer takes the table's rows (each with its ``step``);
its columns are every column of any row, in the order first seen.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import IO, Any, Generic, TypeVar

from tracker.records import Row, Series

__all__ = ["FORMATS", "TABLE_FORMATS", "Chunks", "Exporter", "Rows"]

Chunks = Iterable[tuple[str, Series]]
Rows = list[Row]
T = TypeVar("T")


class Exporter(Generic[T]):
    """A format: how to write what it exports (metric chunks, a table's rows), and
    whether it is text (and so may go to stdout)."""

    def __init__(self, write: Callable[[T, IO[Any]], int], *, text: bool) -> None:
        self.write = write
        self.text = text


def _csv(chunks: Chunks, out: IO[Any]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("key", "step", "value", "time"))
    count = 0
    for key, s in chunks:
        writer.writerows(zip(repeat(key), s.steps, map(repr, s.values), s.times, strict=False))
        count += len(s)
    return count


def _json_number(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    return '"NaN"' if math.isnan(value) else ('"Infinity"' if value > 0 else '"-Infinity"')


def _jsonl(chunks: Chunks, out: IO[Any]) -> int:
    count = 0
    for key, s in chunks:
        head = '{"key": ' + json.dumps(key, ensure_ascii=False) + ', "step": '
        out.writelines(
            f'{head}{step}, "value": {_json_number(value)}, "time": {when!r}}}\n'
            for step, value, when in zip(s.steps, s.values, s.times, strict=True)
        )
        count += len(s)
    return count


def _parquet(chunks: Chunks, out: IO[Any]) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("exporting parquet needs pyarrow: pip install pyarrow") from None
    schema = pa.schema(
        [
            ("key", pa.string()),
            ("step", pa.int64()),
            ("value", pa.float64()),
            ("time", pa.float64()),
        ]
    )
    count = 0
    with pq.ParquetWriter(out, schema) as writer:
        for key, s in chunks:
            table = pa.table(
                [
                    pa.array([key] * len(s)),
                    pa.array(s.steps),
                    pa.array(s.values),
                    pa.array(s.times),
                ],
                schema=schema,
            )
            writer.write_table(table)
            count += len(s)
    return count


def _table_csv(rows: Rows, out: IO[Any]) -> int:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)


def _table_jsonl(rows: Rows, out: IO[Any]) -> int:
    out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return len(rows)


def _table_parquet(rows: Rows, out: IO[Any]) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("exporting parquet needs pyarrow: pip install pyarrow") from None
    columns = list(dict.fromkeys(k for row in rows for k in row))
    # a column is text unless every value in it is a number or empty (cells may mix types)
    data = {c: [row.get(c) for row in rows] for c in columns}
    arrays = {c: _parquet_column(pa, values) for c, values in data.items()}
    pq.write_table(pa.table(arrays), out)
    return len(rows)


def _parquet_column(pa: Any, values: list[Any]) -> Any:
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {bool}:
        return pa.array(values, pa.bool_())
    if kinds <= {int}:
        return pa.array(values, pa.int64())
    if kinds <= {int, float}:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else str(v) for v in values], pa.string())


TABLE_FORMATS: dict[str, Exporter[Rows]] = {
    "csv": Exporter(_table_csv, text=True),
    "jsonl": Exporter(_table_jsonl, text=True),
    "parquet": Exporter(_table_parquet, text=False),
}


FORMATS: dict[str, Exporter[Chunks]] = {
    "csv": Exporter(_csv, text=True),
    "jsonl": Exporter(_jsonl, text=True),
    "parquet": Exporter(_parquet, text=False),
}
