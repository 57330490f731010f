"""Where runs are written and read back: the backend protocol, the registry, the built-ins."""

from tracker.store.base import (
    Backend,
    BackendBase,
    History,
    MetricStats,
    RunNotFoundError,
    Store,
    StoreError,
)
from tracker.store.registry import open_backend, open_store, register_backend, registered_schemes

__all__ = [
    "Backend",
    "BackendBase",
    "History",
    "MetricStats",
    "RunNotFoundError",
    "Store",
    "StoreError",
    "open_backend",
    "open_store",
    "register_backend",
    "registered_schemes",
]
