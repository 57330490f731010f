"""Backends by URI scheme: the built-ins, `register_backend`, and plugins' entry points.

A package that ships a backend declares it in its own ``pyproject.toml``::

    [project.entry-points."tracker.backends"]
    myplatform = "my_package.tracking:MyBackend"

and ``TRACKER_URI=myplatform://...`` then reaches ``MyBackend.from_uri(uri)`` (or
``MyBackend(uri)`` if it has no ``from_uri``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any, cast

from tracker.store.base import Backend, Store, StoreError

__all__ = [
    "BackendFactory",
    "open_backend",
    "open_store",
    "redact_uri",
    "register_backend",
    "registered_schemes",
    "resolve_backend",
    "split_password",
    "uri_scheme",
]

BackendFactory = Callable[[str], Backend]

ENTRY_POINT_GROUP = "tracker.backends"
_BUILTIN = {
    "sqlite": "tracker.store.sqlite:SqliteStore",
    "jsonl": "tracker.store.jsonl:JsonlStore",
    "memory": "tracker.store.memory:MemoryStore",
    "postgresql": "tracker.store.postgres:PostgresStore",
    "postgres": "tracker.store.postgres:PostgresStore",
}
_registry: dict[str, BackendFactory] = {}


def register_backend(scheme: str, factory: BackendFactory | type) -> None:
    """Make ``scheme://...`` URIs open with ``factory`` (a class or a callable taking the
    URI). Registering a scheme again replaces it."""
    _registry[scheme.lower()] = _as_factory(factory)


def registered_schemes() -> list[str]:
    """Every scheme a URI may use: built-ins, registered ones and installed plugins."""
    from importlib.metadata import entry_points  # ~10 ms: only where plugins are looked for

    plugins = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(_BUILTIN) | set(_registry) | plugins)


def _as_factory(target: Any) -> BackendFactory:
    from_uri = getattr(target, "from_uri", None)
    return cast(BackendFactory, from_uri if callable(from_uri) else target)


def uri_scheme(uri: str) -> str:
    """The scheme that picks ``uri``'s backend: ``sqlite`` for a plain path, and
    ``postgresql`` for ``postgresql+psycopg://...`` (a driver suffix is dropped)."""
    scheme, sep, _ = uri.partition("://")
    if not sep:
        return "sqlite"  # a plain path is an SQLite file
    return scheme.lower().split("+", 1)[0]


def resolve_backend(uri: str) -> BackendFactory:
    """What opens ``uri`` (called with the URI), without opening it: a registered
    factory, a built-in store or an installed plugin. A scheme nobody serves raises
    `StoreError` listing the known ones."""
    return _factory(uri_scheme(uri))


_scheme = uri_scheme  # the names run.py imports


_SLASHED_PASSWORD = re.compile(
    r"[A-Za-z][\w+.-]*://[^\s/:@]*:(?!\d*/)(?P<password>[^\s/]*/\S*?)@(?![^\s/@]*@)"
)
"""A URI whose password holds a ``/`` (`tracker.values` hides such passwords in text too)."""


def split_password(uri: str) -> tuple[str, str | None]:
    """``uri`` without its password (in the user part or ``?password=``), and the password.

    The URI keeps everything else libpq reads (hosts, port, database, ``sslmode``...);
    a driver suffix (``postgresql+psycopg://``) is dropped.
    """
    from urllib.parse import quote, unquote, urlsplit  # ~3 ms: only for URIs that may hold one

    slashed = _SLASHED_PASSWORD.match(uri)  # "/" in a password: urlsplit ends the host there
    if slashed is not None:
        start, end = slashed.span("password")
        uri = uri[:start] + quote(slashed["password"], safe="") + uri[end:]
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0]
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    secret = unquote(password) if colon else None
    kept = []
    for item in parts.query.split("&") if parts.query else []:
        name, _, value = item.partition("=")
        if unquote(name) == "password":
            secret = unquote(value)
        else:
            kept.append(item)
    clean = f"{scheme}://{user}{at}{hosts}{parts.path}"
    if kept:
        clean += "?" + "&".join(kept)
    return clean, secret


def redact_uri(uri: str) -> str:
    """``uri`` as messages and records may show it: without a password. A URI that
    carries none (a path, ``sqlite:///...``) is returned as it is."""
    if "://" not in uri or ("@" not in uri and "password" not in uri):
        return uri
    return split_password(uri)[0]


_STDLIB_ONLY = frozenset({"sqlite", "jsonl", "memory"})
"""Built-in stores whose modules need nothing but the standard library: imported when a
URI is first opened (a run's writer thread), not when its scheme is resolved (`start`)."""


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


class _Later:
    """The factory of a built-in store, imported when first called."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __call__(self, uri: str) -> Backend:
        return _as_factory(_load(self.target))(uri)


def _factory(scheme: str) -> BackendFactory:
    if scheme in _registry:
        return _registry[scheme]
    target: Any = None
    if scheme in _STDLIB_ONLY:
        target = _Later(_BUILTIN[scheme])
    elif scheme in _BUILTIN:
        target = _load(_BUILTIN[scheme])
    else:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP, name=scheme):
            target = ep.load()
            break
    if target is None:
        raise StoreError(
            f"no backend for {scheme}:// URIs; known schemes: {', '.join(registered_schemes())}. "
            "Install the package that provides it, or call tracker.register_backend()."
        )
    _registry[scheme] = factory = _as_factory(target)
    return factory


def open_backend(uri: str) -> Backend:
    """Open the backend a URI names (``sqlite:///f.db``, ``jsonl:///dir``, a plain path...)."""
    return resolve_backend(uri)(uri)


def open_store(uri: str | None = None) -> Store:
    """Open a store to read runs back: by default the one new runs write to.

    ``uri`` is a store URI or an SQLite file path; without it, the first of the settings'
    store URIs (``TRACKER_URI``, else ``$TRACKER_DIR/tracker.db``) is opened.
    """
    if uri is None:
        from tracker.settings import TrackerSettings

        uri = TrackerSettings().store_uris[0]
    backend = open_backend(uri)
    if not isinstance(backend, Store):
        raise StoreError(f"the backend of {uri!r} can be written to but not read back")
    return backend
