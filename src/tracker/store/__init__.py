"""Where runs are written and read back: the backend protocol, the registry, the built-ins."""

from tracker.store.base import (
    AmbiguousRunError,
    Backend,
    BackendBase,
    History,
    MetricStats,
    RunNotFoundError,
    RunQuery,
    Store,
    StoreBase,
    StoreError,
)
from tracker.store.registry import (
    open_backend,
    open_store,
    redact_uri,
    register_backend,
    registered_schemes,
    resolve_backend,
    uri_scheme,
)
from tracker.store.resolve import resolve_run

__all__ = [
    "AmbiguousRunError",
    "Backend",
    "BackendBase",
    "History",
    "MetricStats",
    "RunNotFoundError",
    "RunQuery",
    "Store",
    "StoreBase",
    "StoreError",
    "open_backend",
    "open_store",
    "redact_uri",
    "register_backend",
    "registered_schemes",
    "resolve_backend",
    "resolve_run",
    "uri_scheme",
]
