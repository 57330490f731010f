"""Runs as plain data: what ``--json`` prints and what the dashboard's API returns.

JSON has no NaN or infinity. Wherever a float is not finite it is written as the string
``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (what JavaScript's ``Number()`` reads back).
"""

from __future__ import annotations

import html
import json
import math
import operator
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from tracker.lineage import EVALUATION, RUN, Edge, Graph, Links, fetch_levels, run_node, walk
from tracker.records import (
    Artifact,
    Evaluation,
    Event,
    RunRecord,
    RunStatus,
    effective_status,
    paused_gc,
)
from tracker.store.base import MetricStats, Store, version_scores

__all__ = [
    "artifact_json",
    "config_diff",
    "config_same",
    "dumps",
    "flatten_config",
    "jsonable",
    "lineage_view",
    "lower_is_better",
    "metrics_side_by_side",
    "node_states",
    "run_detail",
    "run_html",
    "run_row",
]

_NONFINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
_HTML_ROWS = 50  # config or summary keys shown in a notebook, the rest counted
_LOWER_IS_BETTER = ("loss", "perplexity", "ppl", "error", "err", "wer", "cer", "bits_per_byte")


def jsonable(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its name (``"NaN"``, ...)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _NONFINITE.get(value, "NaN")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    """``value`` as strict JSON text (non-finite floats named, never bare ``NaN``).

    Encoded as it is first, and through `jsonable` only where that fails (a non-finite
    float, a key JSON has no text for): a copy of every container is most of the time of
    a large view (a lineage of 10,000 runs: 180-270 ms of its 300-400). Views have text
    keys (`tracker.values` makes every logged key text), so both ways give the same text."""
    try:
        return json.dumps(value, indent=indent, allow_nan=False, ensure_ascii=False)
    except (ValueError, TypeError):
        return json.dumps(jsonable(value), indent=indent, allow_nan=False, ensure_ascii=False)


def artifact_json(artifact: Artifact) -> dict[str, Any]:
    """An artifact version as ``--json`` and the dashboard give it: its fields and its
    ``kind_label`` (`Artifact.kind_label`: ``adapter-checkpoint`` for a PEFT adapter's)."""
    shown = dict(zip(Artifact.__slots__, _artifact_fields(artifact), strict=True))
    shown["kind_label"] = artifact.kind_label
    return shown


_artifact_fields = operator.attrgetter(*Artifact.__slots__)  # as_dict's values, in C


def run_row(run: RunRecord, stats: Mapping[str, MetricStats]) -> dict[str, Any]:
    """One line of the runs table: who, how it went, how far, final losses."""
    return {
        "id": run.run_id,
        "project": run.project,
        "name": run.name,
        "framework": run.framework,
        "sweep": run.sweep,
        "status": run.status,
        "tags": run.tags,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "duration": run.duration,
        "step": max((s.last_step for s in stats.values()), default=None),
        "train_loss": _last(stats, "train/loss"),
        "eval_loss": _last(stats, "eval/loss"),
    }


def _last(stats: Mapping[str, MetricStats], key: str) -> float | None:
    found = stats.get(key)
    return None if found is None else found.last_value


def run_detail(store: Store, run: RunRecord) -> dict[str, Any]:
    """Everything `tracker show` tells of a run."""
    stats = store.metric_stats(run.run_id)
    events = store.events(run.run_id)
    return {
        **run_row(run, stats),
        "error": run.error,
        "config": run.config,
        "summary": run.summary,
        "environment": run.environment,
        "metrics": {key: s.as_dict() for key, s in stats.items()},
        "events": [e.as_dict() for e in events],
        "nodes": node_states(run, events, stats),
        "tables": {key: store.table_steps(run.run_id, key) for key in store.table_keys(run.run_id)},
        "bench": _bench(store, run.run_id),
    }


def _bench(store: Store, run_id: str) -> dict[str, list[tuple[int, float, float]]]:
    """The run's checkpoints' scores by ``bench/<task>/<metric>``, as ``(step, value,
    time)`` points (`tracker.leaderboard.bench_history`)."""
    from tracker.leaderboard import bench_history  # not at the top: leaderboard imports views

    return {key: series.tuples() for key, series in bench_history(store, run_id).items()}


def node_states(
    run: RunRecord,
    events: Sequence[Event],
    stats: Mapping[str, MetricStats],
    *,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The other nodes of a job of several nodes (rank 0's node is the run's own
    liveness), from their ``node_joined`` / ``node_left`` events: each with its ``state``,
    ``left`` (its process ended), ``sampling``, or ``silent`` (joined and never left,
    and the run has ended or its samples stopped for as long as a heartbeat's before a
    run reads crashed), and ``last_seen``, the time of its last sample."""
    joined: dict[str, Event] = {}
    left: dict[str, float] = {}
    for event in events:
        node = event.payload.get("node")
        if not isinstance(node, str):
            continue
        if event.kind == "node_joined":
            joined[node] = event
            left.pop(node, None)  # a resumed run: joined again
        elif event.kind == "node_left":
            left[node] = event.at
    nodes = []
    for node, event in joined.items():
        prefix = f"system/{node}/"
        times = [s.last_time for key, s in stats.items() if key.startswith(prefix)]
        last_seen = max(times, default=event.at)
        interval = event.payload.get("interval")
        if node in left:
            state = "left"
        elif run.status != RunStatus.RUNNING:
            state = "silent"
        else:
            every = interval if isinstance(interval, int | float) else None
            quiet = effective_status(RunStatus.RUNNING, last_seen, every, now=now)
            state = "silent" if quiet == RunStatus.CRASHED else "sampling"
        nodes.append(
            {
                "node": node,
                "rank": event.payload.get("rank"),
                "state": state,
                "joined_at": event.at,
                "last_seen": last_seen,
                "left_at": left.get(node),
            }
        )
    return nodes


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config as ``{"optim.lr": 0.1, ...}``; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def config_diff(runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """The config keys whose values differ between ``runs`` (a key a run lacks is
    ``None`` for it), as ``{"key": ..., "values": [one per run]}`` sorted by key."""
    return [{"key": key, "values": values} for key, values, same in _config_rows(runs) if not same]


def config_same(runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """The config keys every one of ``runs`` holds with the same value, as
    ``{"key": ..., "value": ...}`` sorted by key: what `config_diff` leaves out."""
    return [{"key": key, "value": values[0]} for key, values, same in _config_rows(runs) if same]


def _config_rows(runs: Sequence[RunRecord]) -> Iterator[tuple[str, list[Any], bool]]:
    """Each flattened config key of any run, sorted: its value in each run, and whether
    every run holds it with one value."""
    flats = [flatten_config(r.config) for r in runs]
    for key in sorted(set().union(*flats)):
        values = [flat.get(key) for flat in flats]
        texts = {json.dumps(v, sort_keys=True, default=str) for v in values}
        yield key, values, len(texts) == 1 and all(key in flat for flat in flats)


def lower_is_better(key: str) -> bool:
    """Whether the best value of metric ``key`` is its lowest (losses, error rates)."""
    last = key.rsplit("/", 1)[-1].lower()
    return any(last == word or last.endswith(("_" + word, "-" + word)) for word in _LOWER_IS_BETTER)


def metrics_side_by_side(
    stats: Sequence[Mapping[str, MetricStats]],
) -> list[dict[str, Any]]:
    """For each training/evaluation metric of any run: its final and best value in each
    run (``None`` where a run lacks it). System metrics are left out."""
    keys = sorted({k for s in stats for k in s if not k.startswith("system/")})
    rows = []
    for key in keys:
        found = [s.get(key) for s in stats]
        rows.append(
            {
                "key": key,
                "final": [None if m is None else m.last_value for m in found],
                "best": [None if m is None else _best(key, m) for m in found],
            }
        )
    return rows


def _best(key: str, stats: MetricStats) -> float:
    return stats.min if lower_is_better(key) else stats.max


def lineage_view(
    store: Store,
    root: RunRecord | Artifact,
    *,
    depth: int | None = None,
    width: int | None = None,
) -> dict[str, Any]:
    """The lineage of a run or of one artifact version, as `tracker lineage` (text and
    ``--json``) and the dashboard give it: the graph both ways within ``depth`` edges,
    at most ``width`` nodes at each distance each way (`tracker.lineage`; all without),
    read in two queries whatever its length.

    ``root``, ``depth`` and ``width``; ``nodes``, each with ``id`` (``run:ID``,
    ``version:DIGEST``, ``version:uri:URI`` or ``evaluation:EVAL_ID``), ``kind``
    (``run``, ``version`` or ``evaluation``), ``upstream`` and ``downstream`` (its
    distance from the root that way, or ``None``), ``more`` (links past ``depth``) and
    ``run`` (``{"id", "name"}``), ``artifact`` (the producer's record of the version,
    else its first user's) or ``evaluation`` (`_evaluation_json`); ``hidden``, the nodes
    left out past ``width``: each ``hops`` (negative upstream) and ``nodes`` (how many);
    ``edges``, each ``from``, ``to``, ``kind`` (``produced``: run → version, ``used``:
    version → run, ``evaluated``: version → evaluation), and the ``name`` and ``uri``
    that run recorded it by (a copy's path; an evaluation's task and the path it
    loaded); ``names``, each run's name by id.
    For a run, also ``run`` and its own ``inputs`` (each with ``from``: the other runs
    that produced it) and ``outputs`` (each with ``used_by``: the other runs that used
    it), as its page lists them; for a version these are ``None`` and empty. And
    ``evaluations``: the scores of the root version, or of the run's outputs, each a dict
    (`tracker.records.Evaluation`), in recording order: the evaluation nodes below them.

    Evaluations are read by the digests and uris of the versions a walk downstream can
    reach (the root, the outputs of the runs downstream): one query
    (`tracker.store.base.version_scores`, one row per evaluating run and version) per
    `_REFS_AT_ONCE` of those, and matched here (`tracker.lineage.Links.add_evaluations`)."""
    with paused_gc():  # tens of thousands of records and dicts, none in a cycle
        return _lineage(store, root, depth, width)


def _lineage(
    store: Store, root: RunRecord | Artifact, depth: int | None, width: int | None
) -> dict[str, Any]:
    is_run = isinstance(root, RunRecord)
    if isinstance(root, RunRecord):
        seeds = [root.run_id]
    else:
        refs = [ref for ref in (root.digest, root.uri) if ref]
        seeds = sorted({a.run_id for a in store.artifacts(refs=refs) if a.same_content(root)})
    levels = fetch_levels(is_run, depth)
    up, down = (store.linked_artifacts(seeds, upstream=u, depth=levels) for u in (True, False))
    # A run both ways (the root's) has all its rows in both parts: they are taken once.
    links = Links([*up.artifacts, *(a for a in down.artifacts if a.run_id not in up.names)])
    # evaluations hang below versions reached downstream: the root, the outputs of runs there
    below = [a for a in down.artifacts if a.direction == "output"]
    links.add_evaluations(
        _scores_of(store, [root, *below] if isinstance(root, Artifact) else below)
    )
    names = {**down.names, **up.names}
    if isinstance(root, RunRecord):
        names[root.run_id] = root.name
        start = run_node(root.run_id)
    else:
        start = links.versions_of(root)[0]
    graph = walk(links, start, depth, width)
    order = dict.fromkeys([*graph.upstream, *graph.downstream])
    return {
        "root": start,
        "depth": depth,
        "width": width,
        "nodes": _nodes(order, graph, links, names),
        "hidden": [{"hops": hops, "nodes": n} for hops, n in sorted(graph.hidden.items())],
        "edges": [_edge(e) for e in graph.edges],
        "names": {run_id: names.get(run_id, "?") for run_id in sorted(_runs(order))},
        **_own_artifacts(root, links),
        "evaluations": _evaluations_of(links, _output_nodes(links, start) if is_run else [start]),
    }


def _runs(nodes: Iterable[str]) -> list[str]:
    return [node[len(RUN) :] for node in nodes if node.startswith(RUN)]


_REFS_AT_ONCE = 1_000
"""Most digests and uris one query asks for the scores of (each is bound twice: SQLite
binds at most 32,766 parameters a query, 999 before 3.32; PostgreSQL 65,535)."""


def _scores_of(store: Store, versions: Iterable[Artifact]) -> list[Evaluation]:
    """The scores of ``versions`` (by digest or uri), `_REFS_AT_ONCE` refs a query, each
    group of scores once."""
    refs = sorted({ref for a in versions for ref in (a.digest, a.uri) if ref})
    groups = {
        (g.run_id, g.uri, g.digest): g
        for start in range(0, len(refs), _REFS_AT_ONCE)
        for g in version_scores(store, refs=refs[start : start + _REFS_AT_ONCE])
    }
    return [e for g in groups.values() for e in g.evaluations]


def _output_nodes(links: Links, run: str) -> list[str]:
    """The version nodes of the outputs of the run whose node is ``run``, each once."""
    rows = links.outputs.get(run[len(RUN) :], ())
    return list(dict.fromkeys(links.versions_of(a)[0] for a in rows))


def _evaluations_of(links: Links, versions: Sequence[str]) -> list[dict[str, Any]]:
    """The scores of the evaluations below ``versions``, in recording order."""
    scores = [
        e
        for version in versions
        for edge in links.evaluated.get(version, ())
        for e in links.scores[edge.target]
    ]
    return [e.as_dict() for e in sorted(scores, key=lambda e: e.created_at)]


def _edge(edge: Edge) -> dict[str, Any]:
    a = edge.artifact
    return {"from": edge.source, "to": edge.target, "kind": edge.kind, "name": a.name, "uri": a.uri}


def _nodes(
    order: Iterable[str], graph: Graph, links: Links, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each node as JSON: one loop with its lookups bound (20,000 nodes: a third faster
    than a call a node)."""
    up, down, more = graph.upstream.get, graph.downstream.get, graph.more
    produced, used = links.produced.get, links.used.get
    shown = []
    for node in order:
        rows = produced(node) or used(node)  # `Links.artifact`
        if rows:
            kind, about, value = node[: node.index(":")], "artifact", artifact_json(rows[0])
        elif node.startswith(EVALUATION):
            kind, about = "evaluation", "evaluation"
            value = _evaluation_json(links.scores[node], names)
        else:
            run_id = node[len(RUN) :]
            kind, about, value = "run", "run", {"id": run_id, "name": names.get(run_id, "?")}
        shown.append(
            {
                "id": node,
                "kind": kind,  # the id's prefix: run, version (evaluation)
                "upstream": up(node),
                "downstream": down(node),
                "more": node in more,
                about: value,
            }
        )
    return shown


def _evaluation_json(scores: Sequence[Evaluation], names: Mapping[str, str]) -> dict[str, Any]:
    """One evaluation: ``id``, ``task``, ``run`` (``{"id", "name"}``: the run that
    evaluated), ``uri`` and ``digest`` (what it loaded), ``settings``, ``samples`` (its
    table, or ``None``), ``created_at`` and ``scores`` (each ``metric``, ``value``,
    ``stderr``)."""
    first = scores[0]
    return {
        "id": first.eval_id,
        "task": first.task,
        "run": {"id": first.run_id, "name": names.get(first.run_id, "?")},
        "uri": first.uri,
        "digest": first.digest,
        "settings": first.settings,
        "samples": first.samples,
        "created_at": first.created_at,
        "scores": [{"metric": e.metric, "value": e.value, "stderr": e.stderr} for e in scores],
    }


def _own_artifacts(root: RunRecord | Artifact, links: Links) -> dict[str, Any]:
    """A run's own inputs and outputs, each with the other runs linked through it."""
    if not isinstance(root, RunRecord):
        return {"run": None, "inputs": [], "outputs": []}
    me = root.run_id

    def others(rows: Sequence[Artifact]) -> list[str]:
        return sorted({a.run_id for a in rows} - {me})

    return {
        "run": {"id": me, "name": root.name, "project": root.project},
        "inputs": [
            {**artifact_json(a), "from": others([o for v in vs for o in links.produced.get(v, ())])}
            for a, vs in links.inputs.get(me, ())
        ],
        "outputs": [
            {**artifact_json(a), "used_by": others(links.used.get(links.versions_of(a)[0], ()))}
            for a in links.outputs.get(me, ())
        ],
    }


def run_html(run: RunRecord) -> str:
    """A run as Jupyter shows it (`RunRecord._repr_html_`): its fields, then its config
    and summary flattened, each cut to the first `_HTML_ROWS` keys, every text escaped."""
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.started_at))
    duration = run.duration
    fields = {
        "id": run.run_id,
        "project": run.project,
        "status": run.status,
        "sweep": run.sweep,
        "framework": run.framework,
        "tags": ", ".join(run.tags),
        "started": started,
        "duration": None if duration is None else f"{duration:.1f} s",
        "error": run.error,
    }
    parts = [
        f"<div><strong>{html.escape(run.name)}</strong>",
        _html_table("run", {k: v for k, v in fields.items() if v not in (None, "")}),
    ]
    for title, values in (("config", run.config), ("summary", run.summary)):
        flat = flatten_config(values)
        if flat:
            shown = dict(sorted(flat.items())[:_HTML_ROWS])
            more = len(flat) - len(shown)
            parts.append(
                _html_table(
                    title + (f" (first {len(shown)} of {len(flat)})" if more else ""), shown
                )
            )
    return "".join(parts) + "</div>"


def _html_table(title: str, rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left'>{html.escape(v if isinstance(v, str) else repr(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table><caption style='text-align:left'>{html.escape(title)}</caption>{body}</table>"
