"""Trackio projects: one SQLite database a project (``<TRACKIO_DIR>/<project>.db``).

SOURCE is a Trackio folder (every project database in it) or one ``.db`` file. The
database is opened read-only and read as Trackio writes it (its ``metrics``, ``configs``
and ``system_metrics`` tables, in the order written, 1,000 rows a page); a page's JSON is
decoded in one ``json.loads``, and the rows holding ``"NaN"`` or ``"Infinity"`` go through
Trackio's own ``deserialize_values`` (back to floats):

* a run is a run id of the project (its name where the database predates run ids); the
  project is the file's name;
* ``configs``: the config; Trackio's own ``_Username``, ``_Created``, ``_Group`` go to
  the run's environment under ``trackio``;
* ``metrics`` rows: each numeric value at the row's step and timestamp; values that are
  not numbers (media, tables) are skipped, by key;
* ``system_metrics`` rows: ``system/<key>`` metrics, each row one step (0, 1, 2...);
* Trackio keeps no status: a run is ``finished`` at its last row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker.importers.core import FileSource, NotSourceData, Page, Row, Skipped, SourceRun
from tracker.integrations import requires_extra

with requires_extra("import-trackio", module="tracker import trackio"):
    from trackio.utils import deserialize_values

__all__ = ["SOURCE"]

_PAGE = 1_000  # rows fetched, decoded and written at once
# Rows holding one of these hold a value `deserialize_values` turns back into a float
# ("Infinity", "-Infinity", "NaN"); on the others it would return what it is given.
_INFINITY = 'Infinity"'
_NAN = '"NaN"'


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


@dataclass(kw_only=True)
class TrackioRun(SourceRun):
    """One run of a project database."""

    path: Path
    column: str  # run_id, or run_name in databases without run ids
    key: str  # the run's value of that column

    def rows(self) -> Iterator[Row]:
        """The run's metric rows, then its system metric rows, in the order written."""
        for page in self.pages():
            yield from page.rows()

    def pages(self) -> Iterator[Page]:
        """The rows of `rows`, `_PAGE` at a time."""
        conn = _connect(self.path)
        try:
            where = f"WHERE {self.column} = ? ORDER BY id"  # column: one of two names
            # The JSON as text (Trackio may store it as a blob), so that a page's rows
            # are decoded in one `json.loads`.
            rows = conn.execute(
                f"SELECT step, timestamp, CAST(metrics AS TEXT) FROM metrics {where}",
                (self.key,),
            )
            yield from self._pages(rows, system=False)
            if _has_table(conn, "system_metrics"):
                rows = conn.execute(
                    f"SELECT 0, timestamp, CAST(metrics AS TEXT) FROM system_metrics {where}",
                    (self.key,),
                )
                yield from self._pages(rows, system=True)
        finally:
            conn.close()

    def _pages(self, cursor: sqlite3.Cursor, *, system: bool) -> Iterator[Page]:
        sample = 0
        last = self.started_at
        while rows := cursor.fetchmany(_PAGE):
            texts = [text for _, _, text in rows]
            values: list[dict[str, Any]] = json.loads(f"[{','.join(texts)}]")
            for i in [i for i, text in enumerate(texts) if _INFINITY in text or _NAN in text]:
                values[i] = deserialize_values(values[i])  # only where it changes a value
            times = list(map(_seconds, [stamp for _, stamp, _ in rows]))
            last = max(last, *times)
            if system:
                steps = list(range(sample, sample + len(rows)))
                values = [{f"system/{k}": v for k, v in row.items()} for row in values]
            else:
                steps = [step for step, _, _ in rows]
            sample += len(rows)
            yield Page(steps, times, values)
        self.ended_at = max(self.ended_at or last, last)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return found.fetchone() is not None


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # a fixed name


_METRICS_COLUMNS = {"run_name", "step", "timestamp", "metrics"}  # of every Trackio version
_NOT_TRACKIO = "not a Trackio project database (a metrics table with run_name, step, metrics)"


def _project_runs(path: Path, given: bool) -> Iterator[SourceRun | Skipped]:
    """The runs of one project database; where it is not one, `NotSourceData` for the
    file ``given`` as SOURCE, a `Skipped` for a file found in a folder."""
    try:
        conn = _connect(path)
        try:
            columns = _columns(conn, "metrics") if _has_table(conn, "metrics") else set()
            if not columns >= _METRICS_COLUMNS:
                if given:
                    raise NotSourceData(f"{_NOT_TRACKIO}; expected a Trackio folder or .db")
                yield Skipped(str(path), _NOT_TRACKIO)
                return
            column = "run_id" if "run_id" in columns else "run_name"
            found = conn.execute(
                f"SELECT {column}, run_name, MIN(timestamp) FROM metrics "
                f"GROUP BY {column} ORDER BY MIN(id)"
            ).fetchall()
            configs: dict[str, tuple[dict[str, Any], str]] = {}
            if _has_table(conn, "configs"):
                for key, text, created in conn.execute(
                    f"SELECT {column}, config, created_at FROM configs"
                ):
                    configs[key] = (deserialize_values(json.loads(text)), created)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if given:
            raise NotSourceData(f"not a readable SQLite database ({exc}): {_NOT_TRACKIO}") from None
        yield Skipped(str(path), f"not a readable SQLite database ({exc})")
        return
    project = path.stem
    for key, name, first in found:
        config, created = configs.get(key, ({}, first))
        own = {k.lstrip("_"): v for k, v in config.items() if k.startswith("_") and v is not None}
        yield TrackioRun(
            tool="trackio",
            source_id=f"{project}/{key}",
            location=str(path),
            name=name,
            project=project,
            started_at=_seconds(created or first),
            config={k: v for k, v in config.items() if not k.startswith("_")},
            environment={"trackio": own} if own else {},
            path=path,
            column=column,
            key=key,
        )


class TrackioSource(FileSource):
    """Finds the project databases of a Trackio folder."""

    tool = "trackio"

    def runs_at(self, root: Path) -> Iterator[SourceRun | Skipped]:
        """Every run of every project database at ``root``."""
        if root.is_file():
            yield from _project_runs(root, given=True)
            return
        for path in sorted(root.glob("*.db")):
            yield from _project_runs(path, given=False)


SOURCE = TrackioSource()
