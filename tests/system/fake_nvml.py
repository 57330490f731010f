"""A stand-in for the ``pynvml`` module: the NVML calls the GPU source makes, on fake devices."""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any


class NVMLError(Exception):
    """NVML's base error."""


class NVMLError_NotSupported(NVMLError):
    """The device does not support the query."""


class NVMLError_GpuIsLost(NVMLError):
    """The device fell off the bus."""


@dataclass
class FakeDevice:
    """One GPU; ``unsupported`` fields raise NotSupported, ``lost`` makes every call fail."""

    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    unsupported: set[str] = field(default_factory=set)
    lost: bool = False
    calls: int = 0

    def answer(self, field_name: str, value: Any) -> Any:
        self.calls += 1
        if self.lost:
            raise NVMLError_GpuIsLost("GPU is lost")
        if field_name in self.unsupported:
            raise NVMLError_NotSupported("Not Supported")
        return value


def make_nvml(devices: list[FakeDevice], *, init_error: Exception | None = None) -> Any:
    """A module object with pynvml's names, answering for ``devices``."""
    nvml: Any = types.ModuleType("pynvml")
    nvml.NVMLError = NVMLError
    nvml.NVMLError_NotSupported = NVMLError_NotSupported
    nvml.NVML_TEMPERATURE_GPU = 0
    nvml.NVML_CLOCK_SM = 1
    nvml.shutdowns = 0

    def init() -> None:
        if init_error is not None:
            raise init_error

    def shutdown() -> None:
        nvml.shutdowns += 1

    def by_uuid(uuid: str) -> FakeDevice:
        for device in devices:
            if device.uuid == uuid:
                return device
        raise NVMLError("Not Found")

    nvml.nvmlInit = init
    nvml.nvmlShutdown = shutdown
    nvml.nvmlDeviceGetCount = lambda: sum(not d.uuid.startswith("MIG-") for d in devices)
    nvml.nvmlDeviceGetHandleByIndex = lambda i: [
        d for d in devices if not d.uuid.startswith("MIG-")
    ][i]
    nvml.nvmlDeviceGetHandleByUUID = by_uuid
    nvml.nvmlDeviceGetUUID = lambda d: d.uuid
    nvml.nvmlDeviceGetName = lambda d: d.name.encode()  # old bindings return bytes
    nvml.nvmlDeviceGetUtilizationRates = lambda d: d.answer(
        "utilization", types.SimpleNamespace(gpu=87, memory=40)
    )
    nvml.nvmlDeviceGetMemoryInfo = lambda d: d.answer(
        "memory", types.SimpleNamespace(used=20 * 2**30, total=80 * 2**30)
    )
    nvml.nvmlDeviceGetPowerUsage = lambda d: d.answer("power", 350_000)
    nvml.nvmlDeviceGetEnforcedPowerLimit = lambda d: d.answer("power_limit", 700_000)
    nvml.nvmlDeviceGetTemperature = lambda d, sensor: d.answer("temperature", 61)
    nvml.nvmlDeviceGetClockInfo = lambda d, clock: d.answer("sm_clock", 1980)
    nvml.nvmlDeviceGetCurrentClocksEventReasons = lambda d: d.answer("throttle", 0x4 | 0x40)
    return nvml
