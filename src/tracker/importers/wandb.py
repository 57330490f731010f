"""Weights & Biases run folders (offline or synced), read from their ``.wandb`` record logs.

A W&B run writes every call as a ``Record`` protobuf into ``run-<id>.wandb`` in its folder
(``wandb/offline-run-*`` or ``wandb/run-*``), framed as a LevelDB log (32 KiB blocks of
records with a CRC32 each, after a 7-byte ``:W&B`` header). W&B 0.31 reads those logs in
its Go core only, so the framing is read here, record by record, and each record is
parsed with W&B's own protobuf classes (``wandb.proto.wandb_internal_pb2``):

* ``run``: the run's id, name, project, tags, start time; entity, group, job type,
  notes and host go to the run's environment under ``wandb``;
* the run record's config and later ``config`` updates are the config (W&B's own
  ``_wandb`` key left out);
* ``history`` rows are the metrics: each numeric value at the row's step (``_step``),
  at its ``_timestamp``; values that are not numbers (media, text) are skipped, by key;
* ``stats`` (W&B's system monitor) are ``system/<key>`` metrics at the step last logged;
* ``summary`` updates are the summary (W&B's own ``_step``, ``_runtime``... left out);
* ``exit``: the end: ``finished`` for exit code 0, else ``failed``; a log without one
  (the process was killed, or still runs) ends ``crashed`` at its last record.

The run's id in W&B (with its project) is its identity: the folders of a resumed run
are read as one run, in folder order. A log cut short or damaged is read up to the damage.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tracker.importers.core import FileSource, NotSourceData, Row, Skipped, SourceRun
from tracker.integrations import requires_extra
from tracker.records import RunStatus

with requires_extra("import-wandb", module="tracker import wandb"):
    from wandb.proto import wandb_internal_pb2

__all__ = ["SOURCE", "RecordLogError", "read_records"]

_HEADER = struct.Struct("<4sHB")  # ident, magic, version
_IDENT, _MAGIC, _VERSION = b":W&B", 0xBEE1, 0
_RECORD = struct.Struct("<IHB")  # crc32 of type and data, length, type
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_INTERNAL = ("_step", "_runtime", "_timestamp")


class RecordLogError(ValueError):
    """A ``.wandb`` file is not a record log, or is damaged at some offset."""


def read_records(handle: BinaryIO, problems: list[str] | None = None) -> Iterator[bytes]:
    """The records of a ``.wandb`` log, as bytes. Where the log is cut short or damaged,
    reading stops there, and (with ``problems``) says so; a file that is not a record
    log at all raises `RecordLogError`."""
    head = handle.read(_HEADER.size)
    if len(head) < _HEADER.size or _HEADER.unpack(head) != (_IDENT, _MAGIC, _VERSION):
        raise RecordLogError("not a W&B record log (no :W&B header)")
    offset = _HEADER.size
    parts: list[bytes] = []
    while True:
        room = _BLOCK - offset % _BLOCK
        if room < _RECORD.size:  # the block's zero trailer
            handle.read(room)
            offset += room
        head = handle.read(_RECORD.size)
        if not head:
            break
        damage = None
        if len(head) < _RECORD.size:
            damage = "cut short in a record's header"
        else:
            crc, length, kind = _RECORD.unpack(head)
            if crc == length == kind == 0:  # preallocated space past the last record
                break
            data = handle.read(length)
            if len(data) < length:
                damage = "cut short in a record"
            elif zlib.crc32(data, zlib.crc32(bytes((kind,)))) != crc:
                damage = "a record fails its CRC"
            elif kind not in (_FULL, _FIRST, _MIDDLE, _LAST):
                damage = f"unknown record type {kind}"
        if damage is not None:
            if problems is not None:
                problems.append(f"{damage} at byte {offset:,}; the records before it are read")
            return
        offset += _RECORD.size + length
        if kind == _FULL:
            yield data
        elif kind == _FIRST:
            parts = [data]
        elif kind == _MIDDLE:
            parts.append(data)
        else:
            parts.append(data)
            yield b"".join(parts)
            parts = []


def _seconds(stamp: Any) -> float:
    return float(stamp.seconds + stamp.nanos / 1e9)


def _key(item: Any) -> str:
    """An item's name: W&B 0.31 writes it as ``nested_key`` (one part for a flat name)."""
    if item.key:
        return str(item.key)
    nested = item.nested_key
    return str(nested[0]) if len(nested) == 1 else "/".join(nested)


def _value(text: str) -> Any:
    """A JSON value: ``float`` reads every JSON number (and W&B's ``NaN``, ``Infinity``)
    several times faster than ``json.loads``, which decodes the rest (text, media)."""
    try:
        return float(text)
    except ValueError:
        return json.loads(text)


@dataclass(kw_only=True)
class WandbRun(SourceRun):
    """One W&B run: its record logs, in order."""

    files: list[Path] = field(default_factory=list)

    def rows(self) -> Iterator[Row]:
        """The history and system stats of every record log of the run."""
        step = 0
        last = self.started_at
        exited = False
        summary: dict[str, str] = {}  # key -> its last JSON
        for record in self._records():
            kind = record.WhichOneof("record_type")
            if kind == "history":
                step, last, row = _history(record.history, step, last)
                yield step, last, row
            elif kind == "stats":
                at = _seconds(record.stats.timestamp)
                last = max(last, at)
                yield (
                    step,
                    at,
                    [(f"system/{i.key}", _value(i.value_json)) for i in record.stats.item],
                )
            elif kind == "config":
                self._merge(self.config, ((_key(i), i.value_json) for i in record.config.update))
            elif kind == "summary":  # one after each row: decoded once, at the end
                for item in record.summary.update:
                    summary[_key(item)] = item.value_json
            elif kind == "exit":
                exited = True
                self._exit(record.exit, last)
        self._merge(self.summary, summary.items())
        if not exited:
            self.status = RunStatus.CRASHED.value
            self.ended_at = max(last, self.started_at)

    def _records(self) -> Iterator[Any]:
        """The parsed records of every log, in order; damage is noted in ``problems``."""
        parse = wandb_internal_pb2.Record.FromString
        for path in self.files:
            with path.open("rb") as handle:
                try:
                    for data in read_records(handle, self.problems):
                        yield parse(data)
                except RecordLogError as exc:
                    self.problems.append(f"{path.name}: {exc}")

    def _exit(self, exit: Any, last: float) -> None:
        code = exit.exit_code
        self.status = RunStatus.FINISHED.value if code == 0 else RunStatus.FAILED.value
        self.error = None if code == 0 else f"exit code {code}"
        runtime = exit.runtime
        self.ended_at = self.started_at + runtime if runtime else max(last, self.started_at)

    @staticmethod
    def _merge(target: dict[str, Any], items: Iterable[tuple[str, str]]) -> None:
        """Decode ``(key, JSON)`` pairs into ``target``."""
        for key, text in items:
            if key.startswith("_"):  # W&B's own: _wandb, _step, _runtime, _timestamp
                continue
            value = json.loads(text)
            if isinstance(value, dict) and set(value) == {"value"}:
                value = value["value"]  # a config item as W&B wraps it
            target[key] = value


def _history(history: Any, step: int, last: float) -> tuple[int, float, list[tuple[str, Any]]]:
    """A history row's step, time and ``(key, value)`` pairs (W&B's own keys apart)."""
    row = []
    at = last
    for item in history.item:
        key = _key(item)
        if key == "_timestamp":
            at = float(item.value_json) or last
        elif key == "_step":
            step = int(float(item.value_json))
        elif key not in _INTERNAL:
            try:
                row.append((key, float(item.value_json)))
            except ValueError:
                row.append((key, json.loads(item.value_json)))
    if history.HasField("step"):
        step = history.step.num
    return step, at, row


def _peek(path: Path) -> Any:
    """The ``run`` record of a log (it comes first, after the header)."""
    with path.open("rb") as handle:
        for n, data in enumerate(read_records(handle)):
            record = wandb_internal_pb2.Record.FromString(data)
            if record.WhichOneof("record_type") == "run":
                return record.run
            if n > 1000:
                break
    return None


_EXPECTED = "expected a W&B run folder (offline-run-*, run-*) or its .wandb file"


class WandbSource(FileSource):
    """Finds the runs under a folder (or in a ``.wandb`` file)."""

    tool = "wandb"

    def runs_at(self, root: Path) -> Iterator[SourceRun | Skipped]:
        """Every run whose record logs are at or under ``root``."""
        paths = [root] if root.is_file() else sorted(root.rglob("*.wandb"))
        runs: dict[str, WandbRun] = {}
        for path in paths:
            try:
                info = _peek(path)
            except (OSError, RecordLogError) as exc:
                if path == root:
                    raise NotSourceData(f"{exc}; {_EXPECTED}") from None
                yield Skipped(str(path), str(exc))
                continue
            if info is None:
                if path == root:
                    raise NotSourceData(f"no run record: not the log of a run; {_EXPECTED}")
                yield Skipped(str(path), "no run record: not the log of a run")
                continue
            source_id = f"{info.entity}/{info.project}/{info.run_id}"
            if source_id in runs:
                runs[source_id].files.append(path)
                continue
            started = _seconds(info.start_time)
            config: dict[str, Any] = {}
            WandbRun._merge(config, ((_key(i), i.value_json) for i in info.config.update))
            runs[source_id] = WandbRun(
                tool=self.tool,
                source_id=source_id,
                location=str(path.parent),
                name=info.display_name or info.run_id,
                project=info.project or "wandb",
                started_at=started,
                config=config,
                tags=list(info.tags),
                environment={
                    "wandb": {
                        k: v
                        for k, v in {
                            "entity": info.entity,
                            "run_id": info.run_id,
                            "group": info.run_group,
                            "job_type": info.job_type,
                            "notes": info.notes,
                            "host": info.host,
                        }.items()
                        if v
                    }
                },
                files=[path],
            )
        yield from runs.values()


SOURCE = WandbSource()
