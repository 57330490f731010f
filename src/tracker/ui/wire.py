"""Drawn curves as bytes: the binary form of ``/api/curves`` (``format=binary``).

A chart of 200 runs holds ~390,000 numbers; as JSON that is ~5 MB of float reprs, whose
encoding took the server longer than drawing the chart from the store's blocks, and whose
parsing the browser's main thread. As bytes it is 8 bytes a number, written with one copy
and read in the browser as `Float64Array` views of the answer, which BokehJS draws
without copying (measured: docs/benchmarks.md, "Third pass").

The layout (all little-endian):

* 4 bytes: ``n``, the length of the header (an unsigned 32-bit integer);
* ``n`` bytes: the header, JSON text in UTF-8, padded with spaces so that the arrays start
  at a multiple of 8 bytes: ``{"key": K, "fields": ["steps", "values", ...], "curves":
  [{"run": ID, "count": C, "nonfinite": N, "points": P}, ...]}``;
* then for each curve in order, for each of ``fields`` in order, ``P`` float64 numbers.

``fields`` are the same for every curve: ``steps`` and ``values``, then ``times`` unless
asked without them (``times=0``), then ``xs`` when drawn along another metric. Steps are
float64 (exact up to 2**53, as JavaScript's numbers are). Values are finite: a drawn curve
leaves non-finite ones out and counts them (``nonfinite``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["CONTENT_TYPE", "Packed", "pack_curves"]

CONTENT_TYPE = "application/octet-stream"
_LENGTH = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Packed:
    """An API answer sent as bytes (`body`), not JSON."""

    body: bytes


def pack_curves(
    key: str,
    fields: Sequence[str],
    curves: Sequence[tuple[dict[str, Any], Sequence[npt.NDArray[np.float64]]]],
) -> Packed:
    """The answer of ``/api/curves?format=binary``: each curve's description (``run``,
    ``count``, ``nonfinite``) and its arrays, one per field, all of one length."""
    described = [{**about, "points": len(arrays[0])} for about, arrays in curves]
    head = json.dumps({"key": key, "fields": list(fields), "curves": described}).encode()
    head += b" " * (-(_LENGTH.size + len(head)) % 8)
    numbers = [array for _, arrays in curves for array in arrays]
    data = np.concatenate(numbers).astype("<f8", copy=False) if numbers else np.empty(0)
    return Packed(_LENGTH.pack(len(head)) + head + data.tobytes())
