"""The reading commands on a team's PostgreSQL store, as its read-only role ``reader``:
everything reads as on SQLite; only `tracker delete` needs the writer role, and says so."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import NamedTuple

import pytest

from pg_server import PostgresServer, pg  # noqa: F401  (pg: the session's server)
from tracked_runs import Cli, track

pytest.importorskip("psycopg")


class Team(NamedTuple):
    """The team store as each role reaches it, and its runs' ids by name."""

    reader: str
    writer: str
    ids: dict[str, str]


@pytest.fixture
def team(pg: PostgresServer, tracker_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Team:  # noqa: F811
    """Runs ``alpha``, ``beta`` (a tag, a higher loss) and ``gamma`` (failed) written by the
    writer role; the reader role granted SELECT."""
    pg.truncate()
    monkeypatch.setenv("TRACKER_URI", pg.uri)
    ids = {
        "alpha": track("alpha", config={"lr": 0.1}),
        "beta": track("beta", config={"lr": 0.2}, offset=0.5, tags=["sweep"]),
        "gamma": track("gamma", project="other", framework="torchtune", fail=True),
    }
    pg.grant_reader()
    monkeypatch.delenv("TRACKER_URI")
    return Team(pg.reader_uri, pg.uri, ids)


def test_runs_and_show_read_with_the_reader_role(team: Team, cli: Cli) -> None:
    """`tracker runs` lists every run, filters on the server; `show` prints one."""
    listed = cli("runs", "--store", team.reader)
    assert listed.code == 0, listed.err
    assert [name in listed.out for name in team.ids] == [True, True, True]
    failed = cli("runs", "--store", team.reader, "--status", "failed", "--json")
    assert '"gamma"' in failed.out and '"alpha"' not in failed.out
    shown = cli("show", "alpha", "--store", team.reader)
    assert shown.code == 0, shown.err
    assert "train/loss" in shown.out and "checkpoint" in shown.out


def test_compare_export_and_plot_read_with_the_reader_role(
    team: Team,
    cli: Cli,
    tmp_path: Path,
) -> None:
    """`compare` sets two runs side by side, `export` writes every point, `plot` a PNG."""
    compared = cli("compare", "alpha", "beta", "--store", team.reader)
    assert compared.code == 0, compared.err
    assert "lr" in compared.out
    exported = cli("export", "alpha", "--metric", "train/loss", "--store", team.reader)
    assert exported.code == 0, exported.err
    rows = list(csv.DictReader(io.StringIO(exported.out)))
    assert len(rows) == 20
    pytest.importorskip("matplotlib")
    png = tmp_path / "loss.png"
    plotted = cli("plot", "alpha", "beta", "--metric", "train/loss", "-o", str(png),
                  "--store", team.reader)  # fmt: skip
    assert plotted.code == 0, plotted.err
    assert png.read_bytes().startswith(b"\x89PNG")


def test_delete_needs_the_writer_role(team: Team, cli: Cli) -> None:
    """As the reader, `delete` fails with one line naming the fix and the run stays; the
    writer role deletes it."""
    refused = cli("delete", "alpha", "--yes", "--store", team.reader)
    assert refused.code == 1
    assert len(refused.err.strip().splitlines()) == 1, refused.err
    assert "permission denied" in refused.err and "writer role" in refused.err
    assert "reader-test-pw" not in refused.err
    assert "alpha" in cli("runs", "--store", team.reader).out
    deleted = cli("delete", "alpha", "--yes", "--store", team.writer)
    assert deleted.code == 0, deleted.err
    assert "alpha" not in cli("runs", "--store", team.reader).out
