"""Each run's colour on the dashboard, the same on every page whatever is filtered.

A run's colour is an index the pages map to a colour (``colorOf`` in
``static/common.js``): the run's rank among its project's runs by start time, the first run
0. Ranks depend on the project only, never on which runs a page lists, so a filter, a
sort or a hidden run never changes a colour, and a project's runs differ in colour. The
newest `MAX_RANKED` runs of a project are ranked; an older one gets an index past them.

Ranking reads a project's run records (a few ms for 1,000 runs, ~150 ms for 5,000 on
SQLite: ``benchmarks/bench_colors.py``), so the ranks of a project are kept between
requests until its runs change: until it has another number of runs or another newest run
(both read at the cost of a count and one row).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from tracker.records import RunRecord
from tracker.store.base import RunQuery, Store, count_runs

__all__ = ["MAX_RANKED", "color_ranks"]

MAX_RANKED = 5_000
CACHED_PROJECTS = 64

_Version = tuple[str, str, int, str, float]
_ranks: OrderedDict[_Version, dict[str, int]] = OrderedDict()
_lock = threading.Lock()  # the server answers on several threads


def color_ranks(store: Store, records: Sequence[RunRecord]) -> list[int]:
    """The colour index of each of ``records``: its rank among its project's runs by start
    time (0 for the first)."""
    ranks: dict[str, int] = {}
    for project in {r.project for r in records}:
        ranks.update(_project_ranks(store, project))
    return [ranks.get(r.run_id, MAX_RANKED + i) for i, r in enumerate(records)]


def _project_ranks(store: Store, project: str) -> dict[str, int]:
    newest = store.runs(RunQuery(project=project, limit=1))
    if not newest:
        return {}
    version = (
        store.uri,
        project,
        count_runs(store, RunQuery(project=project)),
        newest[0].run_id,
        newest[0].started_at,
    )
    with _lock:
        found = _ranks.get(version)
        if found is not None:
            _ranks.move_to_end(version)
            return found
    runs = store.runs(RunQuery(project=project, limit=MAX_RANKED))
    ordered = sorted(runs, key=lambda r: (r.started_at, r.run_id))
    found = {r.run_id: i for i, r in enumerate(ordered)}
    with _lock:
        _ranks[version] = found
        while len(_ranks) > CACHED_PROJECTS:
            _ranks.popitem(last=False)
    return found
