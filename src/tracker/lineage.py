"""Lineage as a graph: runs and the artifact versions they produced and used.

Nodes are runs (``run:ID``), versions (``version:IDENTITY``) and evaluations
(``evaluation:EVAL_ID``: one task's scores under one set of settings); an id's prefix is
its kind. Edges are ``produced`` (a run → a version it logged as an output), ``used`` (a
version → a run that logged it as an input), each carrying that run's own record of the
version (its uri there, its meta), and ``evaluated`` (a version → an evaluation of it,
carrying what the evaluation loaded: its uri and digest, named by its task). An
evaluation is a consumer of the version, as a run that used it is, and ends there.

A version is its content (`Artifact.identity`: the digest, else the uri). A run's input is
the version some recorded run produced where `Artifact.same_content` says so (equal
digests; without both, equal uris), so a checkpoint copied elsewhere still links. An input
no recorded run produced (a hub id, a dataset) is a version of its own, without producer.
An evaluation's version is found by the same rule (`Links.add_evaluations`).

A walk goes both ways from its root: upstream (a run to the versions it used, a version to
the runs that produced it) and downstream (a run to its outputs, a version to the runs
that used it). Each node is entered once per direction, so a cycle ends (a run that
resumed from its own checkpoint, A → B → A); the edge that closes it is kept. ``depth``
counts edges: run → its checkpoint is one hop, checkpoint → the run that used it another.
A node at the limit that has links further is marked ``more``. ``width`` caps the nodes
entered at each distance each way (a checkpoint thousands of runs started from): the
first reached are entered, the others at that distance are counted (`Graph.hidden`) and
neither they nor their edges are walked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from tracker.records import Artifact, Evaluation

__all__ = [
    "EVALUATION",
    "RUN",
    "VERSION",
    "Edge",
    "Graph",
    "Links",
    "fetch_levels",
    "reachable_runs",
    "run_node",
    "walk",
]

RUN = "run:"
VERSION = "version:"
EVALUATION = "evaluation:"


def run_node(run_id: str) -> str:
    """The node of run ``run_id``."""
    return RUN + run_id


class Edge(NamedTuple):
    """``source`` → ``target``: ``produced`` (run → version) or ``used`` (version → run),
    with the run's record of the version; ``evaluated`` (version → evaluation), with what
    the evaluation loaded."""

    source: str
    target: str
    kind: str
    artifact: Artifact


class Links:
    """Who produced and who used each version among some artifact rows, and each run's
    inputs and outputs; every lookup a dict's."""

    def __init__(self, rows: Iterable[Artifact]) -> None:
        rows = list(rows)
        self._outputs_by_digest: dict[str, list[Artifact]] = {}
        self._outputs_by_uri: dict[str, list[Artifact]] = {}
        self.inputs: dict[str, list[tuple[Artifact, list[str]]]] = {}
        """Each run's inputs, each with the nodes of the versions it is."""
        self.outputs: dict[str, list[Artifact]] = {}
        """Each run's outputs, in logging order."""
        self.produced: dict[str, list[Artifact]] = {}
        """The output rows of each version's node."""
        self.used: dict[str, list[Artifact]] = {}
        """The input rows of each version's node."""
        self.evaluated: dict[str, list[Edge]] = {}
        """The ``evaluated`` edges out of each version's node."""
        self.scores: dict[str, list[Evaluation]] = {}
        """The scores of each evaluation's node (`add_evaluations`)."""
        self._evaluated_from: dict[str, list[Edge]] = {}
        for row in rows:
            if row.direction == "output":
                self.outputs.setdefault(row.run_id, []).append(row)
                self.produced.setdefault(VERSION + row.identity, []).append(row)
                if row.digest:
                    self._outputs_by_digest.setdefault(row.digest, []).append(row)
                self._outputs_by_uri.setdefault(row.uri, []).append(row)
        for row in rows:
            if row.direction == "input":
                nodes = self.versions_of(row)
                self.inputs.setdefault(row.run_id, []).append((row, nodes))
                for node in nodes:
                    self.used.setdefault(node, []).append(row)

    def versions_of(self, artifact: Artifact) -> list[str]:
        """The nodes of the versions ``artifact`` is: an output's own; for an input, those
        of the outputs with the same content, else its own."""
        if artifact.direction == "output":
            return [VERSION + artifact.identity]
        digest = artifact.digest
        nodes = dict.fromkeys(
            VERSION + o.identity for o in self._outputs_by_digest.get(digest or "", ())
        )
        for o in self._outputs_by_uri.get(artifact.uri, ()):
            if not (o.digest and digest):
                nodes[VERSION + o.identity] = None
        return list(nodes) or [VERSION + artifact.identity]

    def add_evaluations(self, scores: Iterable[Evaluation]) -> None:
        """Each evaluation among ``scores`` as a node below the versions it is of: those
        an input of its uri and digest would be (`versions_of`, once per uri and digest).
        Its scores are kept in recording order."""
        versions: dict[tuple[str, str | None], list[str]] = {}
        for e in sorted(scores, key=lambda e: e.created_at):
            node = EVALUATION + e.eval_id
            held = self.scores.get(node)
            if held is not None:
                held.append(e)
                continue
            self.scores[node] = [e]
            loaded = Artifact(e.run_id, e.task, direction="input", uri=e.uri, digest=e.digest)
            of = versions.get((e.uri, e.digest))
            if of is None:
                of = versions[e.uri, e.digest] = self.versions_of(loaded)
            for version in of:
                edge = Edge(version, node, "evaluated", loaded)
                self.evaluated.setdefault(version, []).append(edge)
                self._evaluated_from.setdefault(node, []).append(edge)

    def upstream(self, node: str) -> Iterator[Edge]:
        """The edges into ``node``: the versions a run used, the runs that produced a
        version, the versions an evaluation is of."""
        if node.startswith(RUN):
            for row, versions in self.inputs.get(node[len(RUN) :], ()):
                for version in versions:
                    yield Edge(version, node, "used", row)
        elif node.startswith(EVALUATION):
            yield from self._evaluated_from.get(node, ())
        else:
            for row in self.produced.get(node, ()):
                yield Edge(run_node(row.run_id), node, "produced", row)

    def downstream(self, node: str) -> Iterator[Edge]:
        """The edges out of ``node``: a run's outputs, the runs that used a version and
        its evaluations (an evaluation's node has none)."""
        if node.startswith(RUN):
            for row in self.outputs.get(node[len(RUN) :], ()):
                yield Edge(node, VERSION + row.identity, "produced", row)
        else:
            for row in self.used.get(node, ()):
                yield Edge(node, run_node(row.run_id), "used", row)
            yield from self.evaluated.get(node, ())

    def artifact(self, node: str) -> Artifact | None:
        """The record that stands for a version's node: its first producer's, else its
        first user's (``None`` for a run's node)."""
        rows = self.produced.get(node) or self.used.get(node)
        return rows[0] if rows else None


class Graph(NamedTuple):
    """What a walk reached: each node upstream and downstream of ``root`` with its
    distance in edges, in the order reached (``root`` in both, at 0); the edges followed;
    the nodes at the depth limit with links further; and how many nodes past the width
    limit were left out at each distance, upstream as negative (``{-3: 9900}``)."""

    root: str
    upstream: dict[str, int]
    downstream: dict[str, int]
    edges: list[Edge]
    more: set[str]
    hidden: dict[int, int]


def walk(links: Links, root: str, depth: int | None = None, width: int | None = None) -> Graph:
    """The nodes and edges within ``depth`` edges of ``root`` (all without), upstream
    and downstream, at most ``width`` nodes at each distance each way (all without)."""
    edges: dict[tuple[str, str, str], Edge] = {}
    more: set[str] = set()
    hidden: dict[int, int] = {}
    reached = []
    for up in (True, False):
        step = links.upstream if up else links.downstream
        seen = {root: 0}
        entered: dict[int, int] = {}  # how many nodes were entered at each distance
        left_out: dict[str, int] = {}  # the nodes past the width, with their distance
        queue = deque([root])
        while queue:
            node = queue.popleft()
            hops = seen[node]
            if depth is not None and hops >= depth:
                if next(step(node), None) is not None:
                    more.add(node)
                continue
            for edge in step(node):
                other = edge.source if up else edge.target
                if left_out and other in left_out:
                    continue  # never entered, not even farther on
                if other not in seen:
                    if width is not None and entered.get(hops + 1, 0) >= width:
                        left_out[other] = hops + 1
                        continue
                    entered[hops + 1] = entered.get(hops + 1, 0) + 1
                    seen[other] = hops + 1
                    queue.append(other)
                edges.setdefault((edge.source, edge.target, edge.kind), edge)
        reached.append(seen)
        for hops in left_out.values():
            at = -hops if up else hops
            hidden[at] = hidden.get(at, 0) + 1
    return Graph(root, reached[0], reached[1], list(edges.values()), more, hidden)


def fetch_levels(root_is_run: bool, depth: int | None) -> int | None:
    """How many links from the root's runs a store must follow (`reachable_runs`) for a
    walk of ``depth`` to see, besides its nodes, whether each at the limit has more: from a
    run, its runs at even distances; from a version, the runs around it at odd ones."""
    if depth is None:
        return None
    return (depth + 1) // 2 if root_is_run else depth // 2


def reachable_runs(
    links: Links, run_ids: Sequence[str], *, upstream: bool, depth: int | None = None
) -> list[str]:
    """``run_ids`` and the runs they lead to within ``depth`` links (all without):
    upstream, the runs that produced their inputs, those runs' inputs' producers, ...;
    downstream, the runs that used their outputs, and on. Each run once, in the order
    reached (a cycle ends)."""
    step: Callable[[str], Iterator[Edge]] = links.upstream if upstream else links.downstream
    seen = dict.fromkeys(run_node(r) for r in run_ids)
    level = list(seen)
    while level and (depth is None or depth > 0):
        depth = None if depth is None else depth - 1
        after: list[str] = []
        for run in level:
            for to_version in step(run):
                for to_run in step(to_version.source if upstream else to_version.target):
                    other = to_run.source if upstream else to_run.target
                    if other not in seen and to_run.kind != "evaluated":
                        seen[other] = None
                        after.append(other)
        level = after
    return [node[len(RUN) :] for node in seen]
