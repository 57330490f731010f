"""``tracker import trackio``: a project written by trackio locally."""

from __future__ import annotations

import os
from pathlib import Path

from checks import counts, expected, only_run, points, same

from conftest import Produce
from tracked_runs import Cli
from tracker.store import Store


def test_project_runs_import_with_config_and_values(
    produce: Produce, cli: Cli, tmp_path: Path, store: Store
) -> None:
    """Every run of the project database: config, every point (NaN and inf kept); a
    second import adds nothing; a run logged since gets only its points."""
    folder = Path(os.environ["TRACKIO_DIR"])
    produce("trackio", folder, "t1", 6)
    result = cli("import", "trackio", str(folder))
    assert result.code == 0, result.err
    run = only_run(store, "trackio", "t1")
    assert run.project == "tproj" and run.status == "finished"
    assert run.config == {"lr": 0.1, "optimizer": "adam"}
    for key, want in expected(6).items():
        assert same(points(store, run, key), want), key
    before = counts(store)
    again = cli("import", "trackio", str(folder / "tproj.db"))
    assert again.code == 0 and "0 written" in again.out
    assert counts(store) == before
    produce("trackio", folder, "t2", 3)
    assert "6 written" in cli("import", "trackio", str(folder)).out


def test_sparse_and_text_metrics(produce: Produce, cli: Cli, store: Store) -> None:
    """A metric logged at some steps keeps those; text values are skipped and said, the
    numbers of that metric kept; imported again, nothing is lost or doubled."""
    folder = Path(os.environ["TRACKIO_DIR"])
    produce("trackio", folder, "sparse", 6, "0", "--sparse")
    produce("trackio", folder, "mixed", 6, "0", "--mixed")
    first = cli("import", "trackio", str(folder))
    assert first.code == 0 and "values that are not numbers" in first.err
    sparse, mixed = only_run(store, "trackio", "sparse"), only_run(store, "trackio", "mixed")
    want = [(0, 0.0), (2, 2.0), (4, 4.0)]
    before = counts(store)
    for _ in range(2):
        assert points(store, sparse, "train/sparse") == want
        assert points(store, mixed, "train/mixed") == want
        for run in (sparse, mixed):
            for key, values in expected(6).items():
                assert same(points(store, run, key), values), key
        assert cli("import", "trackio", str(folder)).code == 0
    assert counts(store) == before


def test_a_file_that_is_no_database(cli: Cli, tmp_path: Path) -> None:
    """Nothing readable: the reason, exit status 1."""
    (tmp_path / "bad.db").write_bytes(b"no sqlite here" * 200)
    result = cli("import", "trackio", str(tmp_path / "bad.db"))
    assert result.code == 1 and "not a readable SQLite database" in result.err
