"""Where runs are written and read back: the backend protocol, the registry, the built-ins."""

from tracker.store.base import (
    AmbiguousRunError,
    ArtifactQuery,
    Backend,
    BackendBase,
    Blocks,
    CountsRuns,
    History,
    ManyStats,
    MetricStats,
    RunNotFoundError,
    RunQuery,
    Store,
    StoreBase,
    StoredBlocks,
    StoreError,
    count_runs,
    metric_stats_of,
)
from tracker.store.order import RunColumn, RunOrder
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
from tracker.store.series import metric_blocks

__all__ = [
    "AmbiguousRunError",
    "ArtifactQuery",
    "Backend",
    "BackendBase",
    "Blocks",
    "CountsRuns",
    "History",
    "ManyStats",
    "MetricStats",
    "RunColumn",
    "RunNotFoundError",
    "RunOrder",
    "RunQuery",
    "Store",
    "StoreBase",
    "StoreError",
    "StoredBlocks",
    "count_runs",
    "metric_blocks",
    "metric_stats_of",
    "open_backend",
    "open_store",
    "redact_uri",
    "register_backend",
    "registered_schemes",
    "resolve_backend",
    "resolve_run",
    "uri_scheme",
]
