"""Access to the dashboard: loopback by default, an access token anywhere else."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from ui_kit import Served, serve

pytest.importorskip("bokeh")


def test_other_addresses_need_a_token(tracker_dir: Path) -> None:
    """Binding beyond loopback without a token is refused before listening."""
    from tracker import open_store
    from tracker.ui.server import Dashboard

    with pytest.raises(ValueError, match="needs an access token"):
        Dashboard(open_store(), "0.0.0.0", 0)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.8.0.1", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False)],
)  # fmt: skip
def test_loopback_addresses_are_recognised(host: str, loopback: bool) -> None:
    """Loopback names and addresses are told apart from the rest."""
    from tracker.ui.server import is_loopback

    assert is_loopback(host) is loopback


def test_a_token_guards_every_path(filled_store: dict[str, str]) -> None:
    """Without the token: 401; ?token= sets a cookie; cookie or Bearer then work."""
    with serve(token="s3cret") as url:
        served = Served(url, filled_store)
        assert served.get("/api/runs").status == 401
        assert served.get("/").status == 401
        assert served.get("/api/runs", {"Authorization": "Bearer wrong"}).status == 401
        login = served.get("/?token=s3cret")
        assert login.status == 303
        cookie = login.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert served.get("/api/runs", {"Cookie": cookie.split(";")[0]}).status == 200
        assert served.get("/api/runs", {"Authorization": "Bearer s3cret"}).status == 200


def test_ipv6_loopback_is_served(filled_store: dict[str, str]) -> None:
    """``--host ::1`` listens on IPv6 and needs no token."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    with serve(host="::1") as url:
        assert url.startswith("http://[::1]:")
        assert Served(url, filled_store).get("/api/runs").status == 200
