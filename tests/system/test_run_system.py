"""What a tracked run records of the system, read back from the store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_nvml import FakeDevice

from tracker import CustomTracker, open_store

Install = Callable[..., Any]


@pytest.fixture
def fast(tracker_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store per test and a sample every 50 ms."""
    monkeypatch.setenv("TRACKER_SYSTEM_INTERVAL", "0.05")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return tracker_dir


def train(run: CustomTracker, steps: int = 6) -> None:
    for step in range(steps):
        run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
        time.sleep(0.03)


def test_host_and_gpu_metrics_land_in_the_run(fast: Path, fake_nvml: Install) -> None:
    """With two GPUs, the run has host keys and gpu/0 and gpu/1 keys, each point at a
    logged step and in time order."""
    fake_nvml([FakeDevice("GPU-a"), FakeDevice("GPU-b")])
    with CustomTracker(project="p") as run:
        train(run)
    store = open_store()
    keys = store.keys(run.run_id or "")
    for expected in (
        "system/cpu/percent",
        "system/memory/process_rss_bytes",
        "system/gpu/0/utilization",
        "system/gpu/1/memory_percent",
        "system/gpu/1/throttle/thermal",
    ):
        assert expected in keys
    points = store.history(run.run_id or "", "system/gpu/0/utilization", raw=True)
    assert len(points) >= 3
    assert {step for step, _, _ in points} <= set(range(6))
    times = [at for _, _, at in points]
    assert times == sorted(times)


def test_no_gpu_gives_host_metrics_and_one_message(
    fast: Path, no_nvml: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Without NVML the run goes on with host metrics only and one info message, without
    a traceback."""
    with caplog.at_level(logging.INFO, "tracker"), CustomTracker(project="p") as run:
        train(run)
    keys = open_store().keys(run.run_id or "")
    assert "system/cpu/percent" in keys
    assert not [key for key in keys if key.startswith("system/gpu/")]
    messages = [r for r in caplog.records if r.name == "tracker" and "GPU" in r.getMessage()]
    assert len(messages) == 1
    assert messages[0].levelno == logging.INFO
    assert "host metrics only" in messages[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


def test_zero_interval_turns_sampling_off(
    tracker_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TRACKER_SYSTEM_INTERVAL=0 records no system metric and starts no thread."""
    monkeypatch.setenv("TRACKER_SYSTEM_INTERVAL", "0")
    with CustomTracker(project="p") as run:
        assert not any(t.name == "tracker-system" for t in threading.enumerate())
        train(run, 2)
    assert open_store().keys(run.run_id or "") == ["train/loss"]


def test_finish_stops_the_sampler(fast: Path, no_nvml: None) -> None:
    """After finish no sampler thread is left and the run's last points are written."""
    run = CustomTracker(project="p").start()
    train(run, 2)
    run.finish()
    assert not any(t.name == "tracker-system" for t in threading.enumerate())
    assert open_store().get_run(run.run_id or "").status == "finished"


def test_efficiency_figures_in_the_run(fast: Path, fake_nvml: Install) -> None:
    """Logged token and FLOP counters give train/tokens_per_second and train/mfu in the
    store (the GPU's peak known from NVML), and the summary gets the whole run's MFU."""
    fake_nvml([FakeDevice("GPU-a")])
    with CustomTracker(project="p") as run:
        time.sleep(0.1)  # the sampler has opened NVML
        for step in range(4):
            run.log_metrics(
                {"train/num_input_tokens_seen": 1000 * step, "train/total_flos": 1e12 * step},
                step=step,
            )
            time.sleep(0.05)
        run.log_summary({"train/total_flos": 4e14, "train/runtime": 2.0})
    store = open_store()
    run_id = run.run_id or ""
    rates = [value for _, value, _ in store.history(run_id, "train/tokens_per_second")]
    assert len(rates) == 3
    assert all(5_000 < rate < 40_000 for rate in rates)
    mfu = [value for _, value, _ in store.history(run_id, "train/mfu")]
    assert len(mfu) == 3
    assert all(0.005 < value < 0.05 for value in mfu)  # 1e12 FLOPs per ~50 ms
    summary = store.get_run(run_id).summary
    assert summary["train/mfu"] == pytest.approx(4e14 / 2.0 / 989e12)
