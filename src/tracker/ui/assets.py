"""The files the dashboard serves: its own pages and the chart library from `plotly`.

The chart code is plotly.js as the ``plotly`` package ships it (``package_data/
plotly.min.js``), read from the installed package: nothing is fetched from a CDN and no
copy lives in this repository.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

__all__ = ["Asset", "load_assets"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_OWN = ("app.js", "app.css")
_PAGE = "index.html"


@dataclass(frozen=True, slots=True)
class Asset:
    """A file's bytes and content type."""

    body: bytes
    content_type: str


def _plotly_js() -> bytes:
    try:
        package = resources.files("plotly")
    except ModuleNotFoundError:
        raise ImportError("the dashboard needs plotly: pip install 'tracker[ui]'") from None
    return package.joinpath("package_data", "plotly.min.js").read_bytes()


def load_assets() -> dict[str, Asset]:
    """Every static file by its name under ``/static/``, read once at start, and the page
    (``index.html``), whose ``{{NAME}}`` marks become a hash of that file's content: a
    browser may cache the files for good and still never runs a stale one."""
    static = resources.files("tracker.ui").joinpath("static")
    assets = {
        name: Asset(static.joinpath(name).read_bytes(), _TYPES[name[name.rindex(".") :]])
        for name in _OWN
    }
    assets["plotly.min.js"] = Asset(_plotly_js(), _TYPES[".js"])
    page = static.joinpath(_PAGE).read_bytes()
    for name, asset in assets.items():
        digest = hashlib.sha256(asset.body).hexdigest()[:16]
        page = page.replace(b"{{" + name.encode() + b"}}", digest.encode())
    assets[_PAGE] = Asset(page, _TYPES[".html"])
    return assets
