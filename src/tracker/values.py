"""Turning what users log into what the store holds.

Metric values (`to_scalar`, `flatten`):

* ``int``, ``float`` and ``bool`` are stored as 64-bit floats (``True`` is 1.0); NaN and
  ±inf are stored as such.
* numpy scalars, 0-d arrays, 0-d tensors and one-element tensors or arrays are read with
  ``.item()``, found by duck typing, so neither numpy nor torch is imported here.
* nested mappings are flattened with ``/``: ``{"eval": {"loss": 1}}`` is ``eval/loss``.
* anything else (``None``, strings, lists, multi-element tensors) is not a metric: the
  caller skips it and warns once per key (see `CustomTracker.log_metrics`).

Config values (`to_json`): a faithful JSON-compatible copy by these rules, in order:

* ``None``, ``bool``, ``int``, ``str`` as they are; ``float`` as it is (NaN and ±inf too);
* mappings become dicts with ``str`` keys; lists and tuples become lists; sets and
  frozensets become lists sorted by their JSON text;
* enums become their value; ``pathlib`` paths, dtypes, ``datetime`` and ``uuid`` their
  string form; bytes ``"<N bytes>"``;
* dataclasses and objects with ``to_dict()`` (Hugging Face configs, PEFT configs) or
  ``model_dump()`` (pydantic) become dicts of their fields; numpy scalars and 0-d tensors
  their ``.item()``; types and functions their qualified name;
* a container met again inside itself becomes ``"<cycle>"``; nesting deeper than 32
  levels becomes ``"<too deep>"``; anything else becomes its ``repr()``.

Keys that look like secrets are redacted by `redact` (on by default).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import PurePath
from typing import Any

__all__ = [
    "REDACTED",
    "NotAScalar",
    "deep_merge",
    "flatten",
    "is_secret_key",
    "redact",
    "redact_uri",
    "to_json",
    "to_scalar",
]

REDACTED = "***REDACTED***"
_MAX_DEPTH = 32


class NotAScalar(TypeError):
    """A logged metric value that cannot be stored as a number."""


def to_scalar(value: Any) -> float:
    """Return ``value`` as a float, or raise `NotAScalar` saying why it is not one."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        return float(value)
    if value is None or isinstance(value, str | bytes):
        raise NotAScalar(f"{kind.__name__} is not a number")
    item = getattr(value, "item", None)
    if item is not None and callable(item):
        size = _size(value)
        if size not in (None, 1):
            raise NotAScalar(f"{kind.__name__} with {size} elements is not a scalar")
        try:
            value = item()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise NotAScalar(f"{kind.__name__}.item() failed: {exc}") from None
        if isinstance(value, int | float):
            return float(value)
        raise NotAScalar(f"{kind.__name__}.item() gave {type(value).__name__}")
    if isinstance(value, int | float):  # subclasses, numbers registered as such
        return float(value)
    if isinstance(value, Mapping | list | tuple | set):
        raise NotAScalar(f"{kind.__name__} is not a scalar")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NotAScalar(f"{kind.__name__} is not a number") from None


def _size(value: Any) -> int | None:
    numel = getattr(value, "numel", None)
    if callable(numel):
        try:
            return int(numel())
        except Exception:
            return None
    size = getattr(value, "size", None)
    if isinstance(size, int):
        return size
    return None


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(key, value)`` pairs of a nested mapping, keys joined with ``/``."""
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, name + "/")
        else:
            yield name, value


def to_json(value: Any) -> Any:
    """A JSON-compatible copy of ``value`` by the rules of this module's docstring."""
    return _to_json(value, set(), 0)


def _to_json(value: Any, seen: set[int], depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, enum.Enum):
            return _to_json(value.value, seen, depth)
        if type(value) not in (bool, int, float, str):  # subclasses: plain copies
            for base in (bool, int, float, str):
                if isinstance(value, base):
                    return base(value)
        return value
    if depth >= _MAX_DEPTH:
        return "<too deep>"
    if isinstance(value, enum.Enum):
        return _to_json(value.value, seen, depth)
    if isinstance(value, PurePath | uuid.UUID):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    marker = id(value)
    if marker in seen:
        return "<cycle>"
    seen.add(marker)
    try:
        return _container_to_json(value, seen, depth + 1)
    finally:
        seen.discard(marker)


def _container_to_json(value: Any, seen: set[int], depth: int) -> Any:
    if isinstance(value, Mapping):
        return {_key(k): _to_json(v, seen, depth) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v, seen, depth) for v in value]
    if isinstance(value, set | frozenset):
        items = [_to_json(v, seen, depth) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
        return _to_json(fields, seen, depth)
    for method in ("model_dump", "to_dict"):
        dump = getattr(value, method, None)
        if callable(dump):
            try:
                return _to_json(dump(), seen, depth)
            except Exception:  # a broken to_dict() is the object's problem, not the run's
                break
    if "dtype" in type(value).__name__.lower():
        return str(value)
    item = getattr(value, "item", None)
    if callable(item) and _size(value) in (None, 1):
        try:
            return _to_json(item(), seen, depth)
        except Exception:
            return repr(value)
    if callable(value):
        module = getattr(value, "__module__", None)
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        if name:
            return f"{module}.{name}" if module else str(name)
    if isinstance(value, Iterable) and hasattr(value, "__len__"):
        return [_to_json(v, seen, depth) for v in value]
    return repr(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, enum.Enum):
        return str(key.value)
    return str(key)


_SECRET_KEY = re.compile(
    r"password|passwd|secret|api[_-]?key|apikey|private[_-]?key|credential|authorization"
    r"|^token$|^auth$"
    r"|(^|[_.-])(hub|access|auth|api|bearer|refresh|session|hf|ms|om|wandb|github|gh|personal)"
    r"[_-]?token$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"^(hf_[A-Za-z0-9]{30,}|sk-[A-Za-z0-9_-]{20,}|gh[pous]_[A-Za-z0-9]{30,})$"
)


def is_secret_key(key: str) -> bool:
    """Whether a config key names a secret (``hub_token``, ``password``, ``api_key``, ...).

    Tokenizer settings such as ``pad_token`` or ``max_new_tokens`` are not secrets.
    """
    return _SECRET_KEY.search(key) is not None


def redact(config: Any) -> Any:
    """A copy of a JSON-compatible config with secret-looking keys and values redacted.

    A key is secret when `is_secret_key` says so and its value is set (not ``None`` or
    empty); a string value is secret when it has the shape of a well-known access token.
    """
    if isinstance(config, dict):
        out: dict[str, Any] = {}
        for key, value in config.items():
            if (
                is_secret_key(key)
                and value not in (None, "", [], {})
                and not isinstance(value, dict | bool)
            ):
                out[key] = REDACTED
            else:
                out[key] = redact(value)
        return out
    if isinstance(config, list):
        return [redact(v) for v in config]
    if isinstance(config, str) and _SECRET_VALUE.match(config):
        return REDACTED
    return config


_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)(?P<password>[^@/\s]+)@")


def redact_uri(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it hidden."""
    return _URI_PASSWORD.sub(rf"\g<head>{REDACTED}@", text)


def deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into a copy of ``base``: nested dicts merge, later values win."""
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged
