"""What every importer test checks of an imported run (importable as ``checks``)."""

from __future__ import annotations

import math
import struct

from tracker.records import RunRecord
from tracker.store import Store


def f32(x: float) -> float:
    """``x`` as a float32 holds it (TensorBoard keeps scalars as float32)."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def expected(
    steps: int, first: int = 0, *, single: bool = False
) -> dict[str, list[tuple[int, float]]]:
    """The points produce.py logs, by our names: (step, value)."""
    cast = f32 if single else float
    loss = [(s, cast(1.0 / (s + 1))) for s in range(first, first + steps)]
    acc = []
    for s in range(first, first + steps):
        v = math.nan if s == 2 else math.inf if s == 3 else s / steps
        acc.append((s, cast(v)))
    return {"train/loss": loss, "eval/acc": acc}


def same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """Equal point lists, NaN equal to NaN."""
    return len(a) == len(b) and all(
        sa == sb and (va == vb or (math.isnan(va) and math.isnan(vb)))
        for (sa, va), (sb, vb) in zip(a, b, strict=True)
    )


def points(store: Store, run: RunRecord, key: str) -> list[tuple[int, float]]:
    """Every stored point of ``key``: (step, value), in logging order."""
    return [(s, v) for s, v, _t in store.history(run.run_id, key, raw=True)]


def only_run(store: Store, tool: str, name: str) -> RunRecord:
    """The one imported run of ``tool`` named ``name``."""
    (run,) = [r for r in store.runs(framework=tool) if r.name == name]
    return run


def counts(store: Store) -> dict[str, dict[str, int]]:
    """Points per run and key."""
    return {
        r.run_id: {k: s.count for k, s in store.metric_stats(r.run_id).items()}
        for r in store.runs()
    }
