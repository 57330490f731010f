"""The files the dashboard serves: its own pages and the chart library from `bokeh`.

The dashboard's own files are everything under ``static/``: the page (``index.html``), its
style sheet, and its scripts, JavaScript modules: ``app.js``, the page's script (routing),
imports one module per view from ``views/`` and the shared ``common.js`` and ``charts.js``.

The chart code is BokehJS as the ``bokeh`` package ships it (``server/static/js/
bokeh.min.js``, the library, and ``bokeh-api.min.js``, its plain-JavaScript plotting API),
read from the installed package: nothing is fetched from a CDN and no copy lives in this
repository.

Every URL the page asks for carries a hash of what it gets (``?v=``), so a browser may cache
the files for good and still never runs a stale one. The modules share one hash, of all of
them together: each module's relative imports are given it when the files are read, and the
page preloads every module under it, so that the browser asks for them at once rather than
one import after another.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

__all__ = ["Asset", "load_assets"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_PAGE = "index.html"
_ENTRY = "app.js"  # the page's script: the module that imports the others
_PRELOAD = b"{{modulepreload}}"
# a relative import of one module by another: `from "./common.js"`, `from "../charts.js"`
_IMPORT = re.compile(rb'(\bfrom\s*)"(\.\.?/[\w./-]+\.js)"')


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


def _own_files(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    """The files under ``folder`` that the dashboard serves, by their path below it."""
    found: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found |= _own_files(entry, name + "/")
        elif name != _PAGE and name[name.rfind(".") :] in _TYPES:
            found[name] = entry.read_bytes()
    return found


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


def load_assets() -> dict[str, Asset]:
    """Every static file by its name under ``/static/`` (``views/run.js``), read once at
    start, and the page (``index.html``), whose ``{{NAME}}`` marks become the hash that
    file's URL carries and whose ``{{modulepreload}}`` mark preloads every module."""
    static = resources.files("tracker.ui").joinpath("static")
    own = _own_files(static)
    modules = sorted(name for name in own if name.endswith(".js"))
    version = _digest(b"".join(name.encode() + b"\0" + own[name] for name in modules))
    tagged = rb'\1"\2?v=' + version.encode() + rb'"'
    assets: dict[str, Asset] = {}
    digests: dict[str, str] = {}
    for name, body in own.items():
        kind = name[name.rfind(".") :]
        if name in modules:
            assets[name] = Asset(_IMPORT.sub(tagged, body), _TYPES[kind])
            digests[name] = version  # the URL its importers ask for
        else:
            assets[name] = Asset(body, _TYPES[kind])
            digests[name] = _digest(body)
    for name, body in _bokeh_js().items():
        assets[name] = Asset(body, _TYPES[".js"])
        digests[name] = _digest(body)
    page = static.joinpath(_PAGE).read_bytes()
    preload = "\n  ".join(
        f'<link rel="modulepreload" href="/static/{name}?v={version}">'
        for name in modules
        if name != _ENTRY
    )
    page = page.replace(_PRELOAD, preload.encode())
    for name, digest in digests.items():
        page = page.replace(b"{{" + name.encode() + b"}}", digest.encode())
    assets[_PAGE] = Asset(page, _TYPES[".html"])
    return assets
