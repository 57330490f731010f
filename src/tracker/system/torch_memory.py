"""torch's own view of GPU memory: what its caching allocator has allocated and reserved.

Read only when torch is already imported and CUDA is initialised: this module never
imports torch and never creates a CUDA context.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["TorchMemorySource"]


class TorchMemorySource:
    """Allocated, reserved and peak active bytes per device this process used, also as a
    percent of the device's total memory."""

    name = "torch"

    def __init__(self) -> None:
        self._totals: dict[int, int] = {}

    def sample(self) -> dict[str, float]:
        """The allocator's figures, or nothing while torch or CUDA is not in use."""
        torch: Any = sys.modules.get("torch")
        if torch is None or not torch.cuda.is_initialized():
            return {}
        cuda = torch.cuda
        out: dict[str, float] = {}
        current = cuda.current_device()
        for device in range(cuda.device_count()):
            stats = cuda.memory_stats(device)
            if not stats and device != current:
                continue  # never used by this process
            total = self._totals.get(device)
            if total is None:
                total = self._totals[device] = int(cuda.get_device_properties(device).total_memory)
            values = {
                "allocated": float(stats.get("allocated_bytes.all.current", 0)),
                "reserved": float(stats.get("reserved_bytes.all.current", 0)),
                "active_peak": float(stats.get("active_bytes.all.peak", 0)),
            }
            prefix = f"gpu/{device}/torch/"
            for name, value in values.items():
                out[f"{prefix}{name}_bytes"] = value
                if total:
                    out[f"{prefix}{name}_percent"] = 100.0 * value / total
        return out

    def close(self) -> None:
        """Nothing to release."""
