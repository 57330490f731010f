"""`tracker ui` as a command: what stops it from starting, said in one line."""

from __future__ import annotations

import socket
import sys

import pytest

from tracked_runs import Cli


def test_a_port_in_use_is_one_line(cli: Cli, runs: dict[str, str]) -> None:
    """Another program on the port: exit 1 naming the address."""
    pytest.importorskip("bokeh")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("ui", "--port", str(port))
    assert result.code == 1
    assert result.err.startswith(f"tracker ui: error: cannot listen on 127.0.0.1:{port}")


def test_without_bokeh_the_extra_is_named(
    cli: Cli, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No bokeh installed: the error says to install tracker[ui]."""
    monkeypatch.setitem(sys.modules, "bokeh", None)
    result = cli("ui", "--port", "0")
    assert result.code == 1
    assert "pip install 'tracker[ui]'" in result.err
    assert len(result.err.splitlines()) == 1
