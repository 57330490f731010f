"""What every importer shares: an imported run, its id, its names, and writing it once.

A source module (`tracker.importers.tensorboard`, ...) turns what its tool wrote into
`SourceRun` objects: the record (name, project, status, start and end, config, summary,
tags) and a stream of rows ``(step, wall time, (key, value) pairs)`` read with the tool's own
reader, in an order that only grows at its end when the source grows. `import_run`
writes one into a store through the public `Backend` API, in this order:

1. **The run's id** is derived from the tool and the run's id there (`imported_run_id`),
   and the source is recorded in the run's environment (``imported``: tool, id, where it
   was read) and as its ``framework`` (the tool's name). So a run imported again is the
   same run: a new one is started (`Backend.start_run`), one the store holds gets the
   config and summary merged in (merging the same values changes nothing).
2. **Names** go into the scheme as the adapters map them (`tracker.naming.imported_name`:
   ``loss`` → ``train/loss``, ``eval_loss`` → ``eval/loss``, ``lr`` →
   ``train/learning_rate``, transformers' ``train/train_runtime`` → the summary
   ``train/runtime``, a name with a section of its own such as ``Loss/train`` kept);
   ``keep_names`` keeps the tool's own. An end-of-phase figure goes to the summary (its
   last value), not to the points. Two source keys that would map to one name keep the
   first mapping; the later key keeps its own name, so no two curves are mixed. Step
   counters logged as metrics (``step``, ``global_step``) are dropped, and said so.
3. **Points** are counted per metric as they are read; the first N of a metric the store
   already has N points of are skipped (`Store.metric_stats`' count, as ``tracker sync``
   counts), the rest written in batches of `BATCH_POINTS` (`MetricBatch`, every metric of
   the batch in one transaction of the SQL stores). An import that was stopped (Ctrl-C,
   SIGKILL) leaves whole batches behind, so the next one writes every point once; a run
   that grew in its source gets only the new points. The count, not the last step, is
   what is compared: a TensorBoard run that was restarted logs its steps again, and those
   points are the source's too. NaN and ±inf are values like any other. A point that
   repeats its metric's previous point (the same step and value: the Trainer logs
   ``epoch`` with each log of a step) is the same point, read and not written again, as
   the Trainer adapter does; so ``history`` and the point count agree.
4. **Events** past the number the store holds are appended, as ``tracker sync`` does.
5. **The end**: the summary gets each curve's last value (as a native run's end writes
   it; the tool's own summary wins), and a source run that ended is finished with its
   status and end time (`Backend.finish_run`, again the same when repeated).

``dry_run`` reads everything and writes nothing: the report says what would be written.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from operator import eq
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from tracker.naming import imported_name, sampled_by_time
from tracker.records import Event, MetricBatch, RunRecord, RunStatus, Series
from tracker.store.base import RunNotFoundError, Store
from tracker.values import INT64_MAX, INT64_MIN, clean_text, redact, to_json

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = [
    "BATCH_POINTS",
    "FileSource",
    "ImportOptions",
    "ImportReport",
    "NotSourceData",
    "Page",
    "Progress",
    "Row",
    "RunResult",
    "Skipped",
    "Source",
    "SourceRun",
    "import_run",
    "import_runs",
    "imported_run_id",
]

BATCH_POINTS = 50_000
"""Points written in one `MetricBatch` (1.2 MB of columns): what an import holds at most
of a run's points, whatever the run's size."""

Row = tuple[int, float, Iterable[tuple[str, Any]]]
"""What a source yields: ``(step, wall time in seconds, (key, value) pairs)``, the points
logged together. A value that is not a number (text, a media reference) is skipped by key
and reported; ``True`` and ``False`` are 1.0 and 0.0, as `tracker.values` stores them."""


class Page(NamedTuple):
    """Rows read together (`SourceRun.pages`): row ``i`` is ``(steps[i], times[i],
    values[i].items())``. The core writes a page's metrics a column at a time, not a
    point at a time, where every value of the page is a number."""

    steps: list[int]
    times: list[float]
    values: list[dict[str, Any]]

    def rows(self) -> Iterator[Row]:
        """The page's rows, one by one."""
        return zip(self.steps, self.times, (v.items() for v in self.values), strict=True)


Progress = Callable[[int], None]
"""Called with the number of points just read."""

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_NUMBERS = frozenset({float, int, bool})  # what the sources' values are, when numbers


def imported_run_id(tool: str, source_id: str) -> str:
    """The run id of the run ``source_id`` of ``tool``: 10 letters and digits, as
    `tracker.ids.new_run_id` makes them, but the same on every import."""
    digest = int.from_bytes(hashlib.sha256(f"{tool}\0{source_id}".encode()).digest()[:8])
    chars = []
    for _ in range(10):
        digest, rest = divmod(digest, 36)
        chars.append(_ALPHABET[rest])
    return "".join(chars)


class NotSourceData(ValueError):
    """What a location holds is not the tool's data (a script given as an event file, an
    MLflow database given to Trackio): raised by `Source.discover` before it yields
    anything, with a message that says what the tool expected there."""


class Skipped(NamedTuple):
    """Something of a source that was not imported (whole or in part), and why."""

    what: str
    why: str


@dataclass(kw_only=True)
class SourceRun(ABC):
    """One run of a source, as its tool wrote it.

    The fields are what is known before reading the points; `rows` may complete
    ``ended_at``, ``summary``, ``events`` and ``problems`` as it reads (a TensorBoard run
    ends with its last event), so the core reads them only after the points.
    """

    tool: str
    source_id: str
    """The run's id in its tool (a path for TensorBoard): with ``tool``, the run's identity."""
    location: str
    """Where it was read (a folder, a file, a tracking URI without its password)."""
    name: str
    project: str
    status: str = RunStatus.FINISHED.value
    started_at: float = 0.0
    ended_at: float | None = None
    error: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    """What the tool recorded of the run's environment (user, source, git commit)."""
    sweep: str | None = None
    """The search the run is one trial of, where the tool says so (MLflow's parent run)."""
    events: list[Event] = field(default_factory=list)
    total: int | None = None
    """The number of points, where the source says it before they are read."""
    problems: list[str] = field(default_factory=list)
    """What went wrong while reading (a truncated file): the points before it are kept."""

    @abstractmethod
    def rows(self) -> Iterator[Row]:
        """Every point of the run, in the source's order, as rows."""

    def pages(self) -> Iterator[Page] | None:
        """The same rows in pages, where the source reads them so (None: it does not)."""
        return None


class Source(Protocol):
    """A source module's reader (its ``SOURCE``)."""

    tool: str

    def discover(
        self, location: str, *, experiment: str | None = None
    ) -> Iterator[SourceRun | Skipped]:
        """The runs at ``location`` (and what could not be read there), lazily;
        `NotSourceData` before anything where the location is not the tool's data."""
        ...


class FileSource(ABC):
    """A source its tool wrote to local files: `discover` finds what is at the location,
    or says nothing is there."""

    tool: str

    def discover(
        self, location: str, *, experiment: str | None = None
    ) -> Iterator[SourceRun | Skipped]:
        """The runs at ``location`` (``experiment`` is MLflow's only)."""
        root = Path(location).expanduser().resolve()
        if not root.exists():
            yield Skipped(location, "no such file or folder")
            return
        yield from self.runs_at(root)

    @abstractmethod
    def runs_at(self, root: Path) -> Iterator[SourceRun | Skipped]:
        """The runs at ``root``, a file or folder that exists, lazily."""


@dataclass(slots=True)
class ImportOptions:
    """How runs are imported: ``tracker import``'s options."""

    project: str | None = None
    keep_names: bool = False
    dry_run: bool = False


@dataclass(slots=True)
class RunResult:
    """What importing one run did."""

    run_id: str
    name: str
    created: bool
    read: int = 0
    written: int = 0
    events: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    partial: list[Skipped] = field(default_factory=list)
    """What was read only up to some damage (a truncated file), and where it stopped: the
    points before it are imported, so it is not skipped."""


@dataclass(slots=True)
class ImportReport:
    """What an import did: the runs read, what was skipped and why, and what was read
    only up to some damage."""

    runs: list[RunResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    partial: list[Skipped] = field(default_factory=list)

    @property
    def points(self) -> int:
        """Points written (or, in a dry run, that would be)."""
        return sum(r.written for r in self.runs)

    @property
    def read(self) -> int:
        """Points read from the source."""
        return sum(r.read for r in self.runs)


class _Column:
    """One target metric's pending points."""

    __slots__ = ("key", "steps", "times", "values")

    def __init__(self, key: str) -> None:
        self.key = key
        self.steps: array[int] = array("q")
        self.values: array[float] = array("d")
        self.times: array[float] = array("d")


class _Names:
    """Source keys to the scheme's names, one-to-one (see the module docstring, 2)."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.owner: dict[str, str] = {}  # target name -> the source key that has it
        self.final: set[str] = set()  # the target names that are summaries, not curves

    def owner_of(self, key: str) -> str:
        """The target name ``key`` was given."""
        return next(name for name, owner in self.owner.items() if owner == key)

    def target(self, key: str) -> str | None:
        key = clean_text(key).strip("/")
        if not key:
            return None
        if self.keep:
            name = key
        else:
            found = imported_name(key)
            if found is None:
                return None
            mapped, final = found
            name = mapped if self.owner.get(mapped, key) == key else key
            if final and name == mapped:
                self.final.add(name)
        if self.owner.setdefault(name, key) != key:
            return None
        return name


def import_runs(
    runs: Iterable[SourceRun | Skipped],
    store: Store,
    options: ImportOptions,
    progress: Callable[[SourceRun], Progress | None] | None = None,
    done: Callable[[SourceRun, RunResult | Skipped], None] | None = None,
) -> ImportReport:
    """Import every run of ``runs``; a run that cannot be read is skipped with the reason,
    and the others are imported. ``progress`` makes each run's progress callback;
    ``done`` hears of each run's result."""
    report = ImportReport()
    for run in runs:
        if isinstance(run, Skipped):
            report.skipped.append(run)
            continue
        try:
            result: RunResult | Skipped = import_run(
                run, store, options, progress(run) if progress else None
            )
        except Exception as exc:  # a run's source is broken (each tool has its own errors)
            result = Skipped(run.location, f"{type(exc).__name__}: {exc}")
        if isinstance(result, Skipped):
            report.skipped.append(result)
        else:
            report.runs.append(result)
            report.skipped.extend(result.skipped)
            report.partial.extend(result.partial)
        if done is not None:
            done(run, result)
    return report


def import_run(
    run: SourceRun, store: Store, options: ImportOptions, progress: Progress | None = None
) -> RunResult:
    """Write what ``store`` lacks of ``run`` (the module docstring says how)."""
    run_id = imported_run_id(run.tool, run.source_id)
    try:
        existing: RunRecord | None = store.get_run(run_id)
    except RunNotFoundError:
        existing = None
    config = redact(to_json(run.config))
    write = not options.dry_run
    if existing is None and write:
        store.start_run(
            RunRecord(
                run_id,
                clean_text(options.project or run.project),
                clean_text(run.name),
                status=RunStatus.RUNNING.value,
                tags=[clean_text(t) for t in run.tags],
                config=config,
                environment={
                    **to_json(run.environment),
                    "imported": {"tool": run.tool, "id": run.source_id, "from": run.location},
                },
                framework=run.tool,
                started_at=run.started_at,
                sweep=clean_text(run.sweep) if run.sweep else None,
            ),
            resume=False,
        )
    elif existing is not None and write and config:
        store.log_config(run_id, config)
    result = RunResult(run_id, run.name, created=existing is None)
    have = {key: s.count for key, s in store.metric_stats(run_id).items()} if existing else {}
    batches = _Batches(store if write else None, have, _Names(options.keep_names), result, progress)
    try:
        _write_points(run, batches)
    finally:
        batches.close()
    read_config = redact(to_json(run.config))  # what reading the points added
    if read_config != config and write:
        store.log_config(run_id, read_config)
    # complete once the points are read; each curve's last value too, as a native run's
    # end writes it (what the tool's own summary says wins)
    summary = to_json({**batches.last, **batches.summary, **run.summary})
    if summary and write:
        store.log_summary(run_id, summary)
    known = len(store.events(run_id)) if existing is not None else 0
    for event in run.events[known:]:
        if write:
            store.log_event(run_id, event)
        result.events += 1
    if write and run.ended_at is not None and run.status != RunStatus.RUNNING:
        store.finish_run(run_id, run.status, run.ended_at, run.error)
    result.partial.extend(Skipped(f"{run.name} ({run.location})", p) for p in run.problems)
    return result


class _Batches:
    """A run's pending points by target name, written as one `MetricBatch` when full.

    The write goes to a thread of its own while the next batch is read: the store's work
    (packing, SQLite or the server) mostly runs outside the GIL, so reading and writing
    overlap. One batch at most is in flight, in order, so memory stays bounded and a
    stopped import leaves whole batches, as without the thread.
    """

    def __init__(
        self,
        store: Store | None,
        have: dict[str, int],
        names: _Names,
        result: RunResult,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.have = have
        self.names = names
        self.result = result
        self.progress = progress
        self.targets: dict[str, _Column] = {}
        self.bound: dict[str, list[Any]] = {}  # target name -> the column list of the loop
        self.dropped: dict[str, str] = {}
        self.summary: dict[str, float] = {}  # end-of-phase figures: their last values
        self.last: dict[str, float] = {}  # each curve's last value (system/ left out)
        from concurrent.futures import ThreadPoolExecutor  # only when importing

        self._pool = ThreadPoolExecutor(1, "tracker-import") if store is not None else None
        self._writing: Future[None] | None = None

    def open_column(self, key: str) -> list[Any] | None:
        """The loop's column of source key ``key`` (None: the key is dropped)."""
        target = self.names.target(key)
        if target is None:
            self.dropped[key] = "a step counter, or a name another metric has"
            return None
        self.targets[target] = _Column(target)
        self.bound[target] = [self.have.get(target, 0), None, None, None, None, None, None]
        self._rebind(target)
        return self.bound[target]

    def _rebind(self, name: str) -> None:
        column = self.targets[name]
        self.bound[name][1:5] = [
            column.values.append,
            column.steps.append,
            column.times.append,
            column,
        ]

    def unappend(self, key: str) -> None:
        """Take back the value just appended for ``key`` (its step was refused)."""
        self.targets[self.names.owner_of(key)].values.pop()

    def flush(self, pending: int, read: int) -> int:
        """Write the pending points; 0 (the points now pending)."""
        result = self.result
        final = self.names.final
        for name, column in self.targets.items():
            if not len(column.values):
                continue
            if name in final:
                self.summary[name] = column.values[-1]
                pending -= len(column.values)
            elif not sampled_by_time(name):
                self.last[name] = column.values[-1]
        batch = {
            c.key: Series(c.steps, c.values, c.times)
            for c in self.targets.values()
            if len(c.steps) and c.key not in final
        }
        if self._pool is not None and self.store is not None and batch:
            self.wait()
            self._writing = self._pool.submit(
                self.store.log_metrics, result.run_id, MetricBatch(batch)
            )
        for name, column in self.targets.items():
            column.steps, column.values, column.times = array("q"), array("d"), array("d")
            self._rebind(name)
        result.written += pending
        if self.progress is not None:
            self.progress(read - result.read)
        result.read = read
        return 0

    def wait(self) -> None:
        """Wait for the batch in flight; its error, if it failed."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def close(self) -> None:
        """Wait for the last batch and end the thread."""
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown()


def _write_points(run: SourceRun, batches: _Batches) -> None:
    columns: dict[str, list[Any] | None] = {}  # source key -> its column (None: dropped)
    pages = run.pages()
    if pages is None:
        pending, read = _write_rows(run.rows(), columns, batches, 0, 0)
    else:
        pending = read = 0
        for page in pages:
            if (points := _write_page(page, columns, batches)) is None:
                pending, read = _write_rows(page.rows(), columns, batches, pending, read)
                continue
            pending += points[0]
            read += points[1]
            if pending >= BATCH_POINTS:
                pending = batches.flush(pending, read)
    batches.flush(pending, read)
    result = batches.result
    result.skipped.extend(
        Skipped(f"{run.name}: metric {k!r}", why) for k, why in batches.dropped.items()
    )
    if read == 0:
        result.skipped.append(Skipped(f"{run.name} ({run.location})", "no points (record only)"))


def _write_rows(
    rows: Iterable[Row],
    columns: dict[str, list[Any] | None],
    batches: _Batches,
    pending: int,
    read: int,
) -> tuple[int, int]:
    """Append rows' points one by one: (points pending, points read)."""
    # The loop runs once a point, so it is written for speed: a column is a list
    # [points left to skip, values.append, steps.append, times.append, its _Column,
    # the step and value of the key's previous point], found by the source's key; a value
    # that is not a number is refused by the array.
    dropped = batches.dropped
    for step, at, pairs in rows:
        for key, value in pairs:
            read += 1
            try:
                column = columns[key]
            except KeyError:
                column = columns[key] = batches.open_column(key)
            if column is None:
                continue
            if step == column[5] and value == column[6]:
                continue  # the same point again (module docstring, 3)
            column[5] = step
            column[6] = value
            if column[0]:  # the store has this point already, if it was stored at all
                if type(value) in _NUMBERS and INT64_MIN <= step <= INT64_MAX:
                    column[0] -= 1
                continue
            try:
                column[1](value)
            except TypeError:
                dropped.setdefault(key, "values that are not numbers (text, media, tables)")
                continue
            try:
                column[2](step)
            except OverflowError:
                batches.unappend(key)
                dropped.setdefault(key, f"step {step} outside the 64-bit range")
                continue
            column[3](at)
            pending += 1
            if pending >= BATCH_POINTS:
                pending = batches.flush(pending, read)
    return pending, read


def _write_page(
    page: Page, columns: dict[str, list[Any] | None], batches: _Batches
) -> tuple[int, int] | None:
    """Append a page's points a column at a time: (points appended, points read), or
    None, and nothing appended, where a value is not a number or a step is not a 64-bit
    integer (the page then goes point by point, `_write_rows`)."""
    rows = page.values
    found: list[tuple[str, array[float], array[int], array[float]]] = []
    try:
        steps, times = array("q", page.steps), array("d", page.times)
        for key in dict.fromkeys(chain.from_iterable(rows)):  # first seen first, as by row
            try:
                found.append((key, array("d", [row[key] for row in rows]), steps, times))
            except KeyError:  # not logged in every row
                at = [i for i, row in enumerate(rows) if key in row]
                found.append(
                    (
                        key,
                        array("d", [rows[i][key] for i in at]),
                        array("q", [steps[i] for i in at]),
                        array("d", [times[i] for i in at]),
                    )
                )
    except (TypeError, OverflowError):  # a value that is not a number, a step out of range
        return None
    if any(map(eq, steps, steps[1:])):  # a step logged again: maybe the same point again
        return None
    appended = read = 0
    for key, values, at_steps, at_times in found:
        read += len(values)
        try:
            column = columns[key]
        except KeyError:
            column = columns[key] = batches.open_column(key)
        if column is None:
            continue
        skip = min(column[0], len(values))  # the points the store has already
        column[0] -= skip
        target: _Column = column[4]
        target.values.extend(values[skip:] if skip else values)
        target.steps.extend(at_steps[skip:] if skip else at_steps)
        target.times.extend(at_times[skip:] if skip else at_times)
        appended += len(values) - skip
    return appended, read
