"""The dashboard's JSON API: what the pages fetch, as functions of the store.

==========================================  ================================================
``GET /api/runs?project=&status=&tag=&``    a page of the runs table (`tracker runs --json`
``framework=&name=&sweep=&limit=&offset=``  rows) and how many runs match (``total``), in
``sort=&cols=``                             the order ``sort`` names, each row with the
                                            values of the ``cols`` columns
                                            (`tracker.store.order`: ``config:lr``,
                                            ``metric:eval/loss``; ``-`` sorts descending)
``GET /api/columns?project=&status=&...``   the columns the runs table can show: the
                                            run's fields, and the config paths, summary
                                            paths and metrics of the newest matching runs
``GET /api/runs/RUN``                       one run (`tracker show --json`)
``GET /api/runs/RUN/curve?key=K&width=W&``  metric ``K`` as a chart ``W`` pixels wide
``x=X``                                     draws it (`tracker.ui.downsample.draw`); with
                                            ``X``, along metric ``X`` (each point's ``xs``)
``GET /api/compare?run=A&run=B``            config differences (and the keys alike) and
                                            final/best metrics
``GET /api/workspace?project=&status=&``    every run of a project (default: the newest
``tag=&framework=&name=&limit=``            run's) with its metric names, the metrics that
                                            hold one value, its events, and ``x_keys``:
                                            the metrics that can be an x axis (`x_keys`)
``GET /api/curves?key=K&run=A&run=B&``      metric ``K`` of several runs, each as
``width=W&x=X&format=F``                    ``/api/runs/RUN/curve`` gives it; with
                                            ``format=binary``, as float64 arrays after a
                                            JSON header (`tracker.ui.wire`)
``GET /api/runs/RUN/tables``                the run's tables, each with its steps
``GET /api/runs/RUN/table?key=K&step=S&``   the rows of table ``K`` at step ``S`` (default:
``limit=N``                                 the last), at most ``N``; only that step is read
``GET /api/runs/RUN/artifacts``             the run's artifact versions, outputs and inputs
``GET /api/runs/RUN/lineage?depth=N&``      the run's lineage graph both ways, within N hops,
``width=W``                                 at most W nodes at each distance each way (the
                                            others counted in ``hidden``), as ``tracker
                                            lineage --json`` gives it
``GET /api/lineage?ref=REF&depth=N&``       the lineage of the artifact version at ``REF``
``width=W``                                 (a path, uri or digest: the latest recorded
                                            there, an output first), as ``tracker lineage
                                            REF --json`` gives it: its producers, the runs
                                            that used it, its evaluations, and on
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

Run rows (of a run, the compare view, the workspace, the sweep) carry ``color``: the run's
rank among its project's runs by start time (`tracker.ui.colors`), which the pages map to
one colour, the same on every page.

``RUN`` is an id, a unique id prefix or a name. Errors are ``{"error": message}`` with
status 400, 404, or 409 (an ambiguous run, with ``candidates``). Non-finite floats are
encoded as described in `tracker.views`; curves leave them out and say how many
there were in ``nonfinite``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote

from tracker.leaderboard import board_json, diff_json, leaderboard, sample_diff
from tracker.records import RunRecord, RunStatus
from tracker.store.base import (
    AmbiguousRunError,
    MetricStats,
    RunNotFoundError,
    RunQuery,
    Store,
    StoreError,
    count_runs,
    metric_stats_of,
)
from tracker.store.order import RUN_FIELDS, RunColumn, RunOrder
from tracker.store.resolve import latest_version, resolve_run
from tracker.ui.colors import color_ranks
from tracker.ui.downsample import Curve, draw_all, x_of
from tracker.ui.groups import GroupError, NotInRuns, group_curves, param_table
from tracker.ui.wire import Packed, pack_curves
from tracker.views import (
    artifact_json,
    config_diff,
    config_same,
    flatten_config,
    lineage_view,
    metrics_side_by_side,
    run_detail,
    run_row,
)

__all__ = ["ApiError", "dispatch"]

T = TypeVar("T")

Query = Mapping[str, Sequence[str]]

DEFAULT_WIDTH = 1_000  # pixel columns of a chart (width=)
MAX_WIDTH = 10_000
MAX_POINTS = 10_000
MAX_RUNS = 5_000
MAX_OFFSET = 2**62  # what both engines take as an OFFSET
WORKSPACE_RUNS = 100  # runs of a workspace by default (limit= asks for more, up to MAX_RUNS)
COLUMN_RUNS = 500  # runs whose config, summary and metrics /api/columns lists
GROUP_POINTS = 500  # points of a group's curves by default (points= asks for more)
MAX_CURVES = 200  # runs in one /api/curves request
TABLE_ROWS = 1_000  # rows of a table's step by default (limit= asks for more)
MAX_TABLE_ROWS = 100_000  # the most a step holds (tracker.tables)
MAX_EVENTS = 5_000  # events of a workspace, newest kept
CACHED_POINTS = 4_000_000  # drawn points kept between requests (about 100 MB)
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
            case ["columns"]:
                return columns(store, query)
            case ["runs", ref]:
                record = resolve_run(store, ref)
                return {**run_detail(store, record), "color": color_ranks(store, [record])[0]}
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
                    "artifacts": [artifact_json(a) for a in store.artifacts(run_id=run_id)],
                }
            case ["runs", ref, "lineage"]:
                return lineage_view(
                    store, resolve_run(store, ref), depth=_depth(query), width=_width(query)
                )
            case ["lineage"]:
                return version_lineage(store, query)
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


def version_lineage(store: Store, query: Query) -> dict[str, Any]:
    """The lineage of the version at ``ref`` (`tracker.store.resolve.latest_version`)."""
    ref = _one(query, "ref")
    if not ref:
        raise ApiError(400, "name a version: /api/lineage?ref=PATH_URI_OR_DIGEST")
    version = latest_version(store, [ref])
    if version is None:
        raise ApiError(404, f"no artifact recorded at {ref!r} (a path, uri or digest)")
    return lineage_view(store, version, depth=_depth(query), width=_width(query))


def _depth(query: Query) -> int | None:
    """``depth=``: hops each way, ``None`` (the whole chain) where not given."""
    return None if _one(query, "depth") is None else _int(query, "depth", 0, 0, 2**31)


def _width(query: Query) -> int | None:
    """``width=``: the most nodes at each distance each way, ``None`` (all) where not given."""
    return None if _one(query, "width") is None else _int(query, "width", 1, 1, 2**31)


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
    sort = _one(query, "sort")
    return RunQuery(
        project=_one(query, "project") or None,
        status=status,
        tags=[t for t in query.get("tag", []) if t],
        framework=_one(query, "framework") or None,
        name_contains=_one(query, "name") or None,
        sweep=_one(query, "sweep") or None,
        order=_parsed(RunOrder.parse, "sort", sort) if sort else None,
        limit=_int(query, "limit", limit, 1, MAX_RUNS),
        offset=_int(query, "offset", 0, 0, MAX_OFFSET),
    )


def _parsed(parse: Callable[[str], T], name: str, text: str) -> T:
    try:
        return parse(text)
    except ValueError as exc:
        raise ApiError(400, f"{name}: {exc}") from None


def runs(store: Store, query: Query) -> dict[str, Any]:
    """A page of the runs matching the query's filters, newest first or in ``sort``'s
    order: ``limit`` runs from the ``offset``-th on, and how many match in all
    (``total``); each row's ``columns`` holds its value of each of ``cols``."""
    selected = run_query(query, 500)
    shown = [_parsed(RunColumn.parse, "cols", text) for text in query.get("cols", []) if text]
    found = store.runs(selected)
    stats = metric_stats_of(store, [r.run_id for r in found])
    rows = []
    for run, color in zip(found, color_ranks(store, found), strict=True):
        mine = stats[run.run_id]

        def final(key: str, mine: Mapping[str, MetricStats] = mine) -> float | None:
            return mine[key].last_value if key in mine else None

        values = {str(column): column.value(run, final) for column in shown}
        rows.append({**run_row(run, mine), "color": color, "columns": values})
    return {
        "runs": rows,
        "total": count_runs(store, selected),
        "offset": selected.offset,
        "limit": selected.limit,
    }


def columns(store: Store, query: Query) -> dict[str, Any]:
    """What the runs table can show: the run's own fields, and the config paths, summary
    paths and metrics of the newest `COLUMN_RUNS` runs matching the query's filters (a
    path none of them has can still be asked for by name)."""
    found = store.runs(run_query(query, COLUMN_RUNS)._replace(limit=COLUMN_RUNS, offset=0))
    stats = metric_stats_of(store, [r.run_id for r in found])
    return {
        "run": list(RUN_FIELDS),
        "config": sorted({path for r in found for path in flatten_config(r.config)}),
        "summary": sorted({path for r in found for path in flatten_config(r.summary)}),
        "metrics": sorted({key for s in stats.values() for key in s}),
        "runs": len(found),
    }


def curve(store: Store, ref: str, query: Query) -> dict[str, Any]:
    """Metric ``key`` of the run as a chart ``width`` pixels wide draws it, along metric
    ``x`` if given."""
    key = _one(query, "key")
    if not key:
        raise ApiError(400, "key= names the metric")
    record = resolve_run(store, ref)
    stats = store.metric_stats(record.run_id)
    x_key = _one(query, "x") or None
    for name in (key, x_key):
        if name is not None and name not in stats:
            raise ApiError(404, f"run {record.run_id} has no metric {name!r}")
    width = _int(query, "width", DEFAULT_WIDTH, 1, MAX_WIDTH)
    drawn = _drawn(store, record.run_id, key, stats, width, x_key)
    return {"run": record.run_id, "key": key, **_as_json(drawn, query)}


def _drawn(
    store: Store,
    run_id: str,
    key: str,
    stats: Mapping[str, MetricStats],
    width: int,
    x_key: str | None,
) -> Curve:
    """`_drawn_all` of one run."""
    return _drawn_all(store, key, {run_id: stats}, width, x_key)[run_id]


def _drawn_all(
    store: Store,
    key: str,
    stats_of: Mapping[str, Mapping[str, MetricStats]],
    width: int,
    x_key: str | None,
) -> dict[str, Curve]:
    """`tracker.ui.downsample.draw_all`'s curve of each run of ``stats_of`` (its metrics'
    statistics), from `_CACHE` while the metric (and the x metric) has no new point."""
    versions = {
        run_id: (
            store.uri,
            run_id,
            width,
            x_key,
            *[
                (k, stats[k].count, stats[k].last_step, stats[k].last_time)
                for k in ([key, x_key] if x_key else [key])
            ],
        )
        for run_id, stats in stats_of.items()
    }
    found = {run_id: _CACHE.get(version) for run_id, version in versions.items()}
    missing = [run_id for run_id, drawn in found.items() if drawn is None]
    along = {run_id: x_of(store, run_id, x_key) for run_id in missing} if x_key else None
    counts = {run_id: stats_of[run_id][key].count for run_id in missing}
    for run_id, drawn in draw_all(store, key, width, counts, along).items():
        _CACHE.put(versions[run_id], drawn)
        found[run_id] = drawn
    return {run_id: drawn for run_id, drawn in found.items() if drawn is not None}


def _as_json(curve: Curve, query: Query) -> dict[str, Any]:
    """The curve's fields; without ``times`` with ``times=0`` (a chart whose x is not the
    time: its floats are most of the time of encoding a chart of 100 runs)."""
    return {
        "count": curve.count,
        "nonfinite": curve.nonfinite,
        "steps": curve.steps.astype("int64").tolist(),
        "values": curve.values.tolist(),
        **({} if _one(query, "times") == "0" else {"times": curve.times.tolist()}),
        **({} if curve.xs is None else {"xs": curve.xs.tolist()}),
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
        "runs": [
            {**run_row(r, s), "keys": sorted(s), "color": c}
            for r, s, c in zip(records, stats, color_ranks(store, records), strict=True)
        ],
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
    colors = color_ranks(store, found)
    rows = [
        {**run_row(r, all_stats[r.run_id]), "color": c} for r, c in zip(found, colors, strict=True)
    ]
    events: list[dict[str, Any]] = []
    for row in rows:
        stats = all_stats[row["id"]]
        row["keys"] = sorted(stats)
        row["constants"] = {
            key: s.last_value for key, s in stats.items() if s.count == 1 or s.min == s.max
        }
        events += [{"run": row["id"], **e.as_dict()} for e in store.events(row["id"])]
    events.sort(key=lambda e: e["at"])
    return {
        "project": project,
        "runs": rows,
        "events": events[-MAX_EVENTS:],
        "x_keys": x_keys(all_stats.values()),
    }


_GROWING = ("epoch", "tokens_seen", "num_tokens", "input_tokens", "samples_seen")
"""What the name of a metric that grows with the step holds (``train/epoch``,
``train/num_input_tokens_seen``, torchtune's ``tokens_seen``)."""


def x_keys(stats: Iterable[Mapping[str, MetricStats]]) -> list[str]:
    """The metrics an x axis can be: named as one that grows with the step (`_GROWING`)
    and, in every run that has it, of two points or more ending at its highest value (a
    metric that fell back at the end is not one). Read from the stored statistics only."""
    found: dict[str, bool] = {}
    for run in stats:
        for key, s in run.items():
            if any(word in key.rsplit("/", 1)[-1] for word in _GROWING):
                grows = s.count >= 2 and s.last_value == s.max and s.min < s.max
                found[key] = found.get(key, True) and grows
    return sorted(key for key, grows in found.items() if grows)


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
    table = param_table(found, stats)
    colors = dict(zip([r.run_id for r in found], color_ranks(store, found), strict=True))
    for row in table["runs"]:
        row["color"] = colors[row["id"]]
    return {"project": project, **table}


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


def curves(store: Store, query: Query) -> dict[str, Any] | Packed:
    """Metric ``key`` of each ``run`` as a chart ``width`` pixels wide draws it, along
    metric ``x`` if given (as `curve`); a run without the metric (or ``x``) is left out.
    As JSON, or with ``format=binary`` as float64 arrays (`tracker.ui.wire`)."""
    form = _one(query, "format") or "json"
    if form not in ("json", "binary"):
        raise ApiError(400, f"format= is json (the default) or binary, not {form!r}")
    key = _one(query, "key")
    if not key:
        raise ApiError(400, "key= names the metric")
    refs = query.get("run", [])
    if not refs or len(refs) > MAX_CURVES:
        raise ApiError(400, f"name 1 to {MAX_CURVES} runs: /api/curves?key=K&run=A&run=B")
    width = _int(query, "width", DEFAULT_WIDTH, 1, MAX_WIDTH)
    x_key = _one(query, "x") or None
    run_ids, all_stats = _resolved(store, refs)
    having = {
        run_id: stats
        for run_id, stats in all_stats.items()
        if key in stats and (x_key is None or x_key in stats)
    }
    drawn = _drawn_all(store, key, having, width, x_key)
    shown = [(run_id, drawn[run_id]) for run_id in run_ids if run_id in drawn]
    if form == "binary":
        return _packed(key, shown, query, x_key)
    return {"key": key, "curves": [{"run": run_id, **_as_json(c, query)} for run_id, c in shown]}


def _packed(
    key: str, shown: Sequence[tuple[str, Curve]], query: Query, x_key: str | None
) -> Packed:
    """`curves` as bytes (`tracker.ui.wire`): the same fields, as float64 arrays."""
    times = _one(query, "times") != "0"
    fields = ["steps", "values", *(["times"] if times else []), *(["xs"] if x_key else [])]

    def arrays(c: Curve) -> list[Any]:
        return [c.steps, c.values, *([c.times] if times else []), *([c.xs] if x_key else [])]

    about = [
        ({"run": run_id, "count": c.count, "nonfinite": c.nonfinite}, arrays(c))
        for run_id, c in shown
    ]
    return pack_curves(key, fields, about)


def _resolved(
    store: Store, refs: Sequence[str]
) -> tuple[list[str], dict[str, dict[str, MetricStats]]]:
    """The run each of ``refs`` names (as `resolve_run`) and the metric statistics of
    each: the refs that are run ids, as the pages send them, found by the one query that
    reads the statistics; the others (an id prefix, a name) one by one."""
    all_stats = metric_stats_of(store, refs)
    named = {ref: resolve_run(store, ref).run_id for ref in refs if not all_stats[ref]}
    all_stats.update(metric_stats_of(store, [i for i in named.values() if i not in all_stats]))
    return [named.get(ref, ref) for ref in refs], all_stats


class _CurveCache:
    """Drawn curves by what they were made of (store, run, width, x metric, and the
    count and last point of the metric and the x metric: a new point makes a new entry),
    the least recently used dropped past `CACHED_POINTS` points."""

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
