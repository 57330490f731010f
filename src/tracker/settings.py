"""`TrackerSettings`: the one place that reads the environment.

Every option has a ``TRACKER_`` variable (``TRACKER_URI``, ``TRACKER_DIR``, ...). The
launcher variables that say which process this is (``RANK``, ``WORLD_SIZE``, ...) are read
here too, under their usual names, so that no other module touches ``os.environ``.

A setting is declared as a typed class attribute with `Field`: its default, its bounds,
its description and, for the launcher's variables, the names it is read under. The few
types a setting may have (text, a number, a flag, a path, a list of text) are converted and
checked here, with an error that names the variable or argument, the value and the rule.
This module imports neither pydantic nor anything heavy: importing pydantic-settings and
building its model took ~175 ms of CPU time of every process's first run, a plain
pydantic model ~130 ms, this ~15 ms, most of it ``pathlib`` and ``typing``, which a run
imports anyway (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, dataclass_transform

__all__ = ["Field", "SettingsError", "TrackerSettings", "default_dir"]

_UNSET: Any = object()


class SettingsError(ValueError):
    """Settings that cannot be used: each problem names the variable (or argument), the
    value and the rule it breaks."""


def default_dir() -> Path:
    """The folder of the embedded store when ``TRACKER_DIR`` is not set.

    ``$XDG_DATA_HOME/tracker``, which is ``~/.local/share/tracker`` on most systems.
    """
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "tracker"


class _Field:
    """One declared setting, as `Field` made it and `_Settings` completed it."""

    __slots__ = (
        *("check", "comma", "default", "description", "env", "factory"),
        *("ge", "gt", "kind", "le", "name", "shown"),
    )

    def __init__(
        self,
        default: Any,
        factory: Callable[[], Any] | None,
        description: str,
        bounds: tuple[float | None, float | None, float | None],
        env: tuple[str, ...],
        comma: bool,
        check: Callable[[Any], Any] | None,
        shown: bool,
    ) -> None:
        self.default, self.factory, self.description = default, factory, description
        self.ge, self.gt, self.le = bounds
        self.env, self.comma, self.check, self.shown = env, comma, check, shown
        self.name = self.kind = ""  # set by `_Settings`, which reads the annotation

    def value(self, given: Any, from_env: bool) -> Any:
        """``given`` converted to this setting's type and checked; `ValueError` saying why."""
        if self.kind == "list[str]" and isinstance(given, str):
            given = _split(given, comma=self.comma, from_env=from_env)
        value = _CONVERT[self.kind](given)
        if self.ge is not None and not value >= self.ge:
            raise ValueError(f"must be at least {self.ge}")
        if self.gt is not None and not value > self.gt:
            raise ValueError(f"must be more than {self.gt}")
        if self.le is not None and not value <= self.le:
            raise ValueError(f"must be at most {self.le}")
        return value if self.check is None else self.check(value)

    def initial(self) -> Any:
        """The default value (a new one from ``default_factory`` each time)."""
        return self.default if self.factory is None else self.factory()


def Field(  # named as pydantic and dataclasses name their field specifiers
    default: Any = _UNSET,
    *,
    default_factory: Callable[[], Any] | None = None,
    description: str = "",
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    env: tuple[str, ...] = (),
    comma: bool = False,
    check: Callable[[Any], Any] | None = None,
    repr: bool = True,  # dataclasses.field's name for it
) -> Any:
    """Declare a setting: its ``default`` (or ``default_factory``), bounds (``ge``, ``gt``,
    ``le``), ``description``, and a ``check`` that returns the value or raises `ValueError`.

    It is read from ``TRACKER_<NAME>``, or from the ``env`` names (the first one set
    wins). A list read from the environment is a JSON list, or comma separated text where
    ``comma`` is set (a list given as text, then, too). ``repr=False`` keeps a secret out
    of the settings' repr and of error messages.
    """
    return _Field(default, default_factory, description, (ge, gt, le), env, comma, check, repr)


@dataclass_transform(kw_only_default=True, field_specifiers=(Field,))
class _Settings:
    """Reads the settings a subclass declares: arguments win over the environment, which
    wins over the defaults. An unknown argument raises `TypeError`; values that are not
    valid raise one `SettingsError` that lists them all."""

    _fields: ClassVar[dict[str, _Field]]

    def __init_subclass__(cls) -> None:
        cls._fields = {}
        for name, kind in cls.__annotations__.items():
            field = cls.__dict__.get(name)
            if not isinstance(field, _Field):
                continue
            if kind not in _CONVERT or (field.default is _UNSET and field.factory is None):
                raise TypeError(
                    f"setting {name}: declare one of the types {', '.join(_CONVERT)}, "
                    "with a default or a default_factory"
                )
            field.name, field.kind = name, kind
            field.env = field.env or (f"TRACKER_{name.upper()}",)
            cls._fields[name] = field
            delattr(cls, name)

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - self._fields.keys()
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no setting {', '.join(sorted(unknown))}; "
                f"its settings are {', '.join(self._fields)}"
            )
        environ = os.environ
        problems: list[str] = []
        given: set[str] = set()
        for name, field in self._fields.items():
            source, raw = name, values.get(name, _UNSET)
            if raw is _UNSET:
                for source in field.env:
                    raw = environ.get(source, _UNSET)
                    if raw is not _UNSET:
                        break
                else:
                    setattr(self, name, field.initial())
                    continue
            given.add(name)
            try:
                setattr(self, name, field.value(raw, from_env=source != name))
            except ValueError as exc:
                shown = repr(raw) if field.shown else "(hidden)"
                about = f" ({field.description})" if field.description else ""
                problems.append(f"{source}={shown}: {exc}{about}")
        if problems:
            head = "invalid setting" if len(problems) == 1 else f"{len(problems)} invalid settings"
            raise SettingsError(f"{head}: " + "; ".join(problems))
        self.fields_set = frozenset(given)
        """The settings given as arguments or read from the environment (not defaults)."""

    @classmethod
    def fields(cls) -> Mapping[str, _Field]:
        """The declared settings by name: each one's ``env`` names and ``description``."""
        return cls._fields

    def __repr__(self) -> str:
        shown = (f"{n}={getattr(self, n)!r}" for n, f in self._fields.items() if f.shown)
        return f"{type(self).__name__}({', '.join(shown)})"


def _split(text: str, *, comma: bool, from_env: bool) -> Any:
    """A list given as text: comma separated, or (from the environment) a JSON list."""
    if comma:
        return [part.strip() for part in text.split(",") if part.strip()]
    if not from_env:
        return text
    import json

    try:
        return json.loads(text)
    except ValueError:
        raise ValueError('must be a JSON list of text, such as ["one", "two"]') from None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"must be text, not {type(value).__name__}")


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError("must be a whole number")


def _float(value: Any) -> float:
    if type(value) is int or type(value) is float:
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError("must be a number")


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError("must be 1 or 0 (true or false, yes or no, on or off)")


def _path(value: Any) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise ValueError(f"must be a path, not {type(value).__name__}")


def _texts(value: Any) -> list[str]:
    if isinstance(value, list | tuple | set | frozenset) and all(
        isinstance(item, str) for item in value
    ):
        return list(value)
    raise ValueError("must be a list of text")


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "str": _text,
    "str | None": _optional_text,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "Path": _path,
    "list[str]": _texts,
}
"""The converter of each type a setting may be declared with, by its annotation."""


def _regexes(value: list[str]) -> list[str]:
    for pattern in value:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        if compiled.fullmatch(""):
            raise ValueError(f"{pattern!r} matches empty text, so it would redact everything")
    return value


class TrackerSettings(_Settings):
    """Settings of `tracker`, read from ``TRACKER_*`` variables and constructor arguments.

    Constructor arguments win over the environment, which wins over the defaults.
    """

    uri: list[str] = Field(
        default_factory=list,
        comma=True,
        description="Store URI(s), comma separated: `sqlite:///path.db`, `jsonl:///dir`, "
        "`memory://name`, or a scheme registered by a plugin. Several URIs fan out.",
    )
    dir: Path = Field(
        default_factory=default_dir,
        description="Folder of the embedded default store (`tracker.db` inside it).",
    )
    project: str = Field(default="default", description="Project of new runs.")
    run_name: str | None = Field(default=None, description="Name of the next run.")
    run_id: str | None = Field(default=None, description="Id of a run to resume or create.")
    tags: list[str] = Field(
        default_factory=list, comma=True, description="Tags of new runs, comma separated."
    )
    sweep: str | None = Field(
        default=None, description="Sweep (hyperparameter search) new runs belong to."
    )
    disabled: bool = Field(default=False, description="Make every tracker call a no-op.")
    flush_interval: float = Field(
        default=1.0, ge=0.01, description="Seconds between background writes to the store."
    )
    heartbeat_interval: float = Field(
        default=10.0, ge=0.05, description="Seconds between heartbeats of a running run."
    )
    finish_timeout: float = Field(
        default=30.0, ge=0.0, description="Most seconds `finish()` waits for pending writes."
    )
    max_pending: int = Field(
        default=200_000,
        ge=1_000,
        description="Most `log_metrics` calls queued in memory (and ten times as many points "
        "kept per failing backend); past it new calls are dropped, counted and reported.",
    )
    spool_max_mb: int = Field(
        default=1024,
        ge=0,
        description="Most megabytes of metric points spooled to disk per backend while it "
        "is unreachable (after `max_pending` x 10 points in memory); past it the oldest "
        "points are dropped and counted.",
    )
    deliver_unsent: bool = Field(
        default=True,
        description="At a run's start, deliver in the background what earlier runs of this "
        "machine could not write to the same store (their rescue files and spools).",
    )
    redact: bool = Field(
        default=True, description="Redact secrets in everything a run records (docs/values.md)."
    )
    redact_keys: list[str] = Field(
        default_factory=list,
        check=_regexes,
        description='More key names to redact: regular expressions, a JSON list (`["^my_pass$"]`).',
    )
    redact_patterns: list[str] = Field(
        default_factory=list,
        check=_regexes,
        description="More secret shapes to redact in text, regular expressions as a JSON list: "
        '`["acme-[0-9a-f]{32}"]`.',
    )
    system_interval: float = Field(
        default=10.0, ge=0.0, description="Seconds between system metric samples; 0 turns it off."
    )
    node_name: str | None = Field(
        default=None,
        description="This node's name in the system metric keys of a job of several nodes "
        "(default: the host name).",
    )
    handle_signals: bool = Field(
        default=True, description="Record SIGTERM as `interrupted` before the process ends."
    )
    alert_webhooks: list[str] = Field(
        default_factory=list,
        comma=True,
        repr=False,  # webhook URLs are credentials
        description="Webhook URLs alerts are posted to, comma separated; `slack:` in front "
        "of one posts Slack's form, else the generic JSON form.",
    )
    alert_retries: int = Field(
        default=3, ge=0, le=10, description="Most retries of an alert post that surely failed."
    )
    alert_timeout: float = Field(
        default=10.0,
        gt=0.0,
        description="Most seconds one alert post may take; `finish()` waits as long for "
        "alerts still being posted.",
    )
    alert_min_interval: float = Field(
        default=60.0,
        ge=0.0,
        description="Seconds within which an alert of the same title is not raised again.",
    )
    stall_after: float = Field(
        default=1800.0,
        gt=0.0,
        description="Seconds without a new step, heartbeat alive, after which a run is stalled.",
    )
    watch_interval: float = Field(
        default=30.0, ge=0.05, description="Seconds between two looks of `tracker watch`."
    )
    ui_watch: bool = Field(
        default=True, description="Have `tracker ui` raise crashed and stalled alerts too."
    )

    # What the launcher (torchrun, accelerate, deepspeed, SLURM, MPI) says about this process.
    rank: int = Field(
        default=0,
        env=("TRACKER_RANK", "RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"),
        description="Global rank of this process.",
    )
    local_rank: int = Field(
        default=0,
        env=("TRACKER_LOCAL_RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"),
        description="Rank of this process on its node.",
    )
    world_size: int = Field(
        default=1,
        env=(
            "TRACKER_WORLD_SIZE",
            "WORLD_SIZE",
            "PMI_SIZE",
            "OMPI_COMM_WORLD_SIZE",
            "SLURM_NTASKS",
        ),
        description="Processes in the job.",
    )
    local_world_size: int = Field(
        default=1,
        env=("TRACKER_LOCAL_WORLD_SIZE", "LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE"),
        description="Processes of the job on this node.",
    )
    cuda_visible_devices: str | None = Field(
        default=None, env=("CUDA_VISIBLE_DEVICES",), description="The GPUs this process may use."
    )

    @property
    def store_uris(self) -> list[str]:
        """The store URIs in effect: ``TRACKER_URI``, else the embedded SQLite store."""
        if self.uri:
            return list(self.uri)
        return [f"sqlite:///{self.dir / 'tracker.db'}"]
