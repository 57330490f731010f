"""NVIDIA GPU metrics through NVML (``nvidia-ml-py``): the only module that imports pynvml.

`open_gpus` is called on the sampler thread when sampling starts. It returns a source
for the GPUs this process sees, or ``None`` and the reason there are none (no library,
no driver, no device, every device hidden) for the sampler's one message.

Devices are named by the index the framework uses: the position in
``CUDA_VISIBLE_DEVICES`` (indices, ``GPU-`` UUIDs or unique prefixes of them, ``MIG-``
UUIDs), not NVML's physical index. As CUDA does, the list ends at the first entry that
names no device.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["NvmlSource", "open_gpus", "visible_devices"]

log = logging.getLogger("tracker")

# Clock event ("throttle") reason bits, part of NVML's stable ABI (nvml.h).
_SW_POWER_CAP = 0x4
_HW_SLOWDOWN = 0x8
_SW_THERMAL = 0x20
_HW_THERMAL = 0x40
_HW_POWER_BRAKE = 0x80

Field = Callable[[Any, Any], dict[str, float]]


def _utilization(nvml: Any, handle: Any) -> dict[str, float]:
    rates = nvml.nvmlDeviceGetUtilizationRates(handle)
    return {"utilization": rates.gpu, "memory_utilization": rates.memory}


def _memory(nvml: Any, handle: Any) -> dict[str, float]:
    info = nvml.nvmlDeviceGetMemoryInfo(handle)
    out = {"memory_used_bytes": float(info.used), "memory_total_bytes": float(info.total)}
    if info.total:
        out["memory_percent"] = 100.0 * info.used / info.total
    return out


def _power(nvml: Any, handle: Any) -> dict[str, float]:
    return {"power_watts": nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0}


def _power_limit(nvml: Any, handle: Any) -> dict[str, float]:
    return {"power_limit_watts": nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0}


def _temperature(nvml: Any, handle: Any) -> dict[str, float]:
    return {"temperature_celsius": nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)}


def _sm_clock(nvml: Any, handle: Any) -> dict[str, float]:
    return {"sm_clock_mhz": nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM)}


def _throttle(nvml: Any, handle: Any) -> dict[str, float]:
    read = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if read is None:  # nvidia-ml-py before 12.535
        read = nvml.nvmlDeviceGetCurrentClocksThrottleReasons
    mask = int(read(handle))
    return {
        "throttle_reasons": float(mask),
        "throttle/power": float(bool(mask & (_SW_POWER_CAP | _HW_POWER_BRAKE))),
        "throttle/thermal": float(bool(mask & (_SW_THERMAL | _HW_THERMAL))),
        "throttle/hw_slowdown": float(bool(mask & _HW_SLOWDOWN)),
    }


FIELDS: dict[str, Field] = {
    "utilization": _utilization,
    "memory": _memory,
    "power": _power,
    "power_limit": _power_limit,
    "temperature": _temperature,
    "sm_clock": _sm_clock,
    "throttle": _throttle,
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _not_supported(nvml: Any, exc: Exception) -> bool:
    kind = getattr(nvml, "NVMLError_NotSupported", None)
    return isinstance(kind, type) and isinstance(exc, kind)


def _by_uuid(nvml: Any, token: str, count: int) -> Any | None:
    for index in range(count):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        if _text(nvml.nvmlDeviceGetUUID(handle)).startswith(token):
            return handle
    try:  # a MIG instance is not enumerated by index but is found by its full UUID
        return nvml.nvmlDeviceGetHandleByUUID(token)
    except Exception:
        return None


def visible_devices(nvml: Any, spec: str | None) -> list[Any]:
    """Handles of the devices ``CUDA_VISIBLE_DEVICES`` (``spec``) shows, in its order."""
    count = int(nvml.nvmlDeviceGetCount())
    if spec is None:
        return [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    handles: list[Any] = []
    for raw in spec.split(","):
        token = raw.strip()
        handle: Any | None = None
        if token.lstrip("-").isdigit():
            index = int(token)
            handle = nvml.nvmlDeviceGetHandleByIndex(index) if 0 <= index < count else None
        elif token.startswith(("GPU-", "MIG-")):
            handle = _by_uuid(nvml, token, count)
        if handle is None:
            break
        handles.append(handle)
    return handles


class NvmlSource:
    """Per visible device: utilization, memory, power, temperature, SM clock, throttling.

    Each field is read on its own: a field the device does not support is not asked
    again, and a device that errors loses only its own values (logged once per device).
    """

    name = "gpu"

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles = handles
        self._unsupported: set[tuple[int, str]] = set()
        self._erring: set[int] = set()
        self.device_names = [self._name(handle) for handle in handles]

    def _name(self, handle: Any) -> str:
        try:
            return _text(self._nvml.nvmlDeviceGetName(handle))
        except Exception:
            return "unknown"

    def sample(self) -> dict[str, float]:
        """Every field of every device that answered."""
        out: dict[str, float] = {}
        for index, handle in enumerate(self._handles):
            prefix = f"gpu/{index}/"
            values: dict[str, float] = {}
            for field, read in FIELDS.items():
                if (index, field) in self._unsupported:
                    continue
                try:
                    values.update(read(self._nvml, handle))
                except Exception as exc:
                    if _not_supported(self._nvml, exc):
                        self._unsupported.add((index, field))
                    elif index not in self._erring:
                        self._erring.add(index)
                        log.warning(
                            "tracker: GPU %d: reading %s failed (%s: %s); its other values "
                            "are still recorded (warned once per GPU)",
                            index,
                            field,
                            type(exc).__name__,
                            exc,
                        )
            limit = values.get("power_limit_watts")
            if "power_watts" in values and limit:
                values["power_percent"] = 100.0 * values["power_watts"] / limit
            for key, value in values.items():
                out[prefix + key] = value
        return out

    def close(self) -> None:
        """Shut NVML down."""
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            log.debug("tracker: nvmlShutdown failed", exc_info=True)


def open_gpus(cuda_visible_devices: str | None) -> tuple[NvmlSource | None, str]:
    """A source for the GPUs this process sees, or ``None`` and why there is none."""
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError:
        return None, "nvidia-ml-py is not installed (pip install 'tracker[gpu]')"
    try:
        nvml.nvmlInit()
    except Exception as exc:
        return None, f"NVML did not start, no NVIDIA driver? ({type(exc).__name__}: {exc})"
    try:
        handles = visible_devices(nvml, cuda_visible_devices)
    except Exception as exc:
        handles, why = [], f"NVML could not list the GPUs ({type(exc).__name__}: {exc})"
    else:
        why = (
            f"CUDA_VISIBLE_DEVICES={cuda_visible_devices!r} shows no GPU"
            if cuda_visible_devices is not None
            else "NVML reports no GPU"
        )
    if not handles:
        try:
            nvml.nvmlShutdown()
        except Exception:
            log.debug("tracker: nvmlShutdown failed", exc_info=True)
        return None, why
    return NvmlSource(nvml, handles), ""
