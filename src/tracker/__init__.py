"""tracker: one experiment tracker for every LLM fine-tuning framework.

``import tracker`` is cheap: the names below are loaded on first use, and no framework
(torch, transformers, accelerate, torchtune, pynvml) is ever imported by the core.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # `typing` itself costs milliseconds to import: not needed at runtime
if TYPE_CHECKING:
    from typing import Any

    from tracker.records import (
        Artifact,
        Evaluation,
        Event,
        Lineage,
        MetricBatch,
        MetricPoint,
        RunRecord,
        RunStatus,
    )
    from tracker.run import CustomTracker
    from tracker.settings import TrackerSettings
    from tracker.store import (
        Backend,
        BackendBase,
        MetricStats,
        RunNotFoundError,
        Store,
        StoreError,
        open_backend,
        open_store,
        register_backend,
    )

__version__ = "0.1.0"

_EXPORTS = {
    "CustomTracker": "tracker.run",
    "TrackerSettings": "tracker.settings",
    "Artifact": "tracker.records",
    "Evaluation": "tracker.records",
    "Event": "tracker.records",
    "Lineage": "tracker.records",
    "MetricBatch": "tracker.records",
    "MetricPoint": "tracker.records",
    "RunRecord": "tracker.records",
    "RunStatus": "tracker.records",
    "Backend": "tracker.store",
    "BackendBase": "tracker.store",
    "MetricStats": "tracker.store",
    "RunNotFoundError": "tracker.store",
    "Store": "tracker.store",
    "StoreError": "tracker.store",
    "open_backend": "tracker.store",
    "open_store": "tracker.store",
    "register_backend": "tracker.store",
}

__all__ = [
    "Artifact",
    "Backend",
    "BackendBase",
    "CustomTracker",
    "Evaluation",
    "Event",
    "Lineage",
    "MetricBatch",
    "MetricPoint",
    "MetricStats",
    "RunNotFoundError",
    "RunRecord",
    "RunStatus",
    "Store",
    "StoreError",
    "TrackerSettings",
    "__version__",
    "open_backend",
    "open_store",
    "register_backend",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
