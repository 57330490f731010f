"""The NVML source against a stand-in ``pynvml``: fields, failures, visible devices."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fake_nvml import FakeDevice

from tracker.system.gpu import NvmlSource, open_gpus

UUID_A = "GPU-aaaaaaaa-1111-2222-3333-444444444444"
UUID_B = "GPU-bbbbbbbb-1111-2222-3333-444444444444"
UUID_C = "GPU-cccccccc-1111-2222-3333-444444444444"
MIG = "MIG-dddddddd-1111-2222-3333-444444444444"

Install = Callable[..., Any]


def three_gpus(install: Install, **kwargs: Any) -> list[FakeDevice]:
    devices = [FakeDevice(UUID_A), FakeDevice(UUID_B), FakeDevice(UUID_C, name="NVIDIA L4")]
    install(devices, **kwargs)
    return devices


def opened(spec: str | None) -> NvmlSource:
    source, why = open_gpus(spec)
    assert source is not None, why
    return source


def test_a_device_reporting_everything(fake_nvml: Install) -> None:
    """Every field of a healthy device lands under gpu/<index>/, in the documented units."""
    three_gpus(fake_nvml)
    values = opened("0").sample()
    assert values == {
        "gpu/0/utilization": 87,
        "gpu/0/memory_utilization": 40,
        "gpu/0/memory_used_bytes": 20 * 2**30,
        "gpu/0/memory_total_bytes": 80 * 2**30,
        "gpu/0/memory_percent": 25.0,
        "gpu/0/power_watts": 350.0,
        "gpu/0/power_limit_watts": 700.0,
        "gpu/0/power_percent": 50.0,
        "gpu/0/temperature_celsius": 61,
        "gpu/0/sm_clock_mhz": 1980,
        "gpu/0/throttle_reasons": float(0x4 | 0x40),
        "gpu/0/throttle/power": 1.0,
        "gpu/0/throttle/thermal": 1.0,
        "gpu/0/throttle/hw_slowdown": 0.0,
    }


def test_unsupported_fields_lose_only_themselves(
    fake_nvml: Install, caplog: pytest.LogCaptureFixture
) -> None:
    """A field the device does not support is skipped silently and not asked again;
    the device's other fields are still read."""
    devices = three_gpus(fake_nvml)
    devices[0].unsupported = {"power", "utilization", "throttle"}
    source = opened("0")
    first = source.sample()
    assert "gpu/0/power_watts" not in first
    assert "gpu/0/utilization" not in first
    assert "gpu/0/power_percent" not in first
    assert first["gpu/0/temperature_celsius"] == 61
    assert first["gpu/0/power_limit_watts"] == 700.0
    calls = devices[0].calls
    assert source.sample() == first
    assert devices[0].calls == calls + 4  # 7 fields, the 3 unsupported not asked again
    assert not caplog.records


def test_a_device_that_errors_keeps_the_others(
    fake_nvml: Install, caplog: pytest.LogCaptureFixture
) -> None:
    """A lost GPU gives no values and one warning; the other GPUs are still sampled."""
    devices = three_gpus(fake_nvml)
    devices[1].lost = True
    source = opened(None)
    with caplog.at_level(logging.WARNING, "tracker"):
        values = source.sample()
        source.sample()
    assert not any(key.startswith("gpu/1/") for key in values)
    assert values["gpu/0/utilization"] == 87
    assert values["gpu/2/utilization"] == 87
    warnings = [r for r in caplog.records if "GPU 1" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("spec", "expected_uuids"),
    [
        (None, [UUID_A, UUID_B, UUID_C]),
        ("2,0", [UUID_C, UUID_A]),
        (" 1 ", [UUID_B]),
        (f"{UUID_C},{UUID_A}", [UUID_C, UUID_A]),
        ("GPU-bbbb", [UUID_B]),  # a unique prefix, as CUDA accepts
        (MIG, [MIG]),
        ("1,7,0", [UUID_B]),  # CUDA ignores everything after an entry naming no device
        ("0,GPU-ffff,2", [UUID_A]),
    ],
)
def test_cuda_visible_devices(
    fake_nvml: Install, spec: str | None, expected_uuids: list[str]
) -> None:
    """Devices are the ones CUDA_VISIBLE_DEVICES names (by index, UUID, UUID prefix or MIG
    UUID), numbered by their position in it as the framework numbers them."""
    devices = [FakeDevice(UUID_A), FakeDevice(UUID_B), FakeDevice(UUID_C), FakeDevice(MIG)]
    fake_nvml(devices)
    source = opened(spec)
    assert [d.uuid for d in source._handles] == expected_uuids
    indices = sorted({int(key.split("/")[1]) for key in source.sample()})
    assert indices == list(range(len(expected_uuids)))


def test_device_names_are_text(fake_nvml: Install) -> None:
    """Names come back as text even from bindings that return bytes (for the MFU table)."""
    three_gpus(fake_nvml)
    assert opened("2,0").device_names == ["NVIDIA L4", "NVIDIA H100 80GB HBM3"]


def test_no_library(no_nvml: None) -> None:
    """Without nvidia-ml-py there is no source, and the reason names the extra."""
    source, why = open_gpus(None)
    assert source is None
    assert "pip install 'tracker[gpu]'" in why


def test_no_driver(fake_nvml: Install) -> None:
    """A failing nvmlInit (no driver, a non-NVIDIA machine) gives a reason, not an error."""
    fake_nvml([], init_error=RuntimeError("NVML Shared Library Not Found"))
    source, why = open_gpus(None)
    assert source is None
    assert "NVML Shared Library Not Found" in why


@pytest.mark.parametrize("spec", ["", "-1", "NoDevFiles"])
def test_every_gpu_hidden(fake_nvml: Install, spec: str) -> None:
    """CUDA_VISIBLE_DEVICES that hides every GPU gives no source, says why, shuts NVML."""
    nvml = fake_nvml([FakeDevice(UUID_A), FakeDevice(UUID_B)])
    source, why = open_gpus(spec)
    assert source is None
    assert "CUDA_VISIBLE_DEVICES" in why
    assert nvml.shutdowns == 1
