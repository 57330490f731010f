"""A measured prototype, not the package's code: the lineage's JSON with each version's
record made by SQLite (``json_object``), the walk on light row tuples and the text
written straight, against `tracker.views.lineage_view` + `tracker.views.dumps`.

Why it is here: docs/benchmarks.md ("Lineage: the floor") shows that 10,000 linked runs
cannot reach 200 ms while every row is a Python record and every node a dict; this is
the design that does, kept runnable for whoever lands it. What it leaves out, and a real
one must do: ``more`` (``--depth``), evaluation nodes, ``names``, the run root's
``inputs``/``outputs``/``evaluations``, a version no run produced; ``created_at`` at
full precision (SQLite's ``json_object`` writes 15 digits: ``printf('%.17g')``); stored
``metrics``/``meta`` text with a bare ``NaN`` (SQLite 3.40's ``json()`` rejects it:
splice the text, and fall back to `tracker.views.dumps` for such a row); PostgreSQL
(``json_build_object``) and the stores without SQL (the same text from `Artifact` s).

Run: ``python benchmarks/proto_lineage_sql_json.py`` (fills 10,000 runs as a chain, as
``bench_lineage.py --shape chain`` does; SQLite only). It checks that its nodes' ids,
their order, distances and the edges are the view's, and prints both CPU times.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from json.encoder import encode_basestring as text_of  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent)]

from bench_lineage import fill  # noqa: E402

from tracker import open_store  # noqa: E402
from tracker.records import paused_gc  # noqa: E402
from tracker.store import sql  # noqa: E402
from tracker.views import dumps, lineage_view  # noqa: E402

RECORD = (  # the view's `artifact_json` of a row, made by SQLite
    "json_object('run_id', a.run_id, 'name', a.name, 'version', a.version, 'kind', a.kind, "
    "'direction', a.direction, 'uri', a.uri, 'digest', a.digest, 'size', a.size, "
    "'files', a.files, 'step', a.step, 'metrics', json(a.metrics), 'state', a.state, "
    "'best', json(CASE WHEN a.best THEN 'true' ELSE 'false' END), "
    "'created_at', a.created_at, 'meta', json(a.meta), 'kind_label', CASE WHEN "
    "a.kind = 'checkpoint' AND json_extract(a.meta, '$.weights') = 'adapter' "
    "THEN 'adapter-checkpoint' ELSE a.kind END)"
)
COLUMNS = "a.run_id, a.direction, a.uri, a.digest, a.name, " + RECORD
Row = tuple[Any, ...]  # run_id, direction, uri, digest, name, record, run's name, id


def linked(store: Any, root: str, upstream: bool) -> list[Row]:
    """The store's recursive query, each row light: the links' columns and its record."""
    mine, other = ("input", "output") if upstream else ("output", "input")
    query = sql._LINKED_RUNS.format(
        depth="", zero="", next="", limit="", seeds="run_id = ?", columns=COLUMNS
    )
    return list(store._query(query, [root, mine, other]))


def version(row: Row) -> str:
    return "version:" + (row[3] or "uri:" + row[2])


class Index:
    """Who produced and who used each version among light rows (`tracker.lineage.Links`)."""

    def __init__(self, rows: list[Row]) -> None:
        by_digest: dict[str, list[str]] = {}
        by_uri: dict[str, list[tuple[str, str | None]]] = {}
        self.outputs: dict[str, list[tuple[str, Row]]] = {}
        self.produced: dict[str, list[Row]] = {}
        for r in rows:
            if r[1] == "output":
                v = version(r)
                self.outputs.setdefault(r[0], []).append((v, r))
                self.produced.setdefault(v, []).append(r)
                if r[3]:
                    by_digest.setdefault(r[3], []).append(v)
                by_uri.setdefault(r[2], []).append((v, r[3]))
        self.inputs: dict[str, list[tuple[Row, list[str]]]] = {}
        self.used: dict[str, list[Row]] = {}
        for r in rows:
            if r[1] == "input":
                found = dict.fromkeys(by_digest.get(r[3], ())) if r[3] else {}
                for v, digest in by_uri.get(r[2], ()):
                    if not (digest and r[3]):
                        found[v] = None
                versions = list(found) or [version(r)]
                self.inputs.setdefault(r[0], []).append((r, versions))
                for v in versions:
                    self.used.setdefault(v, []).append(r)

    def steps(self, node: str, up: bool) -> list[tuple[str, str, str, Row, str]]:
        """The edges at ``node`` that way, each with the node at its other end."""
        if node.startswith("run:"):
            if up:
                return [
                    (v, node, "used", r, v) for r, vs in self.inputs.get(node[4:], ()) for v in vs
                ]
            return [(node, v, "produced", r, v) for v, r in self.outputs.get(node[4:], ())]
        if up:
            return [("run:" + r[0], node, "produced", r, "run:" + r[0])
                    for r in self.produced.get(node, ())]  # fmt: skip
        return [(node, "run:" + r[0], "used", r, "run:" + r[0]) for r in self.used.get(node, ())]


def walk(index: Index, start: str) -> tuple[list[dict[str, int]], dict[tuple[str, str, str], Row]]:
    """Each node's distance upstream and downstream of ``start``, and the edges followed."""
    reached = [{start: 0}, {start: 0}]
    edges: dict[tuple[str, str, str], Row] = {}
    for up, seen in zip((True, False), reached, strict=True):
        queue = deque([start])
        while queue:
            node = queue.popleft()
            hops = seen[node] + 1
            for source, target, kind, r, other in index.steps(node, up):
                edges.setdefault((source, target, kind), r)
                if other not in seen:
                    seen[other] = hops
                    queue.append(other)
    return reached, edges


def lineage_json(store: Any, root: str) -> str:
    """The lineage of run ``root`` as JSON text: nodes (ids, distances, records) and edges."""
    with paused_gc():
        up = linked(store, root, True)
        in_up = {r[0] for r in up}
        rows = sorted([*up, *(r for r in linked(store, root, False) if r[0] not in in_up)],
                      key=lambda r: r[-1])  # fmt: skip
        names = {r[0]: r[6] for r in rows}
        index = Index(rows)
        start = "run:" + root
        reached, edges = walk(index, start)
        upward, downward = reached[0].get, reached[1].get
        nodes = []
        for node in dict.fromkeys([*reached[0], *reached[1]]):
            u, d = upward(node), downward(node)
            if node.startswith("run:"):
                kind = "run"
                about = f'"run": {{"id": {text_of(node[4:])}, "name": {text_of(names[node[4:]])}}}'
            else:
                kind = "version"
                about = f'"artifact": {(index.produced.get(node) or index.used[node])[0][5]}'
            nodes.append(
                f'{{"id": {text_of(node)}, "kind": "{kind}", "upstream": '
                f'{"null" if u is None else u}, "downstream": {"null" if d is None else d}, '
                f'"more": false, {about}}}'
            )
        links = [
            f'{{"from": {text_of(a)}, "to": {text_of(b)}, "kind": "{kind}", '
            f'"name": {text_of(r[4])}, "uri": {text_of(r[2])}}}'
            for (a, b, kind), r in edges.items()
        ]
        return (
            f'{{"root": {text_of(start)}, "depth": null, "nodes": [{", ".join(nodes)}], '
            f'"edges": [{", ".join(links)}]}}'
        )


def cpu_ms(call: Callable[[], object], repeats: int = 7) -> str:
    call()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append((time.process_time() - start) * 1000)
    return f"min {min(times):6.1f} median {statistics.median(times):6.1f} ms CPU"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/chain.db")
        root = fill(store, 10_000, "chain")[5_000]
        record = store.get_run(root)
        view = lineage_view(store, record)
        made = json.loads(lineage_json(store, root))
        assert [n["id"] for n in made["nodes"]] == [n["id"] for n in view["nodes"]]
        assert [(n["upstream"], n["downstream"]) for n in made["nodes"]] == [
            (n["upstream"], n["downstream"]) for n in view["nodes"]
        ]
        assert made["edges"] == view["edges"]
        print(f"load {os.getloadavg()[0]:.1f}")
        print(f"view + dumps (the API today)  {cpu_ms(lambda: dumps(lineage_view(store, record)))}")
        print(f"prototype, JSON text          {cpu_ms(lambda: lineage_json(store, root))}")
        store.close()


if __name__ == "__main__":
    main()
