"""Turning what users log into what the store holds: total functions, documented rules.

Nothing here raises into the training loop: every rule below ends in a stored value, a
conversion, or a skip the caller reports once per key. ``KeyboardInterrupt`` and
``SystemExit`` pass through; every other exception an object raises from its own
methods (``__float__``, ``__repr__``, ``__getattr__``, ``to_dict``, ...) is caught.

Text (`clean_text`), for metric keys, run names, tags and every string of a config: the
stores keep UTF-8 text, and PostgreSQL refuses NUL, so

* a lone surrogate (``os.fsdecode(b"eval/\\xff")`` is ``"eval/\\udcff"``) becomes its
  backslash escape, the six characters ``\\udcff``; a NUL becomes the four characters
  ``\\x00``. Other text is kept as it is.

Metric values (`to_scalar`):

* ``int``, ``float`` and ``bool`` are stored as 64-bit floats (``True`` is 1.0); NaN and
  ±inf are stored as such. An integer too large for a float (``10**400``) is not a metric.
* numpy scalars, 0-d arrays, 0-d tensors and one-element tensors or arrays are read with
  ``.item()``, found by duck typing, so neither numpy nor torch is imported here; other
  numbers (``Fraction``, ``Decimal``, anything with ``__float__`` or ``__index__``) with
  ``float()``.
* anything else (``None``, strings, lists, multi-element tensors, objects whose methods
  raise) is not a metric: `NotAScalar` says why, and the caller skips the value and warns
  once per key (a string goes to the summary, see `CustomTracker.log_metrics`).

Metric keys (`flatten_metrics`):

* nested mappings are flattened with ``/``: ``{"eval": {"loss": 1}}`` is ``eval/loss``; a
  value nested deeper than 32 mappings is skipped.
* a key that is not a string is named by its ``str()`` (``0`` is ``"0"``, an enum its
  value); one whose ``str()`` fails is skipped. Names are cleaned as text, stripped of
  leading and trailing ``/``; an empty name is skipped.
* two entries of one call that flatten to the same name (``{"a/b": 1, "a": {"b": 2}}``):
  the last one is kept.
* each skip and each collision is returned as a `KeyProblem`, for the caller to warn once.

Config values (`to_json`): a faithful JSON-compatible copy by these rules, in order:

* ``None``, ``bool``, ``str`` (cleaned as text) as they are; ``float`` as it is (NaN and
  ±inf too); ``int`` as it is inside the int64 range, beyond it its decimal string
  (SQLite and PostgreSQL read JSON numbers as 64-bit), beyond Python's 4,300 digits
  ``"<int of N bits>"``;
* mappings become dicts with ``str`` keys (named as metric keys are); lists and tuples
  become lists; sets and frozensets become lists sorted by their JSON text;
* enums become their value; ``pathlib`` paths, dtypes, ``datetime`` and ``uuid`` their
  string form; bytes ``"<N bytes>"``;
* dataclasses and objects with ``to_dict()`` (Hugging Face configs, PEFT configs) or
  ``model_dump()`` (pydantic) become dicts of their fields (a method that raises is
  ignored); numpy scalars and 0-d tensors their ``.item()``; types and functions their
  qualified name; other iterables with a length the list of their first 10,000 items;
* a container met again inside itself becomes ``"<cycle>"``; nesting deeper than 32
  levels becomes ``"<too deep>"``; anything else becomes its ``repr()``, and an object
  none of this can read (its ``repr()`` raises too) ``"<unrepresentable TypeName>"``.

Secrets (`Redactor`; `redact`, `redact_text`, `redact_argv` apply the
built-in rules), on by default (``TRACKER_REDACT``):

* by key name (`is_secret_key`, on the key lowered with ``-`` read as ``_``, and on
  ``parent.key`` for a nested one): a set value (not ``None``, a bool, or empty) under a
  key that names a credential is replaced whole by ``***REDACTED***``, a dict or list as
  well. Credential names contain ``password``, ``passwd``, ``passphrase``, ``secret``,
  ``credential``, ``authorization``, ``cookie``, ``webhook``, ``api_key``,
  ``access_key``, ``private_key``, ``connection_string``; or are ``token``, ``auth``,
  ``dsn``; or end in ``token`` after a hub, access, auth, api, bearer, refresh, session,
  id, oauth or provider name (``hub_token``, ``hf_token``, ``wandb_token``, ...), or in
  ``key`` after a provider or key kind (``wandb.key``, ``openai_key``, ``ssh_key``).
  Tokenizer settings (``pad_token``, ``eos_token``, ``max_new_tokens``) are not secrets.
  A key that is itself a secret's shape is redacted as text.
* by value shape, inside any string, the secret part after the provider's prefix becomes
  ``***REDACTED***`` (``hf_***REDACTED***``): Hugging Face ``hf_``, OpenAI and Anthropic
  ``sk-``, GitHub ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/``github_pat_``, GitLab
  ``glpat-``, Slack ``xox?-``, Google ``AIza``, AWS access key ids ``AKIA``/``ASIA``,
  JWTs ``eyJ``, the body of PEM private keys, ``Bearer`` credentials; the value of
  ``name=value`` or ``name: value`` whose name is a credential name (``password=...``,
  ``?token=...``, ``"api_key": "..."``). The password of a URI becomes ``***``
  (``postgresql://user:***@host``), one holding ``/`` too (``s3://user:pa/ss@host``;
  digits then ``/`` are a port). Redacting twice changes nothing.
* on a command line (`Redactor.redact_argv`), the value after a flag that names a
  credential (``--hub_token X``), and the value of ``--flag=VALUE`` and ``name=VALUE``
  arguments, too; value shapes anywhere.
* users add key names (``TRACKER_REDACT_KEYS``) and value patterns
  (``TRACKER_REDACT_PATTERNS``), regular expressions.
"""

from __future__ import annotations

import enum
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from tracker.records import Record

if TYPE_CHECKING:
    from tracker.settings import TrackerSettings

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "REDACTED",
    "KeyProblem",
    "NotAScalar",
    "Redactor",
    "clean_text",
    "deep_merge",
    "flatten_metrics",
    "is_plain_json",
    "is_secret_key",
    "redact",
    "redact_argv",
    "redact_text",
    "to_json",
    "to_scalar",
]

REDACTED = "***REDACTED***"
_MAX_DEPTH = 32
_MAX_ITEMS = 10_000  # items read from an iterable that is not a list, tuple or set
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The integers every store holds as such (steps, table cells, config values)."""


# -- text ----------------------------------------------------------------------------------
def clean_text(text: str) -> str:
    """``text`` as every store can hold it: lone surrogates and NUL backslash-escaped."""
    if type(text) is not str:
        text = str.__str__(text)  # a plain copy: a subclass's methods are not ours to call
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only lone surrogates fail
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _type_name(value: Any) -> str:
    try:
        name = type(value).__name__
    except Exception:  # a metaclass may make even this raise
        return "object"
    return clean_text(name) if isinstance(name, str) else "object"


def _attr(value: Any, name: str) -> Any:
    """``getattr(value, name, None)``, where any exception means the attribute is absent."""
    try:
        return getattr(value, name, None)
    except Exception:
        return None


# -- metric values -------------------------------------------------------------------------
class NotAScalar(TypeError):
    """A logged metric value that cannot be stored as a number."""


def to_scalar(value: Any) -> float:
    """Return ``value`` as a float, or raise `NotAScalar` saying why it is not one.

    Nothing else is raised, whatever ``value`` is (this module's docstring has the rules).
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]  # checked: exactly a float
    if kind is int or kind is bool:
        try:
            return float(value)
        except OverflowError:
            raise NotAScalar(f"the integer {_int_text(value)} is too large for a float") from None
    try:
        return _duck_scalar(value)
    except NotAScalar:
        raise
    except OverflowError:
        raise NotAScalar(f"{_type_name(value)} is too large for a float") from None
    except Exception as exc:  # the object's own methods raised: not a number we can read
        raise NotAScalar(f"{_type_name(value)} raised {_type_name(exc)} when read") from None


def _duck_scalar(value: Any) -> float:
    if value is None or isinstance(value, str | bytes | bytearray):
        raise NotAScalar(f"{_type_name(value)} is not a number")
    item = _attr(value, "item")
    if callable(item):
        size = _size(value)
        if size not in (None, 1):
            raise NotAScalar(f"{_type_name(value)} with {size} elements is not a scalar")
        inner = item()
        if isinstance(inner, int | float):
            return float(inner)
        raise NotAScalar(f"{_type_name(value)}.item() gave {_type_name(inner)}")
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        raise NotAScalar(f"{_type_name(value)} is not a scalar")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NotAScalar(f"{_type_name(value)} is not a number") from None


def _size(value: Any) -> int | None:
    """The element count of a tensor (``numel()``) or array (``size``), if it says."""
    numel = _attr(value, "numel")
    if callable(numel):
        try:
            return int(numel())
        except Exception:
            return None
    size = _attr(value, "size")
    if isinstance(size, int):
        return int.__int__(size)
    return None


def _int_text(value: int) -> str:
    """An int's decimal text, or ``<int of N bits>`` past Python's limit for ``str()``."""
    try:
        return str(int.__int__(value))
    except ValueError:
        return f"<int of {value.bit_length()} bits>"


# -- metric keys ---------------------------------------------------------------------------
class KeyProblem(NamedTuple):
    """Why an entry of a metrics mapping was skipped or overwritten, for one warning."""

    key: str  # the flattened name (for an empty or unreadable key, a description of it)
    why: str  # what happened to the value, for the warning's text


def _key_text(key: Any) -> str | None:
    """A mapping key as text by the key rules, or None when its ``str()`` fails."""
    if type(key) is str:
        return clean_text(key)
    try:
        if isinstance(key, enum.Enum):
            key = key.value
        text = str(key)
        return clean_text(text) if isinstance(text, str) else None
    except Exception:
        return None


def _json_key(key: Any) -> str:
    text = _key_text(key)
    return _unrepresentable(key) if text is None else text


_SCALAR_TYPES = frozenset({float, int, bool, str, type(None)})


def _is_mapping(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return True
    if kind in _SCALAR_TYPES:  # the usual metric values: no isinstance() of an ABC
        return False
    try:
        return isinstance(value, Mapping)
    except Exception:
        return False


_Entries = Iterator[tuple[Any, Any]]


def flatten_metrics(metrics: Mapping[Any, Any]) -> tuple[dict[str, Any], list[KeyProblem]]:
    """Flatten a (nested) metrics mapping by the key rules of this module's docstring.

    Returns the ``{name: value}`` entries to store (values untouched, for `to_scalar`)
    and one `KeyProblem` per entry skipped or overwritten. Never raises.
    """
    flat: dict[str, Any] = {}
    problems: list[KeyProblem] = []
    stack: list[tuple[str, _Entries]] = []
    _push(stack, "", metrics, problems)
    while stack:
        prefix, entries = stack[-1]
        try:
            key, value = next(entries)
        except StopIteration:
            stack.pop()
            continue
        except Exception as exc:  # the mapping's own iteration raised: what is left is lost
            stack.pop()
            why = f"reading the mapping raised {_type_name(exc)}; its other entries are skipped"
            problems.append(KeyProblem(prefix.strip("/") or "<metrics>", why))
            continue
        plain = type(key) is str and key.isascii() and "\x00" not in key  # clean_text's, inline
        text = key if plain else _key_text(key)
        if text is None:
            why = f"a key of type {_type_name(key)} has no text (its str() failed); skipped"
            problems.append(KeyProblem(f"{prefix}<{_type_name(key)}>", why))
            continue
        name = prefix + text
        if _is_mapping(value):
            if len(stack) >= _MAX_DEPTH:
                why = f"nested deeper than {_MAX_DEPTH} mappings; skipped"
                problems.append(KeyProblem(name.strip("/"), why))
            else:
                _push(stack, name + "/", value, problems)
            continue
        clean = name.strip("/")
        if not clean:
            problems.append(KeyProblem(repr(name), "an empty metric name is not allowed"))
            continue
        if clean in flat:
            why = "two entries of one call have this name once flattened; the last is kept"
            problems.append(KeyProblem(clean, why))
        flat[clean] = value
    return flat, problems


def _push(
    stack: list[tuple[str, _Entries]], prefix: str, mapping: Any, problems: list[KeyProblem]
) -> None:
    try:
        entries = iter(mapping.items())
    except Exception as exc:
        why = f"reading the mapping raised {_type_name(exc)}; skipped"
        problems.append(KeyProblem(prefix.strip("/") or "<metrics>", why))
        return
    stack.append((prefix, entries))


# -- config values -------------------------------------------------------------------------
def to_json(value: Any) -> Any:
    """A JSON-compatible copy of ``value`` by the rules of this module's docstring.

    Never raises; ``json.dumps(to_json(x), allow_nan=True)`` always works and its text
    encodes to UTF-8.
    """
    return _to_json(value, set(), 0)


def is_plain_json(value: Any) -> bool:
    """Whether ``value`` is made only of what `to_json` keeps as it is: exact lists,
    tuples, dicts with text keys, clean text (`clean_text` leaves it unchanged), int64
    integers, floats, bools and ``None``, nested less deep than its limit. Then
    ``json.dumps(value)`` writes what ``json.dumps(to_json(value))`` does, with no copy
    (a table's cells of nested lists: `tracker.tables`). A cycle is not plain: it passes
    the depth limit. One loop, scalars checked in it: this runs once a table cell."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str or not _clean(key):
                    return False
            items: Any = item.values()
        elif kind is list or kind is tuple:
            items = item
        else:
            return _plain_scalar(item)
        if depth >= _MAX_DEPTH:
            return False
        for child in items:
            kind = type(child)
            if kind is float or kind is bool or child is None:
                continue
            if kind is str:
                if not _clean(child):
                    return False
            elif kind is int:
                if not INT64_MIN <= child <= INT64_MAX:
                    return False
            elif kind is dict or kind is list or kind is tuple:
                pending.append((child, depth + 1))
            else:
                return False
    return True


def _clean(text: str) -> bool:
    """Whether `clean_text` leaves exact text ``text`` as it is."""
    return (text.isascii() and "\x00" not in text) or clean_text(text) is text


def _plain_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return _clean(value)
    if kind is int:
        return bool(INT64_MIN <= value <= INT64_MAX)
    return value is None or kind is float or kind is bool


def _unrepresentable(value: Any) -> str:
    return f"<unrepresentable {_type_name(value)}>"


def _text(value: Any) -> str:
    """The result of ``str()``, ``repr()`` or ``isoformat()`` as clean text, or raise."""
    if isinstance(value, str):
        return clean_text(value)
    raise TypeError(f"expected text, got {_type_name(value)}")


_PLAIN_COPIES: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (int, int.__int__),
    (float, float.__float__),
    (str, str.__str__),
)


def _to_json(value: Any, seen: set[int], depth: int) -> Any:
    try:
        return _convert(value, seen, depth)
    except Exception:  # the object's own methods raised (RecursionError included)
        return _unrepresentable(value)


def _convert(value: Any, seen: set[int], depth: int) -> Any:
    kind = type(value)
    if kind is str:
        return clean_text(value)
    if value is None or kind is float or kind is bool:
        return value
    if kind is int:
        return value if INT64_MIN <= value <= INT64_MAX else _int_text(value)
    if kind is dict or kind is list:  # the common containers skip the checks below
        return _container(value, seen, depth)
    if isinstance(value, enum.Enum):
        return _to_json(value.value, seen, depth)
    for base, plain in _PLAIN_COPIES:  # subclasses: plain copies, not their own methods
        if isinstance(value, base):
            return _convert(plain(value), seen, depth)
    uuid = sys.modules.get("uuid")  # a UUID exists only where uuid was imported
    if isinstance(value, PurePath) or (uuid is not None and isinstance(value, uuid.UUID)):
        return _text(str(value))
    dt = sys.modules.get("datetime")  # likewise a date
    if dt is not None and isinstance(value, dt.datetime | dt.date | dt.time):
        return _text(value.isoformat())
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, type):
        return _qualified_name(value) or _unrepresentable(value)
    return _container(value, seen, depth)


def _container(value: Any, seen: set[int], depth: int) -> Any:
    """A value that may hold others, by the depth and cycle rules first."""
    if depth >= _MAX_DEPTH:
        return "<too deep>"
    marker = id(value)
    if marker in seen:
        return "<cycle>"
    seen.add(marker)
    try:
        return _container_to_json(value, seen, depth + 1)
    finally:
        seen.discard(marker)


def _container_to_json(value: Any, seen: set[int], depth: int) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return {_json_key(k): _to_json(v, seen, depth) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v, seen, depth) for v in value]
    if isinstance(value, set | frozenset):
        items = [_to_json(v, seen, depth) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    dataclasses = sys.modules.get("dataclasses")  # and a dataclass
    if dataclasses and dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _attr(value, f.name) for f in dataclasses.fields(value)}
        return _to_json(fields, seen, depth)
    for method in ("model_dump", "to_dict"):
        dump = _attr(value, method)
        if callable(dump):
            try:
                return _to_json(dump(), seen, depth)
            except Exception:  # a broken to_dict() is the object's problem, not the run's
                break
    if "dtype" in _type_name(value).lower():
        return _text(str(value))
    item = _attr(value, "item")
    if callable(item) and _size(value) in (None, 1):
        try:
            return _to_json(item(), seen, depth)
        except Exception:
            return _text(repr(value))
    if callable(value):
        name = _qualified_name(value)
        if name:
            return name
    if isinstance(value, Iterable) and _attr(value, "__len__") is not None:
        return [_to_json(v, seen, depth) for v in itertools.islice(value, _MAX_ITEMS)]
    return _text(repr(value))


def _qualified_name(value: Any) -> str | None:
    """``module.qualname`` of a class or function, when both are text."""
    module = _attr(value, "__module__")
    name = _attr(value, "__qualname__") or _attr(value, "__name__")
    if not isinstance(name, str):
        return None
    return clean_text(f"{module}.{name}" if isinstance(module, str) else name)


# -- secrets -------------------------------------------------------------------------------
_TOKEN_KINDS = (
    "hub|access|auth|api|bearer|refresh|session|id|oauth|client|csrf|jwt|sas|personal"
    "|hf|huggingface|ms|om|wandb|github|gh|gitlab|slack|discord|telegram|openai"
    "|anthropic|comet|neptune|mlflow"
)
_KEY_KINDS = (
    "wandb|hf|hub|huggingface|openai|anthropic|comet|neptune|mlflow|aws|azure|gcp|google"
    "|ssh|signing|encryption|master|license|service"
)
# Matched against the key lowered, with "-" as "_", and the suffix rules only for keys
# that end in "token" or "key": a regex with IGNORECASE, or one that tries anchored
# alternatives at every position, costs 5-20 us a key instead of ~0.5.
_SECRET_PART = re.compile(
    r"pass(?:word|wd|phrase)|secret|credential|authorization|cookie|webhook"
    r"|api_?key|access_?key|private_?key|connection_?string"
)
_SECRET_NAMES = frozenset({"token", "auth", "dsn"})
_SECRET_SUFFIX = re.compile(rf"(?:^|[_.])(?:(?:{_TOKEN_KINDS})_?token|(?:{_KEY_KINDS})[_.]?key)$")


# Value shapes, found by one character each starts with or holds (`_` of `hf_`, `-` of
# `sk-`). Searching a 1 KB string costs ~0.1 us for one character (`in`, memchr), ~2 us for
# a longer literal (`in` or a regex), ~1 us for a regex that starts with one character,
# and ~20 us for one that starts with a character class or with alternatives (it visits
# every position). So a string is searched only for the characters, and with the pattern
# of each character it holds; at each place the character is, lookbehinds check the
# provider's prefix, and that it does not continue a longer word. The one group a match
# has is the part replaced: the prefix (`hf_`, `AKIA`) is kept, so a reader still sees
# what kind of secret it was.
def _after(prefix: str) -> str:
    """At the character just read: it ends ``prefix``, which does not continue a word."""
    return f"(?<={prefix})(?<![A-Za-z0-9]{prefix})"


# A name: value or name=value is found at its separator when the character before it can
# end a credential name (or is a quote or space: "password": "x"); Python then checks the
# whole name (`Redactor._names_secret`). A lookbehind per credential name would cost more.
_CREDENTIAL_END = "(?<=[dDeEhHlLnNsStTyY\"' ].)"
_VALUE = (  # a quoted value up to its quote, else up to a space or & ; ,
    r"[ \t]*[\"']?(?P<{group}>(?<=\")[^\"]+|(?<=')[^']+"
    r"|(?:[Bb]earer\s+|[Bb]asic\s+)?[^\s&;,]+)"
)
_SHAPE_BRANCHES = {  # the character, then what may follow it
    "_": (
        _after("hf_") + "(?P<hf>[A-Za-z0-9]{30,})",  # Hugging Face
        _after("gh[pousr]_") + "(?P<github>[A-Za-z0-9]{30,})",  # GitHub
        _after("github_pat_") + "(?P<github_pat>[A-Za-z0-9_]{22,})",
    ),
    "-": (
        _after("sk-") + "(?P<openai>[A-Za-z0-9_-]{20,})",  # OpenAI, Anthropic (sk-ant-)
        _after("glpat-") + "(?P<gitlab>[A-Za-z0-9_-]{20,})",  # GitLab
        _after("xox[abeprs]-") + "(?P<slack>[A-Za-z0-9-]{10,})",  # Slack
        r"(?<=-----)BEGIN[A-Z ]* PRIVATE KEY-----(?P<pem>[\s\S]+?)(?=-----END|$)",  # PEM
    ),
    "A": (  # AWS access key ids AKIA... ASIA..., Google API keys AIza...
        "(?<![A-Za-z0-9]A)(?:KI|SI)A(?P<aws>[A-Z0-9]{16})(?![A-Za-z0-9])",
        "(?<![A-Za-z0-9]A)Iza(?P<google>[A-Za-z0-9_-]{35})",
    ),
    "J": (_after("eyJ") + r"(?P<jwt>[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)",),
    "B": (r"(?<![A-Za-z0-9]B)earer[ \t]+(?P<bearer>[A-Za-z0-9._~+/-]{8,}=*)",),
    ":": (
        # scheme://user:PASSWORD@host, up to the authority's last "@"; a password may
        # hold "/" (AWS secret keys do), a port (digits, then "/") is none
        r"//[^\s/:@]*:(?!\d*/)(?P<password>\S+?)@(?![^\s/@]*@)",
        # name: value, replaced when the name is a credential name
        _CREDENTIAL_END + "(?!//)" + _VALUE.format(group="colon"),
    ),
    "=": (_CREDENTIAL_END + _VALUE.format(group="equals"),),  # name=value, likewise
}
_BEFORE = {"_": "[fpoustr]", "-": "[kteabprs-]"}  # what precedes the character in a prefix
_SHAPES = {
    char: re.compile(
        re.escape(char)
        + (f"(?<={_BEFORE[char]}{re.escape(char)})" if char in _BEFORE else "")
        + "(?:"
        + "|".join(branches)
        + ")"
    )
    for char, branches in _SHAPE_BRANCHES.items()
}
_MASKS = {"password": "***"}  # a URI keeps its shape; everything else is REDACTED
_ASSIGNMENTS = frozenset({"colon", "equals"})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _set(value: Any) -> bool:
    """Whether a secret key's value holds something (``None``, bools and empties do not)."""
    return not (value is None or type(value) is bool or value in ("", [], {}))


_V = TypeVar("_V", bool, str)


class _Remembered(dict[tuple[tuple[re.Pattern[str], ...], str], _V]):
    """Answers about names, by (a redactor's extra patterns, name); a full one is emptied
    (names seldom vary: a table's rows repeat their columns)."""

    def answer(
        self, patterns: tuple[re.Pattern[str], ...], name: str, make: Callable[[str], _V]
    ) -> _V:
        """The answer for ``name``, made once by ``make``."""
        found = self.get((patterns, name))
        if found is None:
            found = make(name)
            if len(self) >= 4096:
                self.clear()
            self[patterns, name] = found
        return found


_VERDICTS: _Remembered[bool] = _Remembered()
"""`Redactor.is_secret_key` by (the redactor's extra key patterns, key)."""
_KEY_TEXTS: _Remembered[str] = _Remembered()
"""`Redactor.redact_text` of mapping keys by (the redactor's extra patterns, key)."""


class Redactor(Record):
    """Secret redaction by this module's rules, plus the user's key names and patterns.

    The run builds one from its settings (`Redactor.from_settings`) and passes what it
    records through it; a disabled one (``TRACKER_REDACT=0``) returns everything as given.
    """

    __slots__ = ("enabled", "keys", "patterns")

    def __init__(
        self,
        keys: tuple[re.Pattern[str], ...] = (),
        patterns: tuple[re.Pattern[str], ...] = (),
        enabled: bool = True,
    ) -> None:
        self.keys = keys  # more credential names (searched as is_secret_key)
        self.patterns = patterns  # more value shapes, searched in strings
        self.enabled = enabled

    @classmethod
    def from_settings(cls, settings: TrackerSettings) -> Redactor:
        """The redactor ``TRACKER_REDACT``, ``_REDACT_KEYS`` and ``_REDACT_PATTERNS`` ask for."""
        return cls(
            keys=tuple(re.compile(p, re.IGNORECASE) for p in settings.redact_keys),
            patterns=tuple(re.compile(p) for p in settings.redact_patterns),
            enabled=settings.redact,
        )

    def is_secret_key(self, key: str) -> bool:
        """Whether a key (``hub_token``, ``wandb.key``) names a credential: its name,
        lowered and with ``-`` read as ``_``, matches a built-in rule or a user's pattern.
        Remembered by name (`_VERDICTS`): a table's rows ask of the same columns each."""
        return _VERDICTS.answer(self.keys, key, self._names_credential)

    def _names_credential(self, key: str) -> bool:
        name = key.lower().replace("-", "_")
        return (
            name in _SECRET_NAMES
            or _SECRET_PART.search(name) is not None
            or (name.endswith(("token", "key")) and _SECRET_SUFFIX.search(name) is not None)
            or (self.keys != () and any(p.search(name) for p in self.keys))
        )

    def redact(self, value: Any) -> Any:
        """A copy of a JSON value (as `to_json` returns) with its secrets redacted."""
        if not self.enabled:
            return value
        return self._redact(value, "", 0)

    def redact_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Flat rows (a table's: text column names, each cell text, a number, a bool or
        ``None``), each as `redact` makes it, each column's name judged once for all
        rows (10,000 lm-eval samples repeat their eight columns 10,000 times)."""
        if not self.enabled:
            return rows
        columns: dict[str, tuple[str, bool]] = {}  # a name: its text, names a credential
        text_of = self.redact_text
        out = []
        for row in rows:
            clean: dict[str, Any] = {}
            for name, cell in row.items():
                column = columns.get(name)
                if column is None:
                    column = columns[name] = (self._key_text(name), self.is_secret_key(name))
                if column[1] and _set(cell):
                    clean[column[0]] = REDACTED
                else:
                    clean[column[0]] = text_of(cell) if type(cell) is str else cell
            out.append(clean)
        return out

    def _redact(self, value: Any, parent: str, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            return self.redact_text(value)
        if depth > _MAX_DEPTH:  # deeper than to_json ever makes
            return "<too deep>"
        if kind is list:
            return [self._redact(v, parent, depth + 1) for v in value]
        if kind is not dict:
            return value
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if type(key) is str else _json_key(key)
            secret = self.is_secret_key(name) or (
                parent != "" and self.is_secret_key(f"{parent}.{name}")
            )
            out[self._key_text(name)] = (
                REDACTED if secret and _set(item) else self._redact(item, name, depth + 1)
            )
        return out

    def _key_text(self, name: str) -> str:
        """`redact_text` of a mapping's key, remembered (`_KEY_TEXTS`): keys repeat."""
        return _KEY_TEXTS.answer(self.patterns, name, self.redact_text)

    def redact_text(self, text: str) -> str:
        """``text`` with every value shape of a secret in it replaced."""
        if not self.enabled:
            return text
        found: list[tuple[int, int, str]] = []
        for char, shapes in _SHAPES.items():
            if char not in text:
                continue
            for match in shapes.finditer(text):
                kind = match.lastgroup
                assert kind is not None  # every branch has its one group
                if kind in _ASSIGNMENTS and not self._names_secret(text, match.start()):
                    continue
                found.append((*match.span(kind), _MASKS.get(kind, REDACTED)))
        if found:
            text = _replace_spans(text, found)
        for pattern in self.patterns:
            text = pattern.sub(REDACTED, text)
        return text

    def _names_secret(self, text: str, at: int) -> bool:
        """Whether the name before ``text[at]`` (``=`` or ``:``) is a credential name;
        ``"password": `` and ``password = `` count too."""
        end = at
        while end and text[end - 1] in " \t":
            end -= 1
        if end and text[end - 1] in "\"'":
            end -= 1
        start = end
        while start and text[start - 1] in _NAME_CHARS:
            start -= 1
        name = text[start:end].lstrip("-.")
        return name != "" and self.is_secret_key(name)

    def redact_argv(self, argv: Sequence[str]) -> list[str]:
        """A command line with secrets redacted: ``--hub_token X``, ``--api-key=Y``,
        ``hub_token=Z`` (the form Hydra and LLaMA-Factory take) and value shapes anywhere."""
        if not self.enabled:
            return list(argv)
        out: list[str] = []
        secret_next = False
        for arg in argv:
            if secret_next and arg and not arg.startswith("--"):
                out.append(REDACTED)
                secret_next = False
                continue
            name, equals, value = arg.partition("=")
            flag = name.lstrip("-")
            if equals and flag and self.is_secret_key(flag) and value:
                out.append(f"{name}={REDACTED}")
                continue
            secret_next = not equals and arg.startswith("-") and self.is_secret_key(flag)
            out.append(self.redact_text(arg))
        return out


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, mask)`` span replaced; of overlapping spans (a
    token inside a URI's password), the first one wins."""
    pieces: list[str] = []
    done = 0
    for start, end, mask in sorted(spans):
        if start >= done:
            pieces += (text[done:start], mask)
            done = end
    pieces.append(text[done:])
    return "".join(pieces)


_BUILTIN = Redactor()


def is_secret_key(key: str) -> bool:
    """Whether a config key names a secret (``hub_token``, ``password``, ``api_key``, ...)
    by the built-in names. Tokenizer settings such as ``pad_token`` are not secrets."""
    return _BUILTIN.is_secret_key(key)


def redact(value: Any) -> Any:
    """`Redactor.redact` by the built-in rules."""
    return _BUILTIN.redact(value)


def redact_text(text: str) -> str:
    """`Redactor.redact_text` by the built-in rules."""
    return _BUILTIN.redact_text(text)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """`Redactor.redact_argv` by the built-in rules."""
    return _BUILTIN.redact_argv(argv)


# -- merging -------------------------------------------------------------------------------
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
