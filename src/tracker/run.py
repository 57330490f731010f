"""`CustomTracker`: one run's lifecycle, from `start` to `finish`."""

from __future__ import annotations

import enum
import logging
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypedDict

from tracker import lifecycle
from tracker.alerts import RunAlerts
from tracker.alerts.alert import check_level
from tracker.artifacts import (
    ArtifactRequest,
    ArtifactWork,
    CheckGone,
    MarkBest,
    MarkGone,
    WatchFolder,
    local_path,
)
from tracker.calls import FinishRun, LogConfig, LogEvent, LogSummary, LogTable, StartRun
from tracker.distributed import ProcessInfo, process_info
from tracker.environment import capture
from tracker.evaluations import build_evaluation, evaluation_work, of_version
from tracker.ids import new_run_id, new_run_name
from tracker.records import Artifact, Event, RunRecord, RunStatus
from tracker.rescue import rescue_dirs
from tracker.settings import TrackerSettings
from tracker.store.base import Backend, RunNotFoundError, Store
from tracker.store.registry import _factory, _scheme
from tracker.sync import deliver_in_background
from tracker.system.attach import SystemMetrics, samples_node
from tracker.system.efficiency import Figures
from tracker.values import (
    INT64_MAX,
    INT64_MIN,
    REDACTED,
    NotAScalar,
    Redactor,
    clean_text,
    deep_merge,
    flatten_metrics,
    to_json,
    to_scalar,
)
from tracker.writer import Channel, Writer, WriteReport

__all__ = ["CustomTracker"]

log = logging.getLogger("tracker")

_FAST_TYPES = frozenset({float, int, bool})
_now = time.time  # bound once: log_metrics is the hot path
_END_STATUSES = {s.value for s in RunStatus} - {RunStatus.RUNNING.value, RunStatus.CRASHED.value}

_WHY = {  # what a run's resumed and reopened events say, in words (tracker show, dashboard)
    "resumed": "a new process continues this run (same run id)",
    "reopened": "logged to after finish(), so the same run goes on "
    "(as evaluate() or predict() after train() does); the next finish() or the "
    "program's exit ends it again",
}

StoreSpec = str | Backend | Sequence[str | Backend] | None
ResumeMode = Literal["allow", "must", "never"]


class TrackerOptions(TypedDict, total=False):
    """`CustomTracker`'s keyword options, which every adapter passes through unchanged
    (``adapter(project, run_name, **options)``)."""

    run_id: str | None
    tags: Sequence[str] | None
    config: Mapping[str, Any] | None
    sweep: str | None
    store: StoreSpec
    resume: ResumeMode
    settings: TrackerSettings | None


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    FINISHED = "finished"
    INACTIVE = "inactive"  # disabled, another rank's process, or a forked child


class CustomTracker:
    """One tracked run.

    ``project``, ``run_name``, ``run_id`` and ``tags`` default to the settings
    (``TRACKER_PROJECT``, ...). ``sweep`` (``TRACKER_SWEEP``) names the hyperparameter
    search this run is one trial of: its runs are found, filtered and grouped together.
    ``store`` is where the run is written: a store URI, a
    `Backend` instance, or a list of them to write to several at once; by default the
    settings' store (``TRACKER_URI``, else the SQLite file in ``TRACKER_DIR``).

    With ``run_id`` of an existing run, `start` continues that run (``resume="allow"``);
    ``resume="must"`` raises if it does not exist, ``"never"`` if it does.

    Only the process of global rank 0 writes: on other ranks, and with
    ``TRACKER_DISABLED=1``, every method is a cheap no-op.
    """

    def __init__(
        self,
        project: str | None = None,
        run_name: str | None = None,
        *,
        run_id: str | None = None,
        tags: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        sweep: str | None = None,
        store: StoreSpec = None,
        resume: ResumeMode = "allow",
        framework: str | None = None,
        settings: TrackerSettings | None = None,
    ) -> None:
        self.settings = settings or TrackerSettings()
        self._redactor = Redactor.from_settings(self.settings)
        self.project = _text_or(project or self.settings.project, "default")
        name = run_name or self.settings.run_name
        name = _text_or(name, None) if name is not None else None
        self.name = None if name is None else self._redactor.redact_text(name)
        given_id = run_id or self.settings.run_id
        self._run_id = None if given_id is None else _text_or(given_id, None)
        self.tags = [
            self._redactor.redact_text(clean_text(tag))
            for tag in _texts(tags if tags is not None else self.settings.tags)
        ]
        given_sweep = sweep or self.settings.sweep
        self.sweep = None if given_sweep is None else _text_or(given_sweep, None)
        self.framework = None if framework is None else _text_or(framework, None)
        self.process: ProcessInfo = process_info(self.settings)
        if resume not in ("allow", "must", "never"):
            raise ValueError(f"resume must be 'allow', 'must' or 'never', not {resume!r}")
        self._resume: ResumeMode = resume
        self._store_spec = store
        self._initial_config = config
        self._state = _State.NEW
        self._writer: Writer | None = None
        self._channel: Channel | None = None  # the writer's channel while running
        self._started_at: float | None = None
        self._next_step = 0
        self._known_keys: set[str] = set()
        self._string_keys: dict[str, str] = {}  # keys whose values were strings: the last
        self._secret_keys: dict[str, bool] = {}  # whether such a key names a secret
        self._key_names: dict[str, str] = {}  # flattened metric names, redacted
        self._warned_keys: set[str] = set()
        self._system: SystemMetrics | None = None
        self._alerts: RunAlerts | None = None
        self._end_claim: list[None] = []  # one item while running: who pops it ends the run
        self._ended: threading.Event | None = None  # set once that end is written
        self._artifacts_requested = False
        self._outputs: dict[str, ArtifactRequest] = {}  # this process's, by uri: loaded_from
        self._last_used = ""  # the ref of the last `use_artifact`: what is evaluated
        self.config: dict[str, Any] = {}

    # -- properties ------------------------------------------------------------------------
    @property
    def run_id(self) -> str | None:
        """The run's id: known after `start` on the main process."""
        return self._run_id

    @property
    def is_main_process(self) -> bool:
        """Whether this process writes the run (global rank 0)."""
        return self.process.is_main

    @property
    def enabled(self) -> bool:
        """Whether this process records anything: the main process, tracking not disabled.

        Adapters check it before building costly payloads (configs, parameter counts).
        """
        return (
            self.process.is_main
            and not self.settings.disabled
            and self._state is not _State.INACTIVE
        )

    @property
    def active(self) -> bool:
        """Whether the run is started and writing."""
        return self._state is _State.RUNNING

    @property
    def started_at(self) -> float | None:
        """Unix time this process started (or continued) the run; ``None`` before."""
        return self._started_at

    @property
    def last_step(self) -> int:
        """The step of the last `log_metrics` call (-1 before the first)."""
        return self._next_step - 1

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        """Create (or continue) the run and start the background writer. Idempotent."""
        if self._state is _State.RUNNING or self._state is _State.INACTIVE:
            return self
        if self.settings.disabled or not self.process.is_main:
            self._state = _State.INACTIVE
            if samples_node(self.settings, self.process):  # this node's hardware, rank 0's run
                self._system = SystemMetrics.for_node(self.settings, self.process, self._backends())
                self._system.start()
                lifecycle.register(self, handle_signals=self.settings.handle_signals)
            return self
        backends = self._backends()
        reopening = self._state is _State.FINISHED  # logged to after finish(): same run
        resuming = reopening or self._prepare_resume(backends)
        if self._run_id is None:
            self._run_id = new_run_id()
        if self.name is None:
            self.name = new_run_name()
        now = self._started_at = time.time()
        cwd, argv = Path.cwd(), list(sys.argv)  # the environment is gathered by the writer
        record = RunRecord(
            run_id=self._run_id,
            project=self.project,
            name=self.name,
            tags=sorted(set(self.tags)),
            framework=self.framework,
            sweep=self.sweep,
            started_at=now,
            heartbeat_at=now,
            heartbeat_interval=self.settings.heartbeat_interval,
        )
        alerts = RunAlerts(
            self.settings,
            run_id=self._run_id,
            run_name=self.name,
            project=self.project,
            record=lambda event: writer.channel.put(LogEvent(event)),  # also from finish()
            redact=self._redactor.redact_text,
        )
        system = SystemMetrics.for_run(
            self.settings, self.process, self._run_id, lambda: self.last_step
        )
        writer = Writer(
            record,
            backends,
            flush_interval=self.settings.flush_interval,
            heartbeat_interval=self.settings.heartbeat_interval,
            max_pending=self.settings.max_pending,
            max_pending_points=self.settings.max_pending * 10,
            spool_bytes=self.settings.spool_max_mb * 2**20,
            rescue_dirs=rescue_dirs(self.settings.dir / "unsent"),
            figures=Figures(self.process.world_size, system.device_name),
            redactor=self._redactor,
            on_batch=alerts.check,
            environment=partial(capture, self.process, self._redactor, cwd=cwd, argv=argv),
        )
        channel = writer.channel
        channel.put(StartRun(record, resume=resuming))
        if resuming:
            kind = "reopened" if reopening else "resumed"
            channel.put(LogEvent(Event(kind, now, None, {"reason": _WHY[kind]})))
        self._writer, self._channel, self._alerts = writer, channel, alerts
        self._end_claim, self._ended = [None], threading.Event()
        self._state = _State.RUNNING
        lifecycle.register(self, handle_signals=self.settings.handle_signals)
        writer.start()
        system.start(channel.put_point)
        uris = [uri for uri, factory in backends if not isinstance(factory, _Given)]
        if uris and self.settings.deliver_unsent:
            deliver_in_background(uris, rescue_dirs(self.settings.dir / "unsent"), record.run_id)
        self._system = system
        if self._initial_config:
            self.log_config(self._initial_config)
            self._initial_config = None
        return self

    def _backends(self) -> list[tuple[str, Callable[[str], Backend]]]:
        spec = self._store_spec
        items: Sequence[str | Backend]
        if spec is None:
            items = self.settings.store_uris
        elif isinstance(spec, str) or not isinstance(spec, Sequence):
            items = [spec]
        else:
            items = spec
        out: list[tuple[str, Callable[[str], Backend]]] = []
        for item in items:
            if isinstance(item, str):
                out.append((item, _factory(_scheme(item))))  # an unknown scheme raises here
            else:
                out.append((getattr(item, "uri", type(item).__name__), _Given(item)))
        if not out:
            raise ValueError("store= names no backend; give a URI or a Backend")
        return out

    def _prepare_resume(self, backends: list[tuple[str, Callable[[str], Backend]]]) -> bool:
        """Whether the run of ``run_id`` exists (and so is continued); where it stopped."""
        if self._run_id is None:
            return False
        found = _first_readable(backends)
        if found is None:
            return self._resume != "never"
        store, opened_here = found
        try:
            return self._continue_from(store)
        finally:
            if opened_here:
                store.close()

    def _continue_from(self, store: Store) -> bool:
        assert self._run_id is not None
        try:
            existing = store.get_run(self._run_id)
        except RunNotFoundError:
            if self._resume == "must":
                raise ValueError(
                    f"cannot resume run {self._run_id!r}: {store.uri} has no such run"
                ) from None
            return False
        if self._resume == "never":
            raise ValueError(
                f"run {self._run_id!r} already exists in {store.uri}: pass another run_id "
                "or resume='allow' to continue it"
            )
        self.name = self.name or existing.name
        self.project = existing.project
        self.config = existing.config
        stats = store.metric_stats(self._run_id)
        if stats:
            self._next_step = max(s.last_step for s in stats.values()) + 1
        return True

    def finish(self, status: str = "finished", error: str | None = None) -> WriteReport | None:
        """End the run: write what is queued (waiting at most ``finish_timeout``) and
        record ``status`` (``finished``, ``failed`` or ``interrupted``). Idempotent.

        Returns what could not be written, or ``None`` where nothing was running.
        """
        if status not in _END_STATUSES:
            raise ValueError(f"status must be one of {sorted(_END_STATUSES)}, not {status!r}")
        system, self._system = self._system, None  # its last sample goes in before the end
        if system is not None:  # (also a node's sampler, of a run rank 0 writes)
            system.stop()
        # One caller ends the run: popping the claim is atomic, even against a signal
        # handler. Another thread calling at the same time (the SIGTERM watcher while the
        # main thread finishes) waits until that end is written; the main thread never
        # waits, since there it may be a signal handler that interrupted the end itself.
        claim, ended = self._end_claim, self._ended
        try:
            claim.pop()
        except IndexError:
            if ended is not None and threading.current_thread() is not threading.main_thread():
                ended.wait(self.settings.finish_timeout + self.settings.alert_timeout + 1.0)
            return None
        self._state = _State.FINISHED
        try:
            return self._end(status, error)
        finally:
            if ended is not None:
                ended.set()

    def _end(self, status: str, error: str | None) -> WriteReport:
        writer, alerts = self._writer, self._alerts
        assert writer is not None and alerts is not None
        alerts.ended(status, error)
        self._channel = None
        lifecycle.unregister(self)
        channel = writer.channel
        if self._artifacts_requested:
            writer.settle_artifacts(self.settings.finish_timeout)
        dropped = channel.dropped_calls
        if dropped:
            channel.put(LogSummary({"tracker/dropped_calls": dropped}))
        error = None if error is None else self._redactor.redact_text(clean_text(error))
        channel.put(FinishRun(status, time.time(), error))
        report = writer.close(self.settings.finish_timeout)
        report.dropped_points += dropped
        self._writer = None
        alerts.close(self.settings.alert_timeout)
        if not report.complete:
            log.warning(
                "tracker: run %s ended with %d points unwritten and %d dropped%s",
                writer.record.run_id,
                report.unwritten_points,
                report.dropped_points,
                f"; saved in {report.rescue_file}" if report.rescue_file else "",
            )
        return report

    def _end_from_hook(self, status: str, error: str | None) -> None:
        try:
            self.finish(status, error)
        except Exception:  # an exit hook must never raise
            log.exception("tracker: could not finish run %s", self._run_id)

    def _forget_after_fork(self) -> None:
        self._end_claim, self._ended = [], None
        self._state = _State.INACTIVE
        self._writer = None
        self._channel = None
        self._system = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.finish()
        else:
            self.finish(*lifecycle.ending(exc))

    # -- logging ---------------------------------------------------------------------------
    def _ready(self) -> bool:
        if self._state is _State.RUNNING:
            return True
        if self._state is _State.NEW:
            raise RuntimeError("this run is not started: call start() first, or use `with`")
        if self._state is _State.FINISHED:  # evaluation after training ended: same run
            self.start()
            return True
        return False

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record metric values at ``step`` (default: one past the last step).

        Only checks and queues: the background writer stores them. Values are numbers,
        numpy scalars or 0-d tensors; nested dicts are flattened with ``/``. Values that
        are not numbers are skipped with one warning per key (strings go to the summary).
        Nothing raises here: whatever cannot be recorded is skipped with one warning.
        """
        channel = self._channel
        if channel is None:
            if not self._ready():
                return
            channel = self._channel
            assert channel is not None
        try:
            known = self._known_keys
            for key, value in metrics.items():
                if type(value) not in _FAST_TYPES or key not in known:
                    values = self._clean(metrics)
                    break
            else:
                values = dict(metrics)
            if not values:
                return
            if step is None:
                step = self._next_step
            elif type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
                step = self._as_step(step)
        except Exception as exc:  # a hostile mapping or value: never the training loop's problem
            self._warn_once("<call>", f"log_metrics raised {type(exc).__name__}; call skipped")
            return
        self._next_step = step + 1
        channel.put_point((step, _now(), values))

    def _as_step(self, step: Any) -> int:
        """The documented step rules (docs/values.md): integral numbers as they are; a
        fractional one rounded down; a step that is not finite, not a number, or outside
        int64 is replaced by the next automatic step. One warning each, never silence."""
        auto = self._next_step
        try:
            if type(step) is bool:
                raise TypeError("a bool is not a step")
            value = step.item() if hasattr(step, "item") else step
            if isinstance(value, float):
                if not math.isfinite(value):
                    raise ValueError("not finite")
                if not value.is_integer():
                    self._warn_once("<step>", f"step {value!r} is not whole: rounded down")
            number = int(value)
        except Exception:
            self._warn_once(
                "<step>",
                f"step {_safe_repr(step)} is not an integer: the next step ({auto}) is used",
            )
            return auto
        if not INT64_MIN <= number <= INT64_MAX:
            self._warn_once(
                "<step>", f"step {number} is outside int64: the next step ({auto}) is used"
            )
            return auto
        return number

    def _clean(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        """The slow path: flatten and convert by `tracker.values`' rules, one warning per
        key for what is skipped or overwritten; strings go to the summary."""
        quick = self._known_with_strings(metrics)
        if quick is not None:
            return quick
        flat, problems = flatten_metrics(metrics)
        for problem in problems:
            self._warn_once(problem.key, problem.why)
        clean: dict[str, float] = {}
        strings: dict[str, str] = {}
        names = self._key_names
        for given, value in flat.items():
            key = names.get(given)
            if key is None:  # a name holding a secret's shape is redacted (once per name)
                key = names[given] = self._redactor.redact_text(given)
            try:
                clean[key] = to_scalar(value)
            except NotAScalar as why:
                if isinstance(value, str):
                    strings[key] = value
                    self._string_keys[key] = value
                    self._warn_once(key, "a string is not a metric; it is kept in the summary")
                else:
                    self._warn_once(key, f"{why}; the value is skipped")
                continue
            if key == given:  # a redacted name keeps taking this path, to be redacted
                self._known_keys.add(key)
        if strings:
            self.log_summary(strings)
        return clean

    def _known_with_strings(self, metrics: Mapping[str, Any]) -> dict[str, float] | None:
        """Numbers of known keys and strings of keys already seen holding strings (a phase
        name logged every step): no flattening, no conversion; ``None`` for anything
        else."""
        known, string_keys = self._known_keys, self._string_keys
        values: dict[str, float] = {}
        strings: dict[str, str] = {}
        for key, value in metrics.items():
            kind = type(value)
            if kind in _FAST_TYPES and key in known:
                values[key] = value
            elif kind is str and key in string_keys:
                if string_keys[key] != value:  # unchanged: the summary has it already
                    string_keys[key] = value
                    strings[key] = self._string_value(key, value)
            else:
                return None
        if strings:
            self._put(LogSummary(strings))
        return values

    def _string_value(self, key: str, value: str) -> str:
        """A string metric value as the summary keeps it: cleaned and redacted (by value
        shape; the whole value where the key names a secret, as decided once per key)."""
        secret = self._secret_keys.get(key)
        if secret is None:
            secret = self._secret_keys[key] = self._redactor.redact({key: "x"})[key] != "x"
        return REDACTED if secret else self._redactor.redact_text(clean_text(value))

    def _warn_once(self, key: str, why: str) -> None:
        if key not in self._warned_keys:
            self._warned_keys.add(key)
            log.warning("tracker: metric %s: %s (warned once per metric)", key, why)

    def _put(self, call: LogConfig | LogSummary | LogEvent | LogTable) -> None:
        channel = self._channel
        if channel is not None:
            channel.put(call)

    def log_config(self, config: Mapping[str, Any]) -> None:
        """Merge ``config`` into the run's config (nested dicts merge, later wins).

        Any values are accepted and converted to JSON by documented rules
        (`tracker.values`); keys that look like secrets are redacted unless
        ``TRACKER_REDACT=0``. What is not a mapping is skipped with a warning.
        """
        if not self._ready():
            return
        clean = self._mapping("log_config", config)
        if clean is None:
            return
        self.config = deep_merge(self.config, clean)
        self._put(LogConfig(clean))

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        """Merge values into the run's summary: final figures that are not curves."""
        if not self._ready():
            return
        clean = self._mapping("log_summary", summary)
        if clean is not None:
            self._put(LogSummary(clean))

    def _mapping(self, what: str, given: Any) -> dict[str, Any] | None:
        """``given`` as clean, redacted JSON; ``None`` (and one warning) if it is not a
        mapping or cannot be converted."""
        try:
            clean = self._redactor.redact(to_json(given))
        except Exception as exc:
            log.warning("tracker: %s skipped: converting it raised %s", what, type(exc).__name__)
            return None
        if not isinstance(clean, dict):
            log.warning("tracker: %s takes a mapping, not %s; skipped", what, type(given).__name__)
            return None
        return clean

    def log_event(
        self, kind: str, payload: Mapping[str, Any] | None = None, *, step: int | None = None
    ) -> None:
        """Record something that happened: a checkpoint saved, a phase begun."""
        if not self._ready():
            return
        data = self._mapping("log_event", {} if payload is None else payload)
        if data is None:
            return
        if step is not None and (type(step) is not int or not INT64_MIN <= step <= INT64_MAX):
            step = self._as_step(step)
        name = _text_or(kind, None) if isinstance(kind, str) else None
        name = name or _safe_repr(kind)
        self._put(LogEvent(Event(name, time.time(), step, data)))

    def log_table(
        self, key: str, rows: Iterable[Mapping[str, Any]], step: int | None = None
    ) -> None:
        """Record rows of text and numbers as the table ``key`` at ``step`` (default: the
        last step logged): completions, generations, samples. One step's rows replace
        that step's earlier rows; other steps keep theirs. Only copies the rows here;
        the writer converts them (`tracker.tables`). Nothing raises.
        """
        if not self._ready():
            return
        try:
            name = clean_text(key if type(key) is str else str(key)).strip("/")
            copied = [dict(row) if isinstance(row, Mapping) else row for row in rows]
        except Exception as exc:
            log.warning(
                "tracker: log_table skipped: reading its rows raised %s", type(exc).__name__
            )
            return
        if not name:
            log.warning("tracker: log_table needs a name, such as 'eval/generations'; skipped")
            return
        if step is None:
            step = max(0, self.last_step)
        elif type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
            step = self._as_step(step)
        self._put(LogTable(name, step, copied))

    def log_text(self, key: str, text: str, step: int | None = None) -> None:
        """Record one text as the table ``key`` of one row and one column, ``text``."""
        self.log_table(key, [{"text": text}], step)

    def log_artifact(
        self,
        path: str | os.PathLike[str],
        *,
        kind: str = "checkpoint",
        name: str | None = None,
        step: int | None = None,
        metrics: Mapping[str, Any] | None = None,
        best: bool = False,
        meta: Mapping[str, Any] | None = None,
        loaded_from: str | os.PathLike[str] | None = None,
    ) -> None:
        """Record ``path`` (a file, a folder, or a URI such as ``s3://...``) as a version
        this run produced: ``kind`` ``checkpoint``, ``model``, ``adapter``, ... at ``step``
        (default: the last step logged), with ``metrics`` (default: the run's latest
        value of each metric). Only queues, whatever the size: the digest is computed in
        a low-priority helper process (docs/artifacts.md). Nothing raises here; the
        bytes stay where they are.

        ``loaded_from`` names the version this one's weights were loaded from (a best
        checkpoint reloaded at the end of training): ``meta["loaded_from"]`` holds its
        uri, and where this process logged it, its step and metrics at save are this
        version's unless given.
        """
        if loaded_from is not None and self._ready():
            try:
                uri = _absolute(_fspath(loaded_from))
                meta = {**(meta or {}), "loaded_from": uri}
            except Exception as exc:  # a hostile argument: the version is still recorded
                log.warning("tracker: loaded_from %s ignored: %s", _safe_repr(loaded_from), exc)
            else:
                source = self._outputs.get(uri)
                if source is not None:
                    step = source.step if step is None else step
                    metrics = source.metrics if metrics is None else metrics
        self._request("output", path, kind, name, step, metrics, best, meta)

    def use_artifact(
        self,
        ref: str | os.PathLike[str],
        *,
        kind: str = "model",
        name: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Record ``ref`` as an input of this run: a local path (hashed, so that a
        checkpoint of another run is linked to it), a hub id (``Qwen/Qwen2.5-0.5B``) or a
        URI (``s3://``, ``hf://``), recorded as given. ``meta`` holds what else is known
        (a revision, a dataset's split and rows). Only queues; nothing raises here."""
        self._last_used = self._request("input", ref, kind, name, None, None, False, meta)

    def log_evaluation(
        self,
        task: str,
        metrics: Mapping[str, Any],
        *,
        artifact: str | os.PathLike[str] | Artifact | None = None,
        stderr: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
        samples: Iterable[Mapping[str, Any]] | None = None,
    ) -> str | None:
        """Record scores of ``task`` as an evaluation of a version: ``artifact`` (a path
        or URI, used as `use_artifact` uses it; an `Artifact` from a store), by default
        the one last given to `use_artifact`. ``settings`` tell evaluations of one
        version apart (harness, few-shot, limit, ...); ``samples`` (one mapping per
        sample) become the evaluation's table. Returns the evaluation's id (``None`` where
        nothing was recorded). Only queues; nothing raises (docs/evaluations.md)."""
        if not self._ready() or self._channel is None or self.run_id is None:
            return None
        found = build_evaluation(
            self.run_id, task, metrics, stderr=stderr, settings=settings,
            redact=self._redactor.redact, at=time.time(),
        )  # fmt: skip
        if not found:
            return None
        if isinstance(artifact, Artifact):
            ref = of_version(found, artifact)
        elif artifact is not None:
            ref = self._request("input", artifact, "checkpoint", None, None, None, False, None)
        else:
            ref = self._last_used
        self._put_request(evaluation_work(found, ref, samples, self._put))
        return found[0].eval_id

    def mark_artifact(
        self, path: str | os.PathLike[str], *, gone: bool = False, best: bool = False
    ) -> None:
        """Change a version this process logged: ``gone`` (its files were deleted, by a
        checkpoint rotation or by hand; the record stays) or ``best`` (the version to
        ship: one per run and kind)."""
        if not (gone or best) or not self._ready():
            return
        text = _fspath(path)
        local = local_path(text)
        ref = text if local is None else os.path.abspath(local)
        if gone:
            self._put_request(MarkGone(ref))
        if best:
            self._put_request(MarkBest(ref))

    def watch_artifacts(
        self, folder: str | os.PathLike[str], pattern: str, *, kind: str = "checkpoint"
    ) -> None:
        """Log each subfolder of ``folder`` whose name matches the regular expression
        ``pattern`` (``epoch_\\d+``) and that is written from now on as a version of
        ``kind``, once complete: at the step last logged before it was written, with the
        metrics then; at `finish`, what is there after a last look. For frameworks that
        save without telling: the writer thread looks, the training thread never does. A
        folder also given to `log_artifact` is that call's version only."""
        if not self._ready():
            return
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"watch_artifacts: pattern {pattern!r} is no regular expression: {exc}"
            ) from None
        ref = os.path.abspath(local_path(_fspath(folder)) or _fspath(folder))
        kind = _text_or(kind, "checkpoint")
        self._put_request(WatchFolder(ref, pattern, kind, time.time()))

    def check_artifacts(self) -> None:
        """Mark ``gone`` every local version this process logged whose path no longer
        exists: an adapter calls it after a framework rotated its checkpoints away
        (``save_total_limit``). Only queues: the paths are looked at in the background."""
        if self._ready():
            self._put_request(CheckGone())

    def _request(
        self,
        direction: str,
        ref: str | os.PathLike[str],
        kind: str,
        name: str | None,
        step: int | None,
        metrics: Mapping[str, Any] | None,
        best: bool,
        meta: Mapping[str, Any] | None,
    ) -> str:
        """Queue the request; the reference as queued (``""`` where it was skipped)."""
        if not self._ready():
            return ""
        try:
            if step is None and direction == "output" and self.last_step >= 0:
                step = self.last_step
            elif step is not None and (type(step) is not int or not INT64_MIN <= step <= INT64_MAX):
                step = self._as_step(step)
            text = _fspath(ref)
            if not text.strip():  # "" would be the working directory: never what was meant
                log.warning(
                    "tracker: %s_artifact(%r) skipped: an empty path names nothing; give a "
                    "file, a folder or a URI",
                    "log" if direction == "output" else "use",
                    text,
                )
                return ""
            path = local_path(text)
            existed = path is not None and os.path.lexists(path)  # one stat, now: a
            if path is not None and (existed or direction == "output"):  # rotation may
                text = os.path.abspath(path)  # delete it before the hash
            request = ArtifactRequest(
                text,
                direction,
                _text_or(kind, "artifact"),
                at=time.time(),
                name=None if name is None else _text_or(name, None),
                step=step,
                metrics=None if metrics is None else _numbers(metrics),
                best=bool(best),
                meta=None if meta is None else self._mapping(f"{direction} meta", meta),
                existed=existed,
            )
        except Exception as exc:  # a hostile argument: never the training loop's problem
            log.warning("tracker: artifact %s skipped: %s", _safe_repr(ref), exc)
            return ""
        if direction == "output":  # the writer fills in its metrics: a later loaded_from
            self._outputs[request.ref] = request  # reads them
        self._put_request(request)
        return text

    def _put_request(self, request: ArtifactWork) -> None:
        channel = self._channel
        if channel is not None:
            self._artifacts_requested = True
            channel.put(request)

    def alert(self, title: str, text: str = "", level: str = "info") -> None:
        """Raise an alert: recorded as an ``alert`` event on the run and posted to the
        webhooks of ``TRACKER_ALERT_WEBHOOKS`` from a background thread (this never waits
        on the network). ``level`` is ``info``, ``warn`` or ``error``, in any case, or a
        Python logging name for one (``warning``, ``critical``). The same title again
        within ``TRACKER_ALERT_MIN_INTERVAL`` seconds is not raised again (docs/alerts.md).

        Like every log call it never raises: an unknown level is warned about once and
        taken as ``info``; a title and text are taken as their ``str()``, an empty title as
        ``alert``. Title and text are redacted like every other text a run records.
        """
        if not self._ready():
            return
        assert self._alerts is not None
        checked = check_level(level)
        if checked is None:
            shown = _safe_repr(level)
            self._warn_call(
                f"<level {shown}>", f"alert level {shown} is not info, warn or error; info is used"
            )
            checked = "info"
        name = _text_or(title, None)
        if name is None:
            self._warn_call("<alert title>", "alert() was given no title; 'alert' is used")
            name = "alert"
        step = self.last_step
        body = _text_or(text, "") if text else ""
        self._alerts.alert(name, body, checked, step=step if step >= 0 else None)

    def _warn_call(self, key: str, why: str) -> None:
        if key not in self._warned_keys:
            self._warned_keys.add(key)
            log.warning("tracker: %s (warned once)", why)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything logged so far is written (for tests and notebooks)."""
        writer = self._writer
        if writer is None:
            return
        writer.channel.sync(timeout)


def _text_or(value: Any, default: str | None) -> Any:
    """``value`` as text every store can hold (its ``str()`` for other types); ``default``
    when that fails or is empty."""
    try:
        text = clean_text(value if type(value) is str else str(value)).strip()
    except Exception:
        return default
    return text or default


def _texts(values: Any) -> list[str]:
    """Tags as texts; a tag that cannot be read as text is left out."""
    try:
        items = [values] if isinstance(values, str) else list(values)
    except Exception:
        return []
    return [t for t in (_text_or(v, None) for v in items) if t]


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The values of ``metrics`` that are numbers, flattened by the rules of
    `log_metrics` (what is not a number is left out: these are a version's metrics at
    save, not a point of a curve)."""
    flat, _ = flatten_metrics(metrics)
    numbers: dict[str, float] = {}
    for key, value in flat.items():
        try:
            numbers[key] = to_scalar(value)
        except NotAScalar:
            continue
    return numbers


def _fspath(ref: Any) -> str:
    """A path or reference as text (``os.PathLike`` included)."""
    return ref if isinstance(ref, str) else os.fsdecode(os.fspath(ref))


def _absolute(ref: str) -> str:
    """A local path made absolute (as requests hold it); a reference as it is."""
    path = local_path(ref)
    return ref if path is None else os.path.abspath(path)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:200]
    except Exception:
        return f"<{type(value).__name__}>"


class _Given:
    """The factory of a backend instance the user passed in: theirs to close, not ours."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def __call__(self, _uri: str) -> Backend:
        return self.backend


def _first_readable(
    backends: list[tuple[str, Callable[[str], Backend]]],
) -> tuple[Store, bool] | None:
    """The first backend that can be read back, and whether it was opened here."""
    for uri, factory in backends:
        try:
            backend = factory(uri)
        except Exception:
            continue
        if isinstance(backend, Store):
            return backend, not isinstance(factory, _Given)
    return None
