"""The dashboard's JSON API: what the pages fetch, as functions of the store.

==========================================  ================================================
``GET /api/runs?project=&status=&tag=&``    a page of the runs table (`tracker runs --json`
``framework=&name=&sweep=&limit=&offset=``  rows) and how many runs match (``total``)
``GET /api/runs/RUN``                       one run (`tracker show --json`)
``GET /api/runs/RUN/curve?key=K&points=N``  metric ``K`` in step order, thinned on the
                                            server to at most ``N`` points (LTTB)
``GET /api/compare?run=A&run=B``            config differences (and the keys alike) and
                                            final/best metrics
``GET /api/workspace?project=&status=&``    every run of a project (default: the newest
``tag=&framework=&name=&limit=``            run's) with its metric names, the metrics that
                                            hold one value, and its events
``GET /api/curves?key=K&run=A&run=B&``      metric ``K`` of several runs, each cut to the
``points=N``                                lowest and highest points of ``N / 2`` slices
``GET /api/runs/RUN/tables``                the run's tables, each with its steps
``GET /api/runs/RUN/table?key=K&step=S&``   the rows of table ``K`` at step ``S`` (default:
``limit=N``                                 the last), at most ``N``; only that step is read
``GET /api/runs/RUN/artifacts``             the run's artifact versions, outputs and inputs
``GET /api/runs/RUN/lineage``               inputs, outputs and the runs linked through them
                                            (`tracker lineage --json`)
``GET /api/params?project=&status=&...``    the workspace's runs (as ``/api/workspace``
                                            selects them): the config keys that vary, each
                                            run's values of them and final metrics
``GET /api/groups?key=K&metric=M&``         the same runs grouped by config key ``K``:
``points=N&project=&status=&...``           metric ``M``'s mean, min and max per group on a
                                            shared step grid of at most ``N`` points
``GET /api/evals?project=P``                the leaderboard (`tracker evals --json`; default
                                            project: the newest run's) and ``best``, the
                                            best row's index per column
``GET /api/evals/diff?a=E&b=E&metric=``     two evaluations' samples that went right →
                                            wrong and back (`tracker evals --diff --json`)
==========================================  ================================================

``RUN`` is an id, a unique id prefix or a name. Errors are ``{"error": message}`` with
status 400, 404, or 409 (an ambiguous run, with ``candidates``). Non-finite floats are
encoded as described in `tracker.views`; curves leave them out and say how many
there were in ``nonfinite``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from tracker.leaderboard import board_json, diff_json, leaderboard, sample_diff
from tracker.records import RunRecord, RunStatus
from tracker.store.base import (
    AmbiguousRunError,
    RunNotFoundError,
    RunQuery,
    Store,
    StoreError,
    count_runs,
    metric_stats_of,
)
from tracker.store.resolve import resolve_run
from tracker.ui.downsample import Curve, read_curve, read_overview
from tracker.ui.groups import GroupError, NotInRuns, group_curves, param_table
from tracker.views import (
    config_diff,
    config_same,
    lineage_view,
    metrics_side_by_side,
    run_detail,
    run_row,
)

__all__ = ["ApiError", "dispatch"]

Query = Mapping[str, Sequence[str]]

DEFAULT_POINTS = 1_000
MAX_POINTS = 10_000
MAX_RUNS = 5_000
MAX_OFFSET = 2**62  # what both engines take as an OFFSET
WORKSPACE_RUNS = 100  # runs of a workspace by default (limit= asks for more, up to MAX_RUNS)
GROUP_POINTS = 500  # points of a group's curves by default (points= asks for more)
MAX_CURVES = 200  # runs in one /api/curves request
TABLE_ROWS = 1_000  # rows of a table's step by default (limit= asks for more)
MAX_TABLE_ROWS = 100_000  # the most a step holds (tracker.tables)
MAX_EVENTS = 5_000  # events of a workspace, newest kept
CACHED_POINTS = 4_000_000  # thinned points kept between requests (about 100 MB)
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
            case ["runs", ref, "tables"]:
                return tables(store, ref)
            case ["runs", ref, "table"]:
                return table(store, ref, query)
            case ["runs", ref, "artifacts"]:
                run_id = resolve_run(store, ref).run_id
                return {
                    "run": run_id,
                    "artifacts": [a.as_dict() for a in store.artifacts(run_id=run_id)],
                }
            case ["runs", ref, "lineage"]:
                return lineage_view(store, resolve_run(store, ref))
            case ["compare"]:
                return compare(store, query.get("run", []))
            case ["workspace"]:
                return workspace(store, query)
            case ["curves"]:
                return curves(store, query)
            case ["params"]:
                return params(store, query)
            case ["groups"]:
                return groups(store, query)
            case ["evals"]:
                return evals(store, query)
            case ["evals", "diff"]:
                return evals_diff(store, query)
    except RunNotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except AmbiguousRunError as exc:
        candidates = [{"id": r.run_id, "name": r.name} for r in exc.candidates]
        raise ApiError(409, str(exc), candidates=candidates) from None
    raise ApiError(404, f"no API endpoint {path}")


def evals(store: Store, query: Query) -> dict[str, Any]:
    """The leaderboard of the project (default: the newest run's), with the index of
    each column's best row (or ``None``)."""
    project = _one(query, "project")
    if not project:
        newest = store.runs(RunQuery(limit=1))
        project = newest[0].project if newest else ""
    board = leaderboard(store, project)
    found = {column: board.best(column) for column in board.columns}
    best = {c: None if e is None else board.entries.index(e) for c, e in found.items()}
    return {"project": project, **board_json(board), "best": best}


def evals_diff(store: Store, query: Query) -> dict[str, Any]:
    """The sample diff of evaluations ``a`` and ``b`` (their task, and ``metric``)."""
    a, b = _one(query, "a"), _one(query, "b")
    if not (a and b):
        raise ApiError(400, "give two evaluations: /api/evals/diff?a=EVAL_ID&b=EVAL_ID")
    try:
        diff = sample_diff(store, a, b, _one(query, "metric"))
    except StoreError as exc:  # an unknown evaluation, one without samples or that column
        raise ApiError(404, str(exc)) from None
    return {"task": diff.a.task, **diff_json(diff)}


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


def run_query(query: Query, limit: int) -> RunQuery:
    """The runs a request's filters ask for (``limit`` of them unless it says): the one
    place /api/runs, /api/workspace, /api/params and /api/groups read their filters, so a
    new one (``sweep=``) is one more field here."""
    status = _one(query, "status") or None
    if status is not None and status not in _STATUSES:
        raise ApiError(400, f"status must be one of {sorted(_STATUSES)}")
    return RunQuery(
        project=_one(query, "project") or None,
        status=status,
        tags=[t for t in query.get("tag", []) if t],
        framework=_one(query, "framework") or None,
        name_contains=_one(query, "name") or None,
        sweep=_one(query, "sweep") or None,
        limit=_int(query, "limit", limit, 1, MAX_RUNS),
        offset=_int(query, "offset", 0, 0, MAX_OFFSET),
    )


def runs(store: Store, query: Query) -> dict[str, Any]:
    """A page of the runs matching the query's filters, newest first: ``limit`` runs from
    the ``offset``-th on, and how many match in all (``total``)."""
    selected = run_query(query, 500)
    found = store.runs(selected)
    stats = metric_stats_of(store, [r.run_id for r in found])
    return {
        "runs": [run_row(r, stats[r.run_id]) for r in found],
        "total": count_runs(store, selected),
        "offset": selected.offset,
        "limit": selected.limit,
    }


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


def tables(store: Store, ref: str) -> dict[str, Any]:
    """The run's tables, sorted by name, each with the steps it has rows at."""
    run_id = resolve_run(store, ref).run_id
    found = [
        {"key": key, "steps": store.table_steps(run_id, key)} for key in store.table_keys(run_id)
    ]
    return {"run": run_id, "tables": found}


def table(store: Store, ref: str, query: Query) -> dict[str, Any]:
    """The rows of table ``key`` at ``step`` (default: its last), at most ``limit``, with
    the columns in the order they first appear (``step`` left out: every row has the
    same) and ``more``: whether the step holds more rows than were sent."""
    key = _one(query, "key")
    if not key:
        raise ApiError(400, "key= names the table")
    run_id = resolve_run(store, ref).run_id
    if key not in store.table_keys(run_id):
        raise ApiError(404, f"run {run_id} has no table {key!r}")
    steps = store.table_steps(run_id, key)
    step = _int(query, "step", steps[-1] if steps else 0, -(2**63), 2**63 - 1)
    limit = _int(query, "limit", TABLE_ROWS, 1, MAX_TABLE_ROWS)
    rows = store.table_rows(run_id, key, step=step, limit=limit + 1)
    columns = list(dict.fromkeys(name for row in rows for name in row if name != "step"))
    return {
        "run": run_id,
        "key": key,
        "step": step,
        "columns": columns,
        "rows": rows[:limit],
        "more": len(rows) > limit,
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
        "config_same": config_same(records),
        "metrics": metrics_side_by_side(stats),
    }


def workspace(store: Store, query: Query) -> dict[str, Any]:
    """The runs of a project, filtered as `runs` filters them, each with ``keys`` (its
    metric names) and ``constants`` (those holding one value: a number, not a curve), and
    their events, oldest first, each with its ``run``."""
    project, found = project_runs(store, query)
    all_stats = metric_stats_of(store, [r.run_id for r in found])
    rows = [run_row(r, all_stats[r.run_id]) for r in found]
    events: list[dict[str, Any]] = []
    for row in rows:
        stats = all_stats[row["id"]]
        row["keys"] = sorted(stats)
        row["constants"] = {
            key: s.last_value for key, s in stats.items() if s.count == 1 or s.min == s.max
        }
        events += [{"run": row["id"], **e.as_dict()} for e in store.events(row["id"])]
    events.sort(key=lambda e: e["at"])
    return {"project": project, "runs": rows, "events": events[-MAX_EVENTS:]}


def project_runs(store: Store, query: Query) -> tuple[str, list[RunRecord]]:
    """The project the query names (default: the newest run's) and its runs that pass
    the query's filters, at most `WORKSPACE_RUNS` unless ``limit`` says."""
    project = _one(query, "project")
    if not project:
        newest = store.runs(RunQuery(limit=1))
        project = newest[0].project if newest else ""
    if not project:
        return "", []
    return project, store.runs(run_query({**query, "project": [project]}, WORKSPACE_RUNS))


def params(store: Store, query: Query) -> dict[str, Any]:
    """The runs of the workspace (selected as `workspace` selects them) as a sweep: see
    `tracker.ui.groups.param_table`."""
    project, found = project_runs(store, query)
    stats = metric_stats_of(store, [r.run_id for r in found])
    return {"project": project, **param_table(found, stats)}


def groups(store: Store, query: Query) -> dict[str, Any]:
    """The runs of the workspace grouped by config ``key``, with metric ``metric`` per
    group: see `tracker.ui.groups.group_curves`."""
    key, metric = _one(query, "key"), _one(query, "metric")
    if not key or not metric:
        raise ApiError(400, "key= names the config key to group by, metric= the metric")
    points = _int(query, "points", GROUP_POINTS, 2, MAX_POINTS)
    project, found = project_runs(store, query)
    try:
        return {"project": project, **group_curves(store, found, key, metric, points)}
    except NotInRuns as exc:
        raise ApiError(404, str(exc)) from None
    except GroupError as exc:
        raise ApiError(400, str(exc)) from None


def curves(store: Store, query: Query) -> dict[str, Any]:
    """Metric ``key`` of each ``run``, thinned to about ``points`` points each (see
    `tracker.ui.downsample.read_overview` and `Curve.envelope`); a run without the
    metric is left out."""
    key = _one(query, "key")
    if not key:
        raise ApiError(400, "key= names the metric")
    refs = query.get("run", [])
    if not refs or len(refs) > MAX_CURVES:
        raise ApiError(400, f"name 1 to {MAX_CURVES} runs: /api/curves?key=K&run=A&run=B")
    points = _int(query, "points", DEFAULT_POINTS, 4, MAX_POINTS)
    found = []
    for ref in refs:
        run_id = resolve_run(store, ref).run_id
        stats = store.metric_stats(run_id).get(key)
        if stats is None:
            continue
        version = (store.uri, run_id, key, points, stats.count, stats.last_step, stats.last_time)
        thinned = _CACHE.get(version)
        if thinned is None:
            # a short metric whole; a long one from its stored chunks' extremes
            read = read_curve if stats.count <= points else read_overview
            thinned = read(store, run_id, key).envelope(points)
            _CACHE.put(version, thinned)
        found.append(
            {
                "run": run_id,
                "count": thinned.count,
                "nonfinite": thinned.nonfinite,
                "steps": thinned.steps.astype("int64").tolist(),
                "values": thinned.values.tolist(),
                "times": thinned.times.tolist(),
            }
        )
    return {"key": key, "curves": found}


class _CurveCache:
    """Thinned curves by what they were made of (store, run, metric, points, and the
    metric's count and last point: a new point makes a new entry), the least recently
    used dropped past `CACHED_POINTS` points."""

    def __init__(self, max_points: int) -> None:
        self._items: OrderedDict[tuple[Any, ...], Curve] = OrderedDict()
        self._points = 0
        self._max = max_points
        self._lock = threading.Lock()  # the server answers on several threads

    def get(self, version: tuple[Any, ...]) -> Curve | None:
        with self._lock:
            found = self._items.get(version)
            if found is not None:
                self._items.move_to_end(version)
            return found

    def put(self, version: tuple[Any, ...], curve: Curve) -> None:
        with self._lock:
            if version in self._items:
                return
            self._items[version] = curve
            self._points += len(curve.steps)
            while self._points > self._max and self._items:
                _, dropped = self._items.popitem(last=False)
                self._points -= len(dropped.steps)


_CACHE = _CurveCache(CACHED_POINTS)
