"""The files the dashboard serves: its own pages and the chart library from `plotly`.

The chart code is plotly.js as the ``plotly`` package ships it (``package_data/
plotly.min.js``), read from the installed package: nothing is fetched from a CDN and no
copy lives in this repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

__all__ = ["Asset", "load_assets"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_OWN = ("index.html", "app.js", "app.css")


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
    """Every static file by its URL path under ``/static/``, read once at start."""
    static = resources.files("tracker.ui").joinpath("static")
    assets = {
        name: Asset(static.joinpath(name).read_bytes(), _TYPES[name[name.rindex(".") :]])
        for name in _OWN
    }
    assets["plotly.min.js"] = Asset(_plotly_js(), _TYPES[".js"])
    return assets
