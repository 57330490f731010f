"""TensorBoard event files, read with TensorBoard's own loader (``EventFileLoader``).

A run is a folder that holds event files (``*tfevents*``), as TensorBoard shows them; its
name is the folder's path under the folder imported (that folder's own name for itself),
its id the folder's absolute path. A sub-folder named by a timestamp, where
``SummaryWriter.add_hparams`` writes, belongs to its parent run. A run's files are read
in name order (their names start with the time they were opened), event by event:

* scalars (``add_scalar``, ``tf.summary.scalar``) are the metrics: tag, step, value
  (a float32 as TensorBoard keeps it), wall time;
* hyperparameters (``add_hparams``'s session start) are the config;
* text (``add_text``) becomes events of kind ``text`` (tag, step, text), except the JSON
  that transformers' TensorBoard callback writes as ``args`` and ``model_config``: the
  config's ``args`` and ``model``, as a native run of the Trainer has them;
* the run starts with its first event and ends, ``finished``, with its last.

A file cut short or damaged (a failed CRC) is read up to the damage; the report says
where it stopped. A file given as SOURCE that holds no event at all is not an event file
(`NotSourceData`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.importers.core import FileSource, NotSourceData, Row, Skipped, SourceRun
from tracker.integrations import requires_extra
from tracker.records import Event

with requires_extra("import-tensorboard", module="tracker import tensorboard"):
    from tensorboard.backend.event_processing.event_file_loader import (
        EventFileLoader,
        RawEventFileLoader,
    )
    from tensorboard.plugins.hparams import plugin_data_pb2

__all__ = ["SOURCE"]

# the JSON texts transformers' TensorBoardCallback writes (`add_text("args", ...)`), read
# into the config under the names a native run of the Trainer has (integrations.transformers)
_CONFIG_TEXTS = {"args/text_summary": "args", "model_config/text_summary": "model"}
_RECORD_FRAMING = 16  # a record's length (8 bytes) and two CRCs (4 each) around its data


class _CountingRaw(RawEventFileLoader):  # type: ignore[misc]  # untyped library
    """Counts the bytes of the records read, so a file that stops early is noticed:
    TensorBoard's loader ends quietly at a truncated or damaged record."""

    consumed = 0

    def Load(self) -> Iterator[Any]:  # TensorBoard's name
        for record in super().Load():
            self.consumed += len(record) + _RECORD_FRAMING
            yield record


class _Loader(EventFileLoader, _CountingRaw):  # type: ignore[misc]
    """`EventFileLoader` (its compat layers included) over the counting raw reader."""


def _is_timestamp(name: str) -> bool:
    try:
        float(name)
    except ValueError:
        return False
    return True


@dataclass(kw_only=True)
class TensorBoardRun(SourceRun):
    """One run folder and its event files."""

    files: list[Path] = field(default_factory=list)

    def rows(self) -> Iterator[Row]:
        """Every scalar of every file, in file order."""
        first = True
        for path in self.files:
            loader = _Loader(str(path))
            for event in loader.Load():
                at = event.wall_time
                if first:
                    self.started_at, first = at, False
                self.ended_at = at
                if not event.HasField("summary"):
                    continue
                for value in event.summary.value:
                    plugin = value.metadata.plugin_data.plugin_name
                    if plugin == "scalars":
                        yield event.step, at, ((value.tag, _scalar(value.tensor)),)
                    elif plugin == "hparams":
                        self._hparams(value.metadata.plugin_data.content)
                    elif plugin == "text":
                        self._text(value, event.step, at)
            size = path.stat().st_size
            if loader.consumed < size:
                self.problems.append(
                    f"{path.name}: read {loader.consumed:,} of {size:,} bytes; the rest is "
                    "truncated or damaged (a failed CRC), the points before it are imported"
                )

    def _text(self, value: Any, step: int, at: float) -> None:
        text = _text(value)
        section = _CONFIG_TEXTS.get(value.tag)
        if section is not None:
            try:
                found = json.loads(text)
            except ValueError:
                found = None
            if isinstance(found, dict):
                self.config[section] = found
                return
        self.events.append(Event("text", at, step, {"tag": value.tag, "text": text}))

    def _hparams(self, content: bytes) -> None:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.HasField("session_start_info"):
            for name, value in data.session_start_info.hparams.items():
                self.config[name] = _proto_value(value)


def _check_event_file(path: Path) -> None:
    """`NotSourceData` unless ``path`` starts with an event (or is an empty event file)."""
    if next(iter(EventFileLoader(str(path)).Load()), None) is not None:
        return
    if "tfevents" in path.name and path.stat().st_size == 0:
        return  # opened by a writer, nothing written yet
    raise NotSourceData(
        "not a TensorBoard event file (expected a folder of event files, or one "
        "events.out.tfevents.* file)"
    )


def _scalar(tensor: Any) -> float:
    if tensor.float_val:
        return float(tensor.float_val[0])
    if tensor.double_val:
        return float(tensor.double_val[0])
    from tensorboard.util import tensor_util

    return float(tensor_util.make_ndarray(tensor).item())


def _text(value: Any) -> str:
    return b"\n".join(value.tensor.string_val).decode("utf-8", "replace")


def _proto_value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    return None if kind in (None, "null_value") else getattr(value, kind)


class TensorBoardSource(FileSource):
    """Finds the runs under a folder."""

    tool = "tensorboard"

    def runs_at(self, root: Path) -> Iterator[SourceRun | Skipped]:
        """Every folder under ``root`` with event files, in path order."""
        if root.is_file():
            _check_event_file(root)
            folders = {root.parent: [root]}
        else:
            folders = {}
            for directory, _dirs, names in os.walk(root):
                files = sorted(Path(directory) / n for n in names if "tfevents" in n)
                if files:
                    folders[Path(directory)] = files
        project = root.name if root.is_dir() else root.parent.name
        for folder in sorted(folders):
            if _is_timestamp(folder.name) and folder.parent in folders and folder != root:
                continue  # add_hparams' folder: read with its parent
            files = list(folders[folder])
            for child in sorted(folders):
                if child.parent == folder and _is_timestamp(child.name):
                    files += folders[child]
            try:
                started = next(iter(EventFileLoader(str(files[0])).Load())).wall_time
            except StopIteration:
                started = 0.0
            relative = folder.relative_to(root) if folder.is_relative_to(root) else folder
            yield TensorBoardRun(
                tool=self.tool,
                source_id=str(folder),
                location=str(folder),
                name=str(relative) if str(relative) != "." else folder.name,
                project=project,
                started_at=started,
                files=files,
            )


SOURCE = TensorBoardSource()
