"""Tokens per second and MFU, derived from the counters frameworks log."""

from __future__ import annotations

import pytest

from tracker.records import MetricBatch, Series
from tracker.system.efficiency import Figures, peak_flops


def batch(key: str, points: list[tuple[int, float, float]]) -> MetricBatch:
    series = Series()
    for step, value, at in points:
        series.steps.append(step)
        series.values.append(value)
        series.times.append(at)
    return MetricBatch({key: series})


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", 989),
        ("NVIDIA H100 PCIe", 756),
        ("NVIDIA H200", 989),
        ("NVIDIA H20", 148),
        ("NVIDIA A100-SXM4-80GB", 312),
        ("NVIDIA L4", 121),
        ("NVIDIA L40S", 362),
        ("NVIDIA A10", 125),
        ("NVIDIA A10G", None),
        ("Tesla T4", None),
        (None, None),
    ],
)
def test_peak_by_device_name(name: str | None, tflops: float | None) -> None:
    """Peaks are found by the model word in NVML's name; a longer model is never taken
    for a shorter one (H200 is not H20, L40S is not L4), unknown GPUs have none."""
    peak = peak_flops(name)
    assert peak == (None if tflops is None else tflops * 1e12)


def test_tokens_per_second_across_batches() -> None:
    """The rate is the token delta over the time delta of consecutive points, also across
    batches; the first point ever has none."""
    figures = Figures(1, lambda: None)
    key = "train/num_input_tokens_seen"
    first = figures.metrics(batch(key, [(10, 1000, 100.0), (20, 3000, 102.0)]))
    second = figures.metrics(batch(key, [(30, 7000, 104.0)]))
    assert list(first["train/tokens_per_second"].values) == [1000.0]
    assert list(first["train/tokens_per_second"].steps) == [20]
    assert list(second["train/tokens_per_second"].values) == [2000.0]


def test_the_frameworks_own_rate_wins() -> None:
    """Where the framework logs train/tokens_per_second itself, none is derived."""
    figures = Figures(1, lambda: None)
    logged = batch("train/tokens_per_second", [(1, 5.0, 1.0)])
    logged.series.update(batch("train/num_input_tokens_seen", [(1, 10, 1.0)]).series)
    assert figures.metrics(logged) == {}
    later = batch("train/num_input_tokens_seen", [(2, 20, 2.0)])
    assert figures.metrics(later) == {}


def test_mfu_from_a_flos_counter() -> None:
    """FLOP/s over the peak of all the job's GPUs gives MFU; without a known GPU only
    FLOP/s is derived."""
    key = "train/total_flos"
    points = [(1, 0.0, 0.0), (2, 2 * 989e12, 1.0)]
    known = Figures(4, lambda: "NVIDIA H100 80GB HBM3").metrics(batch(key, points))
    assert list(known["train/flops_per_second"].values) == [2 * 989e12]
    assert list(known["train/mfu"].values) == [pytest.approx(0.5)]
    unknown = Figures(4, lambda: None).metrics(batch(key, points))
    assert set(unknown) == {"train/flops_per_second"}


def test_mfu_from_the_summary() -> None:
    """A summary with total FLOPs and runtime (what Trainer reports at the end) gains the
    whole run's FLOP/s and MFU."""
    figures = Figures(2, lambda: "NVIDIA A100-SXM4-80GB")
    derived = figures.summary({"train/total_flos": 312e12 * 100, "train/runtime": 200.0})
    assert derived["train/flops_per_second"] == 312e12 / 2
    assert derived["train/mfu"] == pytest.approx(0.25)
    assert figures.summary({"train/runtime": 1.0}) == {}
