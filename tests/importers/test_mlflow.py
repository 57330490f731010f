"""``tracker import mlflow``: runs logged with mlflow.log_metrics on SQLite and file stores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from checks import counts, expected, only_run, points, same

from conftest import Produce
from pg_server import PostgresServer, pg  # noqa: F401  (pg: the session's server)
from tracked_runs import Cli
from tracker.store import Store


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_runs_import_with_params_tags_status_and_values(
    kind: str, produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """Two runs (one failed) of a store: params as config, tags, status, start and end,
    every point (NaN and inf kept); a second import adds nothing."""
    uri = f"sqlite:///{tmp_path}/mlflow.db" if kind == "sqlite" else (tmp_path / "mlruns").as_uri()
    produce("mlflow", uri, "good", 6)
    produce("mlflow", uri, "bad", 4, "0", "--fail")
    result = cli("import", "mlflow", uri)
    assert result.code == 0, result.err
    good, bad = only_run(store, "mlflow", "good"), only_run(store, "mlflow", "bad")
    assert (good.status, bad.status) == ("finished", "failed")
    assert good.project == "exp" and good.tags == ["baseline=yes"]
    assert good.config == {"lr": "0.1", "optimizer": "adam"}
    assert 0 < good.started_at <= (good.ended_at or 0)
    want = expected(6)
    if kind == "sqlite":  # MLflow's SQL store keeps +inf as the largest float, and reads it so
        want["eval/acc"][3] = (3, sys.float_info.max)
    for key, values in want.items():
        assert same(points(store, good, key), values), key
    before = counts(store)
    again = cli("import", "mlflow", uri)
    assert again.code == 0 and "0 written" in again.out
    assert counts(store) == before


def test_experiment_filter_and_a_bad_uri(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """--experiment takes one experiment; a file that is no database, or no file, is a
    clear error with exit status 1."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    produce("mlflow", uri, "one", 3, "0", "--experiment", "first")
    produce("mlflow", uri, "two", 3, "0", "--experiment", "second")
    assert cli("import", "mlflow", uri, "--experiment", "second").code == 0
    assert [r.name for r in store.runs()] == ["two"]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    bad = cli("import", "mlflow", f"sqlite:///{garbage}")
    assert bad.code == 1 and "not a readable SQLite database" in bad.err
    missing = cli("import", "mlflow", f"sqlite:///{tmp_path}/none.db")
    assert missing.code == 1 and "no such file" in missing.err
    assert not (tmp_path / "none.db").exists()


def test_a_run_without_points_is_imported_and_said(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """A run with params and no metric: its record is imported, the report says it had
    no points, and the exit status is 0."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    produce("mlflow", uri, "empty", 0)
    result = cli("import", "mlflow", uri)
    assert result.code == 0, result.err
    assert "no points" in result.err
    run = only_run(store, "mlflow", "empty")
    assert run.config == {"lr": "0.1", "optimizer": "adam"} and store.keys(run.run_id) == []


def test_a_postgresql_tracking_database(
    pg: PostgresServer,  # noqa: F811
    produce: Produce,
    cli: Cli,
    store: Store,
) -> None:
    """MLflow on a real PostgreSQL server (postgresql+psycopg://): the run and its points,
    and the password is not written into the run."""
    uri = pg.create_database("mlflow_import").replace("postgresql://", "postgresql+psycopg://")
    produce("mlflow", uri, "on-pg", 5)
    result = cli("import", "mlflow", uri)
    assert result.code == 0, result.err
    run = only_run(store, "mlflow", "on-pg")
    for key, want in expected(5).items():
        if key == "eval/acc":  # PostgreSQL keeps +inf as the largest float, as SQLite does
            want[3] = (3, sys.float_info.max)
        assert same(points(store, run, key), want), key
    assert "tracker-test-pw" not in str(run.environment)


def test_a_nested_run_is_in_the_sweep_of_its_parent(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """A child run (``nested=True``) is in the sweep named by its parent run: listed by
    ``tracker runs --sweep`` and shown by ``tracker show``; the parent is no trial."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    parent_id = produce("mlflow", uri, "search", 3, "0", "--nested").split()[-1]
    assert cli("import", "mlflow", uri).code == 0
    trial = only_run(store, "mlflow", "search-trial")
    assert trial.sweep == "search" and only_run(store, "mlflow", "search").sweep is None
    assert trial.environment["mlflow"]["mlflow.parentRunId"] == parent_id
    listed = json.loads(cli("runs", "--sweep", "search", "--json").out)
    assert [r["name"] for r in listed] == ["search-trial"]
    assert "sweep: search" in cli("show", trial.run_id).out
