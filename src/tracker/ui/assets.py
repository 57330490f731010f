"""The files the dashboard serves: its own pages and the chart library from `bokeh`.

The chart code is BokehJS as the ``bokeh`` package ships it (``server/static/js/
bokeh.min.js``, the library, and ``bokeh-api.min.js``, its plain-JavaScript plotting API),
read from the installed package: nothing is fetched from a CDN and no copy lives in this
repository.
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


_BOKEH_JS = ("bokeh.min.js", "bokeh-api.min.js")


def _bokeh_js() -> dict[str, bytes]:
    try:
        package = resources.files("bokeh")
    except ModuleNotFoundError:
        raise ImportError("the dashboard needs bokeh: pip install 'tracker[ui]'") from None
    folder = package.joinpath("server", "static", "js")
    return {name: folder.joinpath(name).read_bytes() for name in _BOKEH_JS}


def load_assets() -> dict[str, Asset]:
    """Every static file by its name under ``/static/``, read once at start, and the page
    (``index.html``), whose ``{{NAME}}`` marks become a hash of that file's content: a
    browser may cache the files for good and still never runs a stale one."""
    static = resources.files("tracker.ui").joinpath("static")
    assets = {
        name: Asset(static.joinpath(name).read_bytes(), _TYPES[name[name.rindex(".") :]])
        for name in _OWN
    }
    for name, body in _bokeh_js().items():
        assets[name] = Asset(body, _TYPES[".js"])
    page = static.joinpath(_PAGE).read_bytes()
    for name, asset in assets.items():
        digest = hashlib.sha256(asset.body).hexdigest()[:16]
        page = page.replace(b"{{" + name.encode() + b"}}", digest.encode())
    assets[_PAGE] = Asset(page, _TYPES[".html"])
    return assets
