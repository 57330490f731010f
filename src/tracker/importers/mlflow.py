"""MLflow tracking stores, read with ``MlflowClient``.

SOURCE is a tracking URI: ``sqlite:///mlflow.db``, ``postgresql://...`` (or
``postgresql+psycopg://...``), ``file:///path/mlruns``, or a path (an ``.db`` file is read
as SQLite, a folder as a file store). Every run of every experiment (``--experiment NAME``:
of that one), deleted ones left out:

* the run's name, status (``FINISHED`` finished, ``FAILED`` failed, ``KILLED``
  interrupted, ``RUNNING``/``SCHEDULED`` running), start and end times;
* params are the config (MLflow keeps them as text); tags not in ``mlflow.`` become
  ``key=value`` tags, the ``mlflow.*`` ones (user, source, git commit...) go to the run's
  environment under ``mlflow``;
* each metric's history (``MlflowClient.get_metric_history``) is its points: step, value,
  timestamp; metrics in name order, each in the order MLflow returns them;
* the project is the experiment's name;
* a nested run (``mlflow.start_run(nested=True)``: a trial of a search under its parent
  run) is in the sweep named by its parent run's name (``tracker runs --sweep NAME``, the
  dashboard's sweep panel); the parent's id stays in the environment
  (``mlflow.parentRunId``).

A local SOURCE must be an MLflow SQLite database or file store (`NotSourceData`
otherwise): MLflow would create its tables in any SQLite file, or experiments in any
folder, it is given.

MLflow's telemetry is turned off (``MLFLOW_DISABLE_TELEMETRY``) before it is imported, and
file stores are allowed (``MLFLOW_ALLOW_FILE_STORE``: MLflow 3 refuses them otherwise).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.importers.core import NotSourceData, Row, Skipped, SourceRun
from tracker.integrations import requires_extra
from tracker.records import RunStatus

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # an import never phones home
# MLflow 3 refuses to open a file store (./mlruns) without this; reading old ones is the point
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
with requires_extra("import-mlflow", module="tracker import mlflow"):
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

__all__ = ["SOURCE"]

_STATUS = {
    "FINISHED": RunStatus.FINISHED.value,
    "FAILED": RunStatus.FAILED.value,
    "KILLED": RunStatus.INTERRUPTED.value,
}


@dataclass(kw_only=True)
class MlflowRun(SourceRun):
    """One MLflow run; its metrics are read key by key."""

    client: Any
    keys: list[str]

    def rows(self) -> Iterator[Row]:
        """Each metric's history, metrics in name order."""
        for key in self.keys:
            for m in self.client.get_metric_history(self.source_id, key):
                yield m.step, m.timestamp / 1000.0, ((key, m.value),)


def tracking_uri(location: str) -> str:
    """``location`` as a tracking URI: a path becomes a ``sqlite:///`` or ``file://`` one."""
    if "://" in location:
        return location
    path = Path(location).expanduser().resolve()
    return f"sqlite:///{path}" if path.is_file() else path.as_uri()


def _local_path(uri: str) -> Path | None:
    """The file or folder a local URI names (None for a server)."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    return None


class MlflowSource:
    """Finds the runs of a tracking store."""

    tool = "mlflow"

    def discover(
        self, location: str, *, experiment: str | None = None
    ) -> Iterator[SourceRun | Skipped]:
        """Every run of every experiment (or of ``experiment``) at ``location``."""
        from tracker.store.registry import redact_uri

        uri = tracking_uri(location)
        shown = redact_uri(uri)
        local = _local_path(uri)
        if local is not None and not local.exists():
            # MLflow would create an empty store there: say it instead
            yield Skipped(shown, "no such file or folder")
            return
        if local is not None:
            _check_local(local)  # MLflow would turn anything else into a tracking store
        try:
            client = MlflowClient(tracking_uri=uri)
            experiments = client.search_experiments(view_type=ViewType.ALL)
        except Exception as exc:  # MlflowException, or the driver's own (SQLAlchemy, ...)
            yield Skipped(shown, f"could not open the tracking store: {_first_line(exc)}")
            return
        if experiment is not None:
            experiments = [e for e in experiments if e.name == experiment]
            if not experiments:
                yield Skipped(shown, f"no experiment named {experiment!r}")
                return
        parents = _Parents(client)
        for exp in sorted(experiments, key=lambda e: str(e.experiment_id)):
            token = None
            while True:
                page = client.search_runs(
                    [exp.experiment_id],
                    run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=1000,
                    order_by=["attributes.start_time ASC"],
                    page_token=token,
                )
                for found in page:
                    yield _run(client, exp.name, shown, found, parents)
                token = page.token
                if not token:
                    break


_EXPECTED = "expected sqlite:///mlflow.db, an mlruns folder or a tracking server's URI"


def _check_local(path: Path) -> None:
    """`NotSourceData` unless ``path`` is an MLflow SQLite database (it has the
    ``experiments`` table) or a file store (a folder of experiment folders with
    ``meta.yaml``)."""
    if path.is_dir():
        if not any((p / "meta.yaml").is_file() for p in path.iterdir() if p.is_dir()):
            raise NotSourceData(f"not an MLflow file store (no experiment folders); {_EXPECTED}")
        return
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='experiments'"
            ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise NotSourceData(f"not a readable SQLite database ({exc}); {_EXPECTED}") from None
    if found is None:
        raise NotSourceData(f"not an MLflow database (no experiments table); {_EXPECTED}")


class _Parents:
    """The sweep of a nested run: its parent run's name (``mlflow.parentRunId``), read
    once a parent."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.names: dict[str, str] = {}

    def sweep(self, tags: dict[str, str]) -> str | None:
        parent = tags.get("mlflow.parentRunId")
        if not parent:
            return None
        if parent not in self.names:
            try:
                self.names[parent] = self.client.get_run(parent).info.run_name or parent
            except Exception:  # a parent deleted for good: its id still groups its children
                self.names[parent] = parent
        return self.names[parent]


def _run(client: Any, project: str, shown: str, found: Any, parents: _Parents) -> MlflowRun:
    info, data = found.info, found.data
    tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
    system = {k: v for k, v in data.tags.items() if k.startswith("mlflow.")}
    end = info.end_time
    return MlflowRun(
        tool="mlflow",
        source_id=info.run_id,
        location=shown,
        name=info.run_name or info.run_id,
        project=project,
        status=_STATUS.get(info.status, RunStatus.RUNNING.value),
        started_at=(info.start_time or 0) / 1000.0,
        ended_at=None if end is None else end / 1000.0,
        config=dict(data.params),
        tags=[f"{k}={v}" if v else k for k, v in sorted(tags.items())],
        environment={"mlflow": system} if system else {},
        sweep=parents.sweep(data.tags),
        client=client,
        keys=sorted(data.metrics),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


SOURCE = MlflowSource()
