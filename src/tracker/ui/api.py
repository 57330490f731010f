"""The dashboard's JSON API: what the pages fetch, as functions of the store.

==========================================  ================================================
``GET /api/runs?project=&status=&tag=&``    the runs table (`tracker runs --json` rows)
``framework=&name=&limit=``
``GET /api/runs/RUN``                       one run (`tracker show --json`)
``GET /api/runs/RUN/curve?key=K&points=N``  metric ``K`` in step order, thinned on the
                                            server to at most ``N`` points (LTTB)
``GET /api/compare?run=A&run=B``            config differences and final/best metrics
==========================================  ================================================

``RUN`` is an id, a unique id prefix or a name. Errors are ``{"error": message}`` with
status 400, 404, or 409 (an ambiguous run, with ``candidates``). Non-finite floats are
encoded as described in `tracker.views`; curves leave them out and say how many
there were in ``nonfinite``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from tracker.records import RunStatus
from tracker.store.base import AmbiguousRunError, RunNotFoundError, RunQuery, Store
from tracker.store.resolve import resolve_run
from tracker.ui.downsample import read_curve
from tracker.views import config_diff, metrics_side_by_side, run_detail, run_row

__all__ = ["ApiError", "dispatch"]

Query = Mapping[str, Sequence[str]]

DEFAULT_POINTS = 1_000
MAX_POINTS = 10_000
MAX_RUNS = 5_000
_STATUSES = {s.value for s in RunStatus}


class ApiError(Exception):
    """A request the API answers with an error status."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.payload = {"error": message, **extra}


def dispatch(store: Store, path: str, query: Query) -> Any:
    """The answer to ``GET path?query`` (``path`` starts with ``/api/``)."""
    parts = [unquote(part) for part in path.split("/")[2:]]
    try:
        match parts:
            case ["runs"]:
                return runs(store, query)
            case ["runs", ref]:
                return run_detail(store, resolve_run(store, ref))
            case ["runs", ref, "curve"]:
                return curve(store, ref, query)
            case ["compare"]:
                return compare(store, query.get("run", []))
    except RunNotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except AmbiguousRunError as exc:
        candidates = [{"id": r.run_id, "name": r.name} for r in exc.candidates]
        raise ApiError(409, str(exc), candidates=candidates) from None
    raise ApiError(404, f"no API endpoint {path}")


def _one(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _int(query: Query, name: str, default: int, low: int, high: int) -> int:
    text = _one(query, name)
    if text is None:
        return default
    try:
        return min(high, max(low, int(text)))
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, not {text!r}") from None


def runs(store: Store, query: Query) -> dict[str, Any]:
    """The runs matching the query's filters, newest first."""
    status = _one(query, "status") or None
    if status is not None and status not in _STATUSES:
        raise ApiError(400, f"status must be one of {sorted(_STATUSES)}")
    found = store.runs(
        RunQuery(
            project=_one(query, "project") or None,
            status=status,
            tags=[t for t in query.get("tag", []) if t],
            framework=_one(query, "framework") or None,
            name_contains=_one(query, "name") or None,
            limit=_int(query, "limit", 500, 1, MAX_RUNS),
        )
    )
    return {"runs": [run_row(r, store.metric_stats(r.run_id)) for r in found]}


def curve(store: Store, ref: str, query: Query) -> dict[str, Any]:
    """Metric ``key`` of the run, thinned to at most ``points`` points."""
    key = _one(query, "key")
    if not key:
        raise ApiError(400, "key= names the metric")
    record = resolve_run(store, ref)
    if key not in store.keys(record.run_id):
        raise ApiError(404, f"run {record.run_id} has no metric {key!r}")
    points = _int(query, "points", DEFAULT_POINTS, 3, MAX_POINTS)
    thinned = read_curve(store, record.run_id, key).thinned(points)
    return {
        "run": record.run_id,
        "key": key,
        "count": thinned.count,
        "nonfinite": thinned.nonfinite,
        "steps": thinned.steps.astype("int64").tolist(),
        "values": thinned.values.tolist(),
        "times": thinned.times.tolist(),
    }


def compare(store: Store, refs: Sequence[str]) -> dict[str, Any]:
    """Config differences, final/best metrics, and each run's metric names."""
    if len(refs) < 2:
        raise ApiError(400, "name at least two runs: /api/compare?run=A&run=B")
    records = [resolve_run(store, ref) for ref in refs]
    stats = [store.metric_stats(r.run_id) for r in records]
    return {
        "runs": [{**run_row(r, s), "keys": sorted(s)} for r, s in zip(records, stats, strict=True)],
        "config": config_diff(records),
        "metrics": metrics_side_by_side(stats),
    }
