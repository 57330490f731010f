"""Training-efficiency figures derived from what the framework logs, on the writer thread.

* ``train/tokens_per_second``: from the cumulative ``train/num_input_tokens_seen``,
  unless the framework logs ``train/tokens_per_second`` itself;
* ``train/flops_per_second`` and ``train/mfu`` (model FLOPs utilization, 0 to 1): from a
  cumulative ``train/total_flos`` metric, or at the end from the summary's
  ``train/total_flos`` and ``train/runtime``, where the GPU's peak is known (`PEAK_BF16_TFLOPS`).

The writer computes them once per batch, before handing the batch to every backend
(`tracker.writer.Writer`), so every adapter gets the figures and the training thread does
no work for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tracker.records import MetricBatch, Series

__all__ = ["PEAK_BF16_TFLOPS", "Figures", "peak_flops"]

TOKENS = "train/num_input_tokens_seen"
TOKENS_PER_SECOND = "train/tokens_per_second"
FLOS = "train/total_flos"
FLOPS_PER_SECOND = "train/flops_per_second"
MFU = "train/mfu"
RUNTIME = "train/runtime"

PEAK_BF16_TFLOPS: dict[str, float] = {
    "B200": 2250.0,
    "GH200": 989.0,
    "H200": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "H800": 989.0,
    "H20": 148.0,
    "A100": 312.0,
    "A800": 312.0,
    "L40S": 362.0,
    "L40": 181.0,
    "L4": 121.0,
    "A10": 125.0,
    "A6000": 155.0,
    "RTX 4090": 165.0,
}
"""Dense (no sparsity) BF16 tensor-core peak per GPU, by a word in NVML's device name."""

_BY_LENGTH = sorted(PEAK_BF16_TFLOPS, key=len, reverse=True)


def peak_flops(device_name: str | None) -> float | None:
    """Peak BF16 FLOP/s of a GPU named like NVML names it, or ``None`` if unknown."""
    if not device_name:
        return None
    for model in _BY_LENGTH:
        if re.search(rf"(?<![\w]){re.escape(model)}(?![\w])", device_name):
            return PEAK_BF16_TFLOPS[model] * 1e12
    return None


class Figures:
    """Turns cumulative counters into rates; one instance per run, fed in order.

    ``gpus`` is how many GPUs the job trains on; ``device_name`` says which GPU (known
    once the sampler has opened NVML).
    """

    def __init__(self, gpus: int, device_name: Callable[[], str | None]) -> None:
        self._gpus = max(1, gpus)
        self._device_name = device_name
        self._last: dict[str, tuple[float, float, int]] = {}  # value, time, step
        self._framework_rate = False

    def _peak(self) -> float | None:
        peak = peak_flops(self._device_name())
        return None if peak is None else peak * self._gpus

    def _rates(self, key: str, series: Series) -> Series:
        """Rates between successive points of a counter; a point at a step already seen (an
        evaluation repeating the counter) is no new measurement and gives none."""
        out = Series()
        for step, value, at in zip(series.steps, series.values, series.times, strict=True):
            last = self._last.get(key)
            if last is not None and step <= last[2]:
                continue
            self._last[key] = (value, at, step)
            if last is not None and at > last[1] and value >= last[0]:
                out.steps.append(step)
                out.values.append((value - last[0]) / (at - last[1]))
                out.times.append(at)
        return out

    def metrics(self, batch: MetricBatch) -> dict[str, Series]:
        """The derived series for ``batch`` (empty when it has no counters)."""
        found = batch.series
        derived: dict[str, Series] = {}
        self._framework_rate = self._framework_rate or TOKENS_PER_SECOND in found
        if TOKENS in found and not self._framework_rate:
            rates = self._rates(TOKENS, found[TOKENS])
            if rates.steps:
                derived[TOKENS_PER_SECOND] = rates
        if FLOS in found:
            rates = self._rates(FLOS, found[FLOS])
            peak = self._peak()
            if rates.steps:
                derived[FLOPS_PER_SECOND] = rates
                if peak:
                    mfu = Series(rates.steps, rates.values[:], rates.times)
                    for i, value in enumerate(mfu.values):
                        mfu.values[i] = value / peak
                    derived[MFU] = mfu
        return derived

    def summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Whole-run FLOP/s and MFU from the summary's total FLOPs and runtime."""
        flos, runtime = summary.get(FLOS), summary.get(RUNTIME)
        if not isinstance(flos, int | float) or not isinstance(runtime, int | float):
            return {}
        if runtime <= 0:
            return {}
        out: dict[str, Any] = {FLOPS_PER_SECOND: flos / runtime}
        peak = self._peak()
        if peak:
            out[MFU] = flos / runtime / peak
        return out
