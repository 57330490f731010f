"""The reading commands on a team's PostgreSQL store, as its read-only role ``reader``:
everything reads as on SQLite; only `tracker delete` needs the writer role, and says so."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from pg_server import PostgresServer, pg  # noqa: F401  (pg: the session's server)
from tracked_runs import Cli, track

psycopg = pytest.importorskip("psycopg")


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


def _sql_blocks() -> list[list[str]]:
    """The statements of docs/team.md's sql blocks, block by block."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "team.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return [[s.strip() for s in block.split(";") if s.strip()] for block in blocks]


def test_the_documented_grants_are_enough(
    pg: PostgresServer,  # noqa: F811
    tracker_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Cli,
) -> None:
    """docs/team.md's statements, run as written: the owner creates the tables, the
    writer tracks and deletes runs, the reader reads and may not write."""
    roles, grants = _sql_blocks()
    pg.admin(*roles)

    def uri(role: str) -> str:
        return f"postgresql://{role}:{role.split('_')[1]}-password@127.0.0.1:{pg.port}/tracking"

    assert cli("runs", "--store", uri("tracker_owner")).code == 0  # creates the tables
    with psycopg.connect(uri("tracker_owner"), autocommit=True) as owner:
        for statement in grants:
            owner.execute(statement)
    monkeypatch.setenv("TRACKER_URI", uri("tracker_writer"))
    kept, dropped = track("kept"), track("dropped")
    assert cli("delete", dropped, "--yes", "--store", uri("tracker_writer")).code == 0
    listed = cli("runs", "--store", uri("tracker_reader"), "--json")
    assert kept in listed.out and dropped not in listed.out
    assert cli("export", "kept", "--store", uri("tracker_reader")).code == 0
    refused = cli("delete", kept, "--yes", "--store", uri("tracker_reader"))
    assert refused.code == 1 and "writer role" in refused.err
