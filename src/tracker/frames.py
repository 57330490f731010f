"""Runs as data frames, for notebooks: ``import tracker.frames as tf``.

`runs` is one row a run: who and how it went (``run_id``, ``name``, ``project``,
``status``, ``framework``, ``sweep``, ``tags``, ``started_at``, ``ended_at``,
``duration_s``), then one column for each leaf of the configs (``config.optim.lr``) and of
the summaries (``summary.train/runtime``). A column of numbers holds numbers (integers
stay integers, a missing value is ``<NA>`` or ``NaN``); a column whose values are lists or
of mixed types across runs holds them as they are, as Python objects.

`history` is one row a metric point: ``run_id``, ``key``, ``step``, ``value``, ``time``
(unix seconds), each run's metrics in the order asked, each metric's points in step order,
exactly the points `Store.history` returns (a run still being written: what is stored
now). A ``bench/<task>/<metric>`` key a run does not store is its checkpoints' scores,
read from their evaluations at the checkpoints' steps (`tracker.leaderboard.bench_history`).
It is built from the stored packed columns (`Store.iter_history`) without a Python
object per point, so millions of points take a fraction of a second; ``run_id`` and
``key`` are categoricals (a byte or two a point). ``wide=True`` pivots it to one row per
run and step with a column per metric; ``backend="polars"`` makes a polars frame and
``arrow=True`` a pyarrow table.

`evaluations` is one row a score of an evaluated version (docs/evaluations.md): the
version a run produced that it is of (``run_id``, ``name``, ``version``, ``step``,
``kind``, ``state``; missing where no run's output matches), its ``uri`` and ``digest``,
then the evaluation (``eval_run_id``, ``eval_id``, ``task``, ``metric``, ``column``
as `tracker evals` names it, ``value``, ``stderr``, ``created_at``) and one
column for each leaf of its settings (``settings.num_fewshot``), in recording order.

pandas, polars and pyarrow are optional (``pip install 'tracker[frames]'``): each is
imported when first needed, and a missing one raises an `ImportError` naming the extra.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from tracker.groups import MetricNotFoundError
from tracker.integrations import requires_extra
from tracker.records import RunRecord, Series, paused_gc
from tracker.store.base import RunQuery, Store, metric_stats_of
from tracker.store.registry import open_store
from tracker.store.resolve import resolve_run

if TYPE_CHECKING:
    import numpy
    import pandas
    import polars
    import pyarrow

__all__ = ["MetricNotFoundError", "evaluations", "history", "runs", "runs_frame"]

FrameBackend = Literal["pandas", "polars"]
StoreLike = Store | str | None
"""A store, a store URI, or ``None`` for the store new runs write to (``TRACKER_URI``)."""

_RUN_COLUMNS = ("run_id", "name", "project", "status", "framework", "sweep", "tags")
_MISSING = object()


# -- runs ----------------------------------------------------------------------------------
def runs(
    project: str | None = None,
    status: str | None = None,
    sweep: str | None = None,
    *,
    tags: Sequence[str] = (),
    framework: str | None = None,
    name_contains: str | None = None,
    limit: int | None = None,
    store: StoreLike = None,
) -> pandas.DataFrame:
    """The runs matching the filters (as `RunQuery` has them), newest first, one row each."""
    query = RunQuery(
        project=project,
        status=status,
        sweep=sweep,
        tags=tags,
        framework=framework,
        name_contains=name_contains,
        limit=limit,
    )
    with _opened(store) as opened, paused_gc():  # thousands of records: see paused_gc
        return runs_frame(opened.runs(query))


def runs_frame(records: Sequence[RunRecord]) -> pandas.DataFrame:
    """``records`` as `runs` shows them: one row a run, flattened config and summary."""
    pd = _import("pandas")
    np = _import("numpy")
    columns: dict[str, Any] = {
        name: _column([getattr(r, name) for r in records]) for name in _RUN_COLUMNS
    }
    for name in ("started_at", "ended_at"):
        seconds = [getattr(r, name) for r in records]
        seconds = np.array([np.nan if s is None else s for s in seconds], dtype=np.float64)
        columns[name] = pd.to_datetime(seconds, unit="s", utc=True)
    columns["duration_s"] = _column([r.duration for r in records], numbers=True)
    for section in ("config", "summary"):
        values: dict[str, list[Any]] = {}
        for i, record in enumerate(records):  # one pass over every run's leaves
            _spread(getattr(record, section), "", i, values, len(records))
        for key in sorted(values):
            columns[f"{section}.{key}"] = _column(values.pop(key))
    return pd.DataFrame(columns, index=pd.RangeIndex(len(records)))


def _spread(
    tree: dict[str, Any], prefix: str, row: int, columns: dict[str, list[Any]], rows: int
) -> None:
    """Put each leaf of ``tree`` in row ``row`` of its column (by dotted path, as
    `tracker.views.flatten_config` names them: a list or an empty dict is a leaf), making
    the column (``rows`` long, every row missing) where it is new. Stored configs are
    plain JSON, so ``dict`` is the only mapping; no generator: this is the hot loop."""
    for key, value in tree.items():
        if type(value) is dict and value:
            _spread(value, f"{prefix}{key}.", row, columns, rows)
            continue
        name = f"{prefix}{key}"
        column = columns.get(name)
        if column is None:
            column = columns[name] = [_MISSING] * rows
        column[row] = value


def _column(values: list[Any], *, numbers: bool = False) -> Any:
    """One column: numbers as numbers (missing: ``<NA>`` for integers, ``NaN`` for
    floats), text as text, anything else (lists, dicts, mixed types) as Python objects."""
    pd = _import("pandas")
    np = _import("numpy")
    kinds = {type(v) for v in values} - {type(None), object}
    missing = any(v is None or v is _MISSING for v in values)
    present = [None if v is _MISSING else v for v in values]
    try:
        if kinds == {bool}:
            return pd.array(present, dtype="boolean")
        if kinds == {int}:
            return pd.array(present, dtype="Int64") if missing else np.array(present, np.int64)
        if numbers or (kinds and kinds <= {int, float}):
            return np.array([np.nan if v is None else v for v in present], dtype=np.float64)
        if kinds == {str}:  # pandas' own text type: "str" from pandas 3, object before
            return pd.Series(present).array
    except (OverflowError, TypeError, ValueError):  # an integer beyond 64 bits, say
        pass
    held = np.empty(len(present), dtype=object)
    for i, value in enumerate(present):  # one by one: a list is one value, not a row
        held[i] = value
    return held


# -- evaluations ---------------------------------------------------------------------------
def evaluations(project: str, *, store: StoreLike = None) -> pandas.DataFrame:
    """Every score of the project's checkpoints and by its runs, one row each (see the
    module's docstring), in recording order."""
    from tracker.leaderboard import column_names, scores

    pd = _import("pandas")
    with _opened(store) as opened:
        pairs = scores(opened, project)
    columns: dict[str, Any] = {}
    for name in ("run_id", "name", "version", "step", "kind", "state"):
        columns[name] = _column([None if v is None else getattr(v, name) for _, v in pairs])
    columns["uri"] = _column([e.uri if v is None else v.uri for e, v in pairs])
    columns["digest"] = _column([e.digest if v is None else v.digest for e, v in pairs])
    columns["eval_run_id"] = _column([e.run_id for e, _ in pairs])
    for name in ("eval_id", "task", "metric"):
        columns[name] = _column([getattr(e, name) for e, _ in pairs])
    columns["column"] = _column(column_names([e for e, _ in pairs]))
    for name in ("value", "stderr", "created_at"):
        columns[name] = _column([getattr(e, name) for e, _ in pairs], numbers=True)
    values: dict[str, list[Any]] = {}
    for i, (e, _) in enumerate(pairs):
        _spread(e.settings, "", i, values, len(pairs))
    for key in sorted(values):
        columns[f"settings.{key}"] = _column(values.pop(key))
    return pd.DataFrame(columns, index=pd.RangeIndex(len(pairs)))


# -- history -------------------------------------------------------------------------------
def history(
    run_ids: str | Iterable[str],
    keys: str | Iterable[str],
    *,
    wide: bool = False,
    backend: FrameBackend = "pandas",
    arrow: bool = False,
    store: StoreLike = None,
) -> Any:
    """The points of metrics ``keys`` of runs ``run_ids`` (ids, unique id prefixes or
    names; ``tf.runs(...).run_id`` works), as a long frame ``run_id, key, step, value,
    time`` (pandas, or polars with ``backend="polars"``, or a pyarrow table with
    ``arrow``). With ``wide``, one row per run and step and one column per metric.

    A run that lacks one of ``keys`` has no rows for it; a key that no run has raises
    `MetricNotFoundError`, an unknown run `tracker.store.RunNotFoundError`; no runs at all
    make an empty frame."""
    if backend not in ("pandas", "polars"):
        raise ValueError(f"backend must be 'pandas' or 'polars', not {backend!r}")
    refs = [run_ids] if isinstance(run_ids, str) else [str(r) for r in run_ids]
    wanted = list(dict.fromkeys([keys] if isinstance(keys, str) else keys))
    if not wanted:
        raise ValueError("name at least one metric: history(run_ids, ['train/loss'])")
    with _opened(store) as opened:
        points = _Points.read(opened, refs, wanted)
    if arrow:
        table = points.arrow()
        if wide:
            frame = points.polars() if backend == "polars" else points.pandas()
            return _as_arrow(_wide(frame, backend))
        return table
    frame = points.polars() if backend == "polars" else points.pandas()
    return _wide(frame, backend) if wide else frame


class _Points:
    """The points of several runs' metrics as five columns: codes into the lists of run
    ids and keys, and the stored steps, values and times, concatenated."""

    def __init__(
        self,
        run_ids: list[str],
        keys: list[str],
        run_codes: numpy.ndarray[Any, Any],
        key_codes: numpy.ndarray[Any, Any],
        columns: tuple[numpy.ndarray[Any, Any], ...],
    ) -> None:
        self.run_ids = run_ids
        self.keys = keys
        self.run_codes = run_codes
        self.key_codes = key_codes
        self.steps, self.values, self.times = columns

    @classmethod
    def read(cls, store: Store, refs: Sequence[str], keys: list[str]) -> _Points:
        """Read each run's metrics chunk by chunk into columns made as long as the
        metrics' stored counts (a run written meanwhile grows them): the most held at
        once is the frame and one chunk."""
        np = _import("numpy")
        run_ids = list(dict.fromkeys(resolve_run(store, ref).run_id for ref in refs))
        stats = metric_stats_of(store, run_ids)
        bench = _bench(store, stats, keys)
        held = {run_id: set(stats[run_id]) | set(bench[run_id]) for run_id in run_ids}
        if run_ids:
            MetricNotFoundError.check(keys, set().union(*held.values()), len(run_ids))
        columns = _Columns(
            sum(s[key].count for s in stats.values() for key in keys if key in s)
            + sum(len(b[key]) for b in bench.values() for key in keys if key in b)
        )
        segments: list[tuple[int, int, int]] = []  # run code, key code, points
        for r, run_id in enumerate(run_ids):
            for k, key in enumerate(keys):
                if key not in held[run_id]:
                    continue
                derived = bench[run_id].get(key)
                for chunk in [derived] if derived else store.iter_history(run_id, key):
                    if len(chunk):
                        segments.append((r, k, len(chunk)))
                        columns.append(chunk)
        counts = np.array([n for _, _, n in segments], dtype=np.int64)
        run_codes = np.repeat(
            np.array([r for r, _, _ in segments], dtype=_code_type(len(run_ids))), counts
        )
        key_codes = np.repeat(
            np.array([k for _, k, _ in segments], dtype=_code_type(len(keys))), counts
        )
        return cls(run_ids, keys, run_codes, key_codes, columns.filled())

    def pandas(self) -> pandas.DataFrame:
        """A pandas frame over the columns (no copy of steps, values, times)."""
        pd = _import("pandas")
        return pd.DataFrame(
            {
                "run_id": pd.Categorical.from_codes(self.run_codes, categories=self.run_ids),
                "key": pd.Categorical.from_codes(self.key_codes, categories=self.keys),
                "step": self.steps,
                "value": self.values,
                "time": self.times,
            },
            copy=False,
        )

    def polars(self) -> polars.DataFrame:
        """A polars frame, ``run_id`` and ``key`` as enums."""
        pl = _import("polars")

        def enum(names: list[str], codes: Any) -> Any:
            return pl.Series(names, dtype=pl.Enum(names)).gather(codes)

        return pl.DataFrame(
            {
                "run_id": enum(self.run_ids, self.run_codes),
                "key": enum(self.keys, self.key_codes),
                "step": self.steps,
                "value": self.values,
                "time": self.times,
            }
        )

    def arrow(self) -> pyarrow.Table:
        """A pyarrow table, ``run_id`` and ``key`` dictionary-encoded."""
        pa = _import("pyarrow")
        return pa.table(
            {
                "run_id": pa.DictionaryArray.from_arrays(self.run_codes, self.run_ids),
                "key": pa.DictionaryArray.from_arrays(self.key_codes, self.keys),
                "step": self.steps,
                "value": self.values,
                "time": self.times,
            }
        )


def _bench(
    store: Store, stats: dict[str, dict[str, Any]], keys: list[str]
) -> dict[str, dict[str, Series]]:
    """Each run's ``bench/<task>/<metric>`` series among ``keys`` that it does not store
    itself (its ``stats``): its checkpoints' scores, read from their evaluations."""
    from tracker.leaderboard import BENCH, bench_history

    if not any(key.startswith(BENCH + "/") for key in keys):
        return {run_id: {} for run_id in stats}
    found: dict[str, dict[str, Series]] = {}
    for run_id, held in stats.items():
        derived = bench_history(store, run_id)
        found[run_id] = {k: derived[k] for k in keys if k in derived and k not in held}
    return found


class _Columns:
    """Steps, values and times as numpy arrays filled chunk by chunk: made ``capacity``
    long at first, and half as long again whenever a chunk does not fit."""

    def __init__(self, capacity: int) -> None:
        np = _import("numpy")
        self.arrays = tuple(np.empty(capacity, dtype) for dtype in (np.int64, *[np.float64] * 2))
        self.filled_to = 0

    def append(self, chunk: Series) -> None:
        np = _import("numpy")
        start, end = self.filled_to, self.filled_to + len(chunk)
        if end > len(self.arrays[0]):  # points written since the counts were read
            grown = max(end, len(self.arrays[0]) * 3 // 2)
            self.arrays = tuple(np.resize(a[:start], grown) for a in self.arrays)
        for array, part in zip(self.arrays, (chunk.steps, chunk.values, chunk.times), strict=True):
            array[start:end] = np.frombuffer(part, dtype=array.dtype)
        self.filled_to = end

    def filled(self) -> tuple[numpy.ndarray[Any, Any], ...]:
        """The filled part of each column (a view: no copy)."""
        return tuple(a[: self.filled_to] for a in self.arrays)


def _code_type(n: int) -> Any:
    """The smallest signed integer type numbering ``n`` things (pandas' codes are signed)."""
    np = _import("numpy")
    return np.int8 if n < 2**7 else np.int16 if n < 2**15 else np.int32


def _wide(frame: Any, backend: FrameBackend) -> Any:
    """One row per run and step, one column per metric (missing: NaN / null)."""
    if backend == "polars":
        wide = frame.pivot(on="key", index=["run_id", "step"], values="value")
        return wide.sort(["run_id", "step"])
    wide = frame.pivot(index=["run_id", "step"], columns="key", values="value")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def _as_arrow(frame: Any) -> pyarrow.Table:
    pa = _import("pyarrow")
    if hasattr(frame, "to_arrow"):  # polars
        return frame.to_arrow()
    return pa.Table.from_pandas(frame, preserve_index=False)


# -- helpers -------------------------------------------------------------------------------
@contextmanager
def _opened(store: StoreLike) -> Iterator[Store]:
    """``store`` itself, or the store its URI (or the settings) names, closed after."""
    if store is not None and not isinstance(store, str):
        yield store
        return
    opened = open_store(store)
    try:
        yield opened
    finally:
        opened.close()


def _import(name: str) -> Any:
    """Module ``name``, or an `ImportError` that names the extra to install."""
    with requires_extra("frames", module="tracker.frames"):
        return __import__(name)
