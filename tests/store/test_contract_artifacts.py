"""The artifacts part of the contract, on every built-in store: versions, updates, lineage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from old_schema import sqlite_file_at
from tracker import open_store, views
from tracker.records import Artifact, Evaluation, RunRecord
from tracker.store import RunNotFoundError, Store
from tracker.store.resolve import latest_version
from tracker.store.schema import MIGRATIONS
from tracker.store.sqlite import SqliteStore
from tracker.ui.api import ApiError, dispatch
from tracker.views import lineage_view


def _start(store: Store, run_id: str, project: str = "p") -> None:
    now = time.time()
    store.start_run(
        RunRecord(run_id, project, run_id, started_at=now, heartbeat_at=now), resume=False
    )


@pytest.fixture
def any_store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, with runs ``a`` and ``b`` of project ``p``."""
    store = open_store(store_uri)
    _start(store, "a")
    _start(store, "b")
    yield store
    store.close()


def _ckpt(step: int, digest: str, **more: object) -> Artifact:
    return Artifact(
        "a", "checkpoint", uri=f"/out/checkpoint-{step}", digest=digest, size=10, files=2,
        step=step, metrics={"eval/loss": 1.0 / step}, created_at=float(step), **more,  # type: ignore[arg-type]
    )  # fmt: skip


def test_versions_are_numbered_per_name_and_read_back(any_store: Store) -> None:
    """Three contents of one name are versions 1, 2, 3, read back whole and in order."""
    for i, step in enumerate((10, 20, 30)):
        any_store.log_artifact("a", _ckpt(step, f"sha256:{i}", meta={"note": "ü"}))
    found = any_store.artifacts(run_id="a")
    assert [(a.version, a.step, a.digest) for a in found] == [
        (1, 10, "sha256:0"), (2, 20, "sha256:1"), (3, 30, "sha256:2"),
    ]  # fmt: skip
    assert found[0] == _ckpt(10, "sha256:0", meta={"note": "ü"}).replace(version=1)
    assert any_store.artifacts(run_id="b") == []
    assert any_store.artifacts(run_id="a", kind="model") == []
    assert len(any_store.artifacts(project="p", kind="checkpoint")) == 3
    assert any_store.artifacts(project="other") == []
    assert len(any_store.artifacts(run_id="a", limit=2)) == 2


def test_the_same_content_twice_is_one_version_whose_state_follows(any_store: Store) -> None:
    """Logging a held version again updates its state and best mark; version and step stay."""
    any_store.log_artifact("a", _ckpt(10, "sha256:x"))
    any_store.log_artifact("a", _ckpt(10, "sha256:x").replace(state="gone", step=99))
    (only,) = any_store.artifacts(run_id="a")
    assert (only.version, only.state, only.step) == (1, "gone", 10)


def _waiting(step: int) -> Artifact:
    """The record of a version logged before its digest is done."""
    return _ckpt(step, "").replace(digest=None, size=None, files=None, state="unhashed")


def test_a_version_recorded_before_its_digest_is_completed_in_place(any_store: Store) -> None:
    """The unhashed record of a uri becomes the hashed version (same number); the same
    content logged again leaves one version; a failed hash keeps its error in meta."""
    any_store.log_artifact("a", _waiting(10))
    (waiting,) = any_store.artifacts(run_id="a")
    assert (waiting.version, waiting.state, waiting.digest) == (1, "unhashed", None)
    any_store.log_artifact("a", _ckpt(10, "sha256:x"))
    assert [(a.version, a.state, a.digest) for a in any_store.artifacts(run_id="a")] == [
        (1, "present", "sha256:x")
    ]
    any_store.log_artifact("a", _waiting(20).replace(uri="/out/copy-of-10"))
    any_store.log_artifact("a", _ckpt(10, "sha256:x").replace(uri="/out/copy-of-10"))
    assert [(a.version, a.digest) for a in any_store.artifacts(run_id="a")] == [(1, "sha256:x")]
    any_store.log_artifact("a", _waiting(30))
    any_store.log_artifact("a", _waiting(30).replace(state="gone", meta={"error": "deleted"}))
    found = [(a.version, a.step, a.state, a.meta) for a in any_store.artifacts(run_id="a")]
    assert found[1:] == [(2, 30, "gone", {"error": "deleted"})]


def test_best_is_one_version_per_run_and_kind(any_store: Store) -> None:
    """Marking a version best unmarks the run's others of that kind, not other kinds."""
    any_store.log_artifact("a", _ckpt(10, "sha256:1", best=True))
    any_store.log_artifact(
        "a", Artifact("a", "final", kind="model", uri="/m", digest="d", best=True)
    )
    any_store.log_artifact("a", _ckpt(20, "sha256:2", best=True))
    best = {(a.kind, a.step) for a in any_store.artifacts(run_id="a") if a.best}
    assert best == {("checkpoint", 20), ("model", None)}
    any_store.log_artifact("a", _ckpt(10, "sha256:1", best=True))
    best = {(a.kind, a.step) for a in any_store.artifacts(run_id="a") if a.best}
    assert best == {("checkpoint", 10), ("model", None)}


def test_without_a_digest_the_uri_tells_versions_apart(any_store: Store) -> None:
    """References (hub ids) are one version per uri."""
    hub = Artifact("a", "Qwen/Qwen2.5-0.5B", kind="model", direction="input",
                   uri="Qwen/Qwen2.5-0.5B", state="remote", meta={"revision": "abc"})  # fmt: skip
    any_store.log_artifact("a", hub)
    any_store.log_artifact("a", hub)
    (only,) = any_store.artifacts(run_id="a", direction="input")
    assert (only.version, only.meta, only.digest) == (1, {"revision": "abc"}, None)


def test_lineage_links_runs_by_digest_or_uri(any_store: Store) -> None:
    """b used a's checkpoint (same digest, other path) and a's hub model: lineage of both."""
    any_store.log_artifact("a", Artifact("a", "base", kind="model", direction="input",
                                         uri="Qwen/Q", state="remote"))  # fmt: skip
    any_store.log_artifact("a", _ckpt(10, "sha256:c"))
    any_store.log_artifact(
        "b", Artifact("b", "ck", direction="input", uri="/copied/ck", digest="sha256:c")
    )
    any_store.log_artifact("b", Artifact("b", "base", kind="model", direction="input",
                                         uri="Qwen/Q", state="remote"))  # fmt: skip
    of_b = any_store.lineage("b")
    assert [a.uri for a in of_b.inputs] == ["/copied/ck", "Qwen/Q"]
    assert [(a.run_id, a.uri) for a in of_b.sources] == [("a", "/out/checkpoint-10")]
    assert of_b.outputs == [] and of_b.consumers == []
    of_a = any_store.lineage("a")
    assert [(a.run_id, a.uri) for a in of_a.consumers] == [("b", "/copied/ck")]
    assert of_a.sources == []  # a hub model both used is not a link between them
    assert any_store.artifacts(refs=["sha256:c"], direction="output")[0].run_id == "a"


def test_a_version_is_found_by_path_or_digest_and_its_lineage_served(any_store: Store) -> None:
    """`latest_version`: the newest output at a path or digest, else the newest input there,
    else none; `/api/lineage?ref=` serves that version's lineage (`lineage_view`; a copy's
    path the same), 404 for a ref where nothing is recorded."""
    any_store.log_artifact("a", _ckpt(10, "sha256:c"))
    any_store.log_artifact("b", Artifact("b", "ck", direction="input", uri="/copied/ck",
                                         digest="sha256:c"))  # fmt: skip
    any_store.log_artifact("b", Artifact("b", "base", kind="model", direction="input",
                                         uri="Qwen/Q", state="remote"))  # fmt: skip
    made = latest_version(any_store, ["/out/checkpoint-10"])
    assert made is not None and (made.run_id, made.direction) == ("a", "output")
    assert latest_version(any_store, ["sha256:c"]) == made  # by digest: the output first
    copy = latest_version(any_store, ["/copied/ck", ""])  # only ever an input there
    assert copy is not None and (copy.run_id, copy.direction) == ("b", "input")
    assert latest_version(any_store, ["/nowhere"]) is None and latest_version(any_store, []) is None
    served = dispatch(any_store, "/api/lineage", {"ref": ["/out/checkpoint-10"]})
    assert served == lineage_view(any_store, made)
    assert served["root"] == "version:sha256:c"
    assert dispatch(any_store, "/api/lineage", {"ref": ["/copied/ck"]})["nodes"] == served["nodes"]
    assert {n["id"]: (n["upstream"], n["downstream"]) for n in served["nodes"]} == {
        "version:sha256:c": (0, 0), "run:a": (1, None), "run:b": (None, 1)
    }  # fmt: skip
    with pytest.raises(ApiError) as missing:
        dispatch(any_store, "/api/lineage", {"ref": ["/nowhere"]})
    assert missing.value.status == 404


def test_a_run_that_does_not_exist_takes_no_artifact(any_store: Store) -> None:
    """log_artifact to an unknown run raises RunNotFoundError (the writer keeps the call)."""
    if any_store.uri.startswith("jsonl"):
        pytest.skip("a JSON-lines store appends without reading")
    with pytest.raises(RunNotFoundError):
        any_store.log_artifact("nope", _ckpt(1, "d"))


def test_deleting_a_run_removes_its_artifacts(any_store: Store) -> None:
    """delete_run takes the run's artifacts with it; other runs keep theirs."""
    any_store.log_artifact("a", _ckpt(10, "d"))
    any_store.log_artifact("b", _ckpt(10, "d").replace(run_id="b"))
    any_store.delete_run("a")
    assert [a.run_id for a in any_store.artifacts()] == ["b"]


def _before_artifacts() -> int:
    """The schema version just before the artifacts table (whatever comes after it)."""
    return next(
        i for i, m in enumerate(MIGRATIONS) if any("CREATE TABLE artifacts" in s for s in m)
    )


def test_a_store_of_the_schema_before_artifacts_is_migrated(tmp_path: Path) -> None:
    """A SQLite file at the version before the artifacts table opens, keeps its runs and
    takes artifacts."""
    path = sqlite_file_at(tmp_path / "old.db", _before_artifacts())
    store = SqliteStore(path)
    assert [r.run_id for r in store.runs()] == ["old"]
    store.log_artifact("old", _ckpt(5, "sha256:o").replace(run_id="old"))
    assert [a.version for a in store.artifacts(run_id="old")] == [1]
    store.close()


def test_a_postgres_database_of_the_schema_before_artifacts_is_migrated(pg: Any) -> None:
    """A PostgreSQL database at the version before the artifacts table: the same."""
    psycopg = pytest.importorskip("psycopg")
    from tracker.store.postgres import PostgresDialect

    before = _before_artifacts()
    uri = pg.create_database("before_artifacts")
    with psycopg.connect(uri) as db:
        for version in range(before):
            for statement in MIGRATIONS[version]:
                db.execute(statement.format_map(PostgresDialect.types))
            for statement in PostgresDialect.tuning.get(version, ()):
                db.execute(statement)
        db.execute("CREATE TABLE tracker_schema (version INTEGER NOT NULL)")
        db.execute("INSERT INTO tracker_schema (version) VALUES (%s)", (before,))
        db.execute("INSERT INTO runs (run_id, project, name, status, started_at) "
                   "VALUES ('old', 'p', 'old', 'finished', 1.0)")  # fmt: skip
    store = open_store(uri)
    assert [r.run_id for r in store.runs()] == ["old"]
    store.log_artifact("old", _ckpt(5, "sha256:o").replace(run_id="old"))
    assert [a.version for a in store.artifacts(run_id="old")] == [1]
    store.close()


def _link(store: Store, run_id: str, used: str | None, made: str | None) -> None:
    """Run ``run_id`` (started here) used checkpoint ``used`` (by digest, from a copied
    path) and saved checkpoint ``made``."""
    _start(store, run_id)
    if used is not None:
        store.log_artifact(run_id, Artifact(run_id, "ckpt", direction="input",
                                            uri=f"/copy/{run_id}/{used}", digest=used))  # fmt: skip
    if made is not None:
        store.log_artifact(run_id, Artifact(run_id, "ckpt", uri=f"/out/{made}", digest=made))


def _reached(
    store: Store, run_ids: list[str], *, upstream: bool, depth: int | None = None
) -> list[str]:
    found = store.linked_artifacts(run_ids, upstream=upstream, depth=depth)
    assert set(found.names) == {a.run_id for a in found.artifacts}
    return sorted(found.names)


def test_linked_artifacts_follow_a_chain_both_ways_within_a_depth(
    any_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """base → s1 → d1 → e1: upstream of e1 reaches every run, downstream of s1 the later
    ones, each within ``depth`` links; a run beside the chain is never reached; many runs
    to start from are the same in several queries as in one."""
    any_store.log_artifact("a", Artifact("a", "base", kind="model", direction="input",
                                         uri="Qwen/Q", state="remote"))  # fmt: skip
    any_store.log_artifact("a", Artifact("a", "ckpt", uri="/out/s1", digest="s1"))
    _link(any_store, "d", "s1", "d1")
    _link(any_store, "e", "d1", "e1")
    _link(any_store, "x", None, "x1")  # b used nothing; x made something nobody used
    assert _reached(any_store, ["e"], upstream=True) == ["a", "d", "e"]
    assert _reached(any_store, ["e"], upstream=True, depth=1) == ["d", "e"]
    assert _reached(any_store, ["a"], upstream=False) == ["a", "d", "e"]
    assert _reached(any_store, ["a"], upstream=False, depth=0) == ["a"]
    assert _reached(any_store, ["d"], upstream=False) == ["d", "e"]
    found = any_store.linked_artifacts(["e"], upstream=True)
    assert [(a.run_id, a.direction, a.uri) for a in found.artifacts] == [
        ("a", "input", "Qwen/Q"), ("a", "output", "/out/s1"), ("d", "input", "/copy/d/s1"),
        ("d", "output", "/out/d1"), ("e", "input", "/copy/e/d1"), ("e", "output", "/out/e1"),
    ]  # fmt: skip
    assert found.names == {"a": "a", "d": "d", "e": "e"}
    assert any_store.linked_artifacts([], upstream=True) == ([], {})
    both = any_store.linked_artifacts(["e", "d", "x"], upstream=True)
    monkeypatch.setattr("tracker.store.sql._SEEDS_PER_QUERY", 2)  # SQL: one query per 2 runs
    assert any_store.linked_artifacts(["e", "d", "x"], upstream=True) == both
    assert sorted(both.names) == ["a", "d", "e", "x"]


def test_linked_artifacts_end_on_cycles_and_link_by_uri(any_store: Store) -> None:
    """a and b each used the other's checkpoint, c resumed from its own: each walk ends;
    a version without a digest (gone before it was hashed) links by its uri."""
    any_store.log_artifact("a", Artifact("a", "ckpt", uri="/out/a1", digest="a1"))
    any_store.log_artifact("b", Artifact("b", "ckpt", uri="/out/b1", digest="b1"))
    any_store.log_artifact(
        "a", Artifact("a", "ckpt", direction="input", uri="/out/b1", digest="b1")
    )
    any_store.log_artifact("b", Artifact("b", "ckpt", direction="input", uri="/x/a1", digest="a1"))
    _link(any_store, "c", "c1", "c1")
    for upstream in (True, False):
        assert _reached(any_store, ["a"], upstream=upstream) == ["a", "b"]
        assert _reached(any_store, ["a"], upstream=upstream, depth=5) == ["a", "b"]
        assert _reached(any_store, ["c"], upstream=upstream) == ["c"]
    _start(any_store, "g")
    any_store.log_artifact("g", Artifact("g", "ckpt", uri="/out/g1", state="gone"))
    _start(any_store, "h")
    any_store.log_artifact(
        "h", Artifact("h", "ckpt", direction="input", uri="/out/g1", digest="g1")
    )
    assert _reached(any_store, ["h"], upstream=True) == ["g", "h"]
    assert _reached(any_store, ["g"], upstream=False) == ["g", "h"]


def test_a_lineage_width_enters_the_first_nodes_at_each_distance_and_counts_the_rest(
    any_store: Store,
) -> None:
    """a's checkpoint used by u0 ... u4, each saving its own, and u0's by w: with width 2,
    a's lineage enters u0 and u1 (the first reached) and their checkpoints, counts the three
    others as hidden two hops on, and walks past none of them (no w, no edge to u2);
    upstream of w, width 1 keeps the single path. Without a width: everything, none hidden."""
    any_store.log_artifact("a", Artifact("a", "ckpt", uri="/out/a1", digest="a1"))
    for i in range(5):
        _link(any_store, f"u{i}", "a1", f"u{i}1")
    _link(any_store, "w", "u01", "w1")
    wide = lineage_view(any_store, any_store.get_run("a"))
    assert wide["hidden"] == [] and wide["width"] is None
    assert sum(n["kind"] == "run" for n in wide["nodes"]) == 7
    view = lineage_view(any_store, any_store.get_run("a"), width=2)
    shown = [(n["id"], n["downstream"]) for n in view["nodes"]]
    assert shown == [
        ("run:a", 0), ("version:a1", 1), ("run:u0", 2), ("run:u1", 2),
        ("version:u01", 3), ("version:u11", 3), ("run:w", 4), ("version:w1", 5),
    ]  # fmt: skip
    assert view["hidden"] == [{"hops": 2, "nodes": 3}] and view["width"] == 2
    ends = {e["from"] for e in view["edges"]} | {e["to"] for e in view["edges"]}
    assert ends == {node for node, _ in shown}
    narrow = lineage_view(any_store, any_store.get_run("w"), width=1)
    assert [(n["id"], n["upstream"]) for n in narrow["nodes"]] == [
        ("run:w", 0), ("version:u01", 1), ("run:u0", 2), ("version:a1", 3), ("run:a", 4),
        ("version:w1", None),
    ]  # fmt: skip
    assert narrow["hidden"] == []
    answer = dispatch(any_store, "/api/runs/a/lineage", {"width": ["2"], "depth": ["2"]})
    assert answer["hidden"] == [{"hops": 2, "nodes": 3}]
    assert [n["id"] for n in answer["nodes"]] == ["run:a", "version:a1", "run:u0", "run:u1"]
    with pytest.raises(ApiError, match="width must be an integer"):
        dispatch(any_store, "/api/runs/a/lineage", {"width": ["wide"]})


@pytest.mark.parametrize("refs_at_once", [1_000, 1])
def test_lineage_has_evaluations_below_their_versions(
    any_store: Store, refs_at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scores recorded before the checkpoint they are of (by digest, of a copy or of its
    own path) and of the hub model (by uri) are evaluation nodes one hop below those
    versions (a's lineage does not go down from its input; the hub model's does), scores
    of a version not in
    the lineage are not; each once, whether the store is asked for all the versions' refs
    in one query or one ref a query (``1``: a group found by digest and by uri)."""
    monkeypatch.setattr(views, "_REFS_AT_ONCE", refs_at_once)
    _start(any_store, "ev", project="evals")
    any_store.log_evaluations("ev", [
        Evaluation("ev", "e1", "arc", "acc,none", 0.5, 0.1, "/copy/ck", "sha256:c",
                   created_at=1.0),
        Evaluation("ev", "e1", "arc", "acc_norm,none", 0.25, None, "/copy/ck", "sha256:c",
                   created_at=1.0),
        Evaluation("ev", "e2", "arc", "acc,none", 0.125, None, "Qwen/Q", created_at=2.0),
        Evaluation("ev", "e3", "arc", "acc,none", 0.9, None, "/elsewhere", "sha256:x",
                   created_at=3.0),
        Evaluation("ev", "e4", "wiki", "loss", 2.0, None, "/out/checkpoint-10", "sha256:c",
                   created_at=4.0),
    ])  # fmt: skip
    any_store.log_artifact("a", Artifact("a", "base", kind="model", direction="input",
                                         uri="Qwen/Q", state="remote"))  # fmt: skip
    any_store.log_artifact("a", _ckpt(10, "sha256:c"))
    view = lineage_view(any_store, any_store.get_run("a"))
    evaluations = {n["id"]: n for n in view["nodes"] if n["kind"] == "evaluation"}
    assert {k: (n["upstream"], n["downstream"]) for k, n in evaluations.items()} == {
        "evaluation:e1": (None, 2),
        "evaluation:e4": (None, 2),
    }
    scores = evaluations["evaluation:e1"]["evaluation"]["scores"]
    assert [(s["metric"], s["value"]) for s in scores] == [
        ("acc,none", 0.5),
        ("acc_norm,none", 0.25),
    ]
    assert ("version:sha256:c", "evaluation:e1", "evaluated") in {
        (e["from"], e["to"], e["kind"]) for e in view["edges"]
    }
    assert [e["eval_id"] for e in view["evaluations"]] == ["e1", "e1", "e4"]
    (hub,) = any_store.artifacts(refs=["Qwen/Q"])
    of_hub = lineage_view(any_store, hub)
    below = {n["id"]: n["downstream"] for n in of_hub["nodes"] if n["kind"] == "evaluation"}
    assert below == {
        "evaluation:e2": 1,
        "evaluation:e1": 3,
        "evaluation:e4": 3,
    }  # its own; its user's output's
    assert [e["value"] for e in of_hub["evaluations"]] == [0.125]
