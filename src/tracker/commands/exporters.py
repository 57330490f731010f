"""Writers of metric points, one per export format, fed chunk by chunk.

Each writer takes ``(key, Series)`` chunks and a destination and returns how many points
it wrote; no writer holds more than one chunk. Columns: ``key, step, value, time`` (time
as unix seconds).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import IO, Any

from tracker.records import Series

__all__ = ["FORMATS", "Chunks", "Exporter"]

Chunks = Iterable[tuple[str, Series]]


class Exporter:
    """A format: how to write chunks, and whether it is text (and so may go to stdout)."""

    def __init__(self, write: Callable[[Chunks, IO[Any]], int], *, text: bool) -> None:
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


FORMATS: dict[str, Exporter] = {
    "csv": Exporter(_csv, text=True),
    "jsonl": Exporter(_jsonl, text=True),
    "parquet": Exporter(_parquet, text=False),
}
