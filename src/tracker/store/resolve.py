"""Naming a run the way people do: by id, by a unique start of its id, or by its name; and
an artifact version by where it is: its path, uri or digest."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.records import Artifact, RunRecord
from tracker.store.base import AmbiguousRunError, RunNotFoundError, Store

__all__ = ["latest_version", "resolve_run"]


def resolve_run(store: Store, ref: str) -> RunRecord:
    """The run ``ref`` names: the run of that exact id, else the one run whose id starts
    with ``ref`` or whose name is ``ref``.

    Raises `RunNotFoundError` when nothing matches and `AmbiguousRunError` (which lists
    the candidates) when several runs do.
    """
    if not ref:
        raise RunNotFoundError("an empty name names no run")
    found = store.find_runs(ref)
    for run in found:
        if run.run_id == ref:
            return run
    if len(found) == 1:
        return found[0]
    if not found:
        raise RunNotFoundError(f"no run has the id, id prefix or name {ref!r} in {store.uri}")
    raise AmbiguousRunError(ref, found)


def latest_version(store: Store, refs: Sequence[str]) -> Artifact | None:
    """The latest artifact version recorded at any of ``refs`` (paths, uris or digests),
    an output first (the version some run produced, not a run's record of using it);
    ``None`` where none is."""
    refs = sorted({ref for ref in refs if ref})
    if not refs:
        return None
    found = store.artifacts(refs=refs, direction="output") or store.artifacts(refs=refs)
    return found[-1] if found else None
