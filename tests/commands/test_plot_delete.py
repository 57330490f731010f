"""`tracker plot` (a PNG without a browser) and `tracker delete` (asks first)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tracked_runs import Cli
from tracker import open_store


def test_plot_writes_a_png(cli: Cli, runs: dict[str, str], tmp_path: Path) -> None:
    """Two runs and two metrics make one PNG file."""
    pytest.importorskip("matplotlib")
    target = tmp_path / "loss.png"
    result = cli(
        "plot", "alpha", "beta", "--metric", "train/loss", "--metric", "eval/loss",
        "-o", str(target), "--log", "--smooth", "0.6",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_of_a_missing_metric_fails_cleanly(
    cli: Cli, runs: dict[str, str], tmp_path: Path
) -> None:
    """A metric no run has is a one-line error."""
    pytest.importorskip("matplotlib")
    result = cli("plot", "alpha", "--metric", "nope", "-o", str(tmp_path / "x.png"))
    assert result.code == 1
    assert "none of the runs has points of metric 'nope'" in result.err


def test_plot_without_matplotlib_names_the_extra(
    cli: Cli, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without matplotlib the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = cli("plot", "alpha", "--metric", "train/loss")
    assert result.code == 1
    assert "pip install 'tracker[plot]'" in result.err


def test_delete_with_yes_removes_the_run(cli: Cli, runs: dict[str, str]) -> None:
    """--yes deletes without asking; the run is gone from the store."""
    result = cli("delete", "beta", "--yes")
    assert result.code == 0
    assert f"deleted beta ({runs['beta']})" in result.out
    assert [r.name for r in open_store().runs()] == ["gamma", "alpha"]


def test_delete_refuses_without_a_terminal_or_yes(
    cli: Cli, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piped input cannot confirm: nothing is deleted and --yes is suggested."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    result = cli("delete", "beta")
    assert result.code == 1
    assert "pass --yes" in result.err
    assert len(open_store().runs()) == 3


def test_delete_asks_on_a_terminal(
    cli: Cli, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal it asks; anything but yes keeps the run."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    result = cli("delete", "alpha")
    assert result.code == 1
    assert "Delete alpha" in result.err
    assert len(open_store().runs()) == 3
    monkeypatch.setattr(sys, "stdin", Terminal("yes\n"))
    assert cli("delete", "alpha").code == 0
    assert len(open_store().runs()) == 2


def test_a_bad_store_is_one_line(cli: Cli, tmp_path: Path) -> None:
    """An unknown store scheme fails with one line naming the known schemes."""
    result = cli("runs", "--store", "nosuch://x")
    assert result.code == 1
    assert len(result.err.splitlines()) == 1
    assert "no backend for nosuch://" in result.err
