"""A SOURCE that is not the tool's data (a script, another tool's database): one line that
says what was expected, nothing written, exit status 1."""

from __future__ import annotations

from pathlib import Path

from conftest import Produce
from tracked_runs import Cli
from tracker.store import Store

SCRIPT = "import torch\nprint('training')\n" * 40


def _refused(cli: Cli, store: Store, *argv: str) -> str:
    """Run ``tracker import ARGV``; assert it refused with one line and wrote nothing."""
    result = cli("import", *argv)
    assert result.code == 1, result.out + result.err
    assert result.out == ""
    (line,) = result.err.splitlines()
    assert store.runs() == []
    return line


def test_a_script_is_no_source_of_any_tool(cli: Cli, store: Store, tmp_path: Path) -> None:
    """A Python script given to each tool: what that tool reads is said."""
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    for tool, expected in [
        ("tensorboard", "not a TensorBoard event file (expected a folder of event files"),
        ("trackio", "not a Trackio project database"),
        ("wandb", "not a W&B record log"),
        ("mlflow", "expected sqlite:///mlflow.db, an mlruns folder"),
    ]:
        line = _refused(cli, store, tool, str(script))
        assert expected in line, (tool, line)
    assert script.read_text() == SCRIPT


def test_one_tools_database_is_not_anothers(
    produce: Produce, cli: Cli, store: Store, tmp_path: Path
) -> None:
    """An MLflow database given to Trackio, a Trackio one to MLflow (which would have
    added its tables to it), a folder of neither to MLflow: refused, each file as it was;
    with a good source beside a bad one, nothing of the good one is written either."""
    mlflow_db = tmp_path / "mlflow.db"
    produce("mlflow", f"sqlite:///{mlflow_db}", "m", 3)
    produce("trackio", tmp_path, "t", 3)
    (trackio_db,) = (tmp_path / "trackio").glob("*.db")
    before = {p: p.read_bytes() for p in (mlflow_db, trackio_db)}
    line = _refused(cli, store, "trackio", str(mlflow_db))
    assert "not a Trackio project database" in line and "no such column" not in line
    line = _refused(cli, store, "mlflow", str(trackio_db))
    assert "not an MLflow database (no experiments table)" in line
    line = _refused(cli, store, "mlflow", str(tmp_path / "trackio"))
    assert "not an MLflow file store" in line
    _refused(cli, store, "trackio", str(trackio_db), str(mlflow_db))
    assert {p: p.read_bytes() for p in before} == before
    assert not list((tmp_path / "trackio").glob("[0-9]*"))  # no experiment folder made
