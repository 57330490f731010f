"""`Alert`: what happened to which run, and the ``alert`` event that records it."""

from __future__ import annotations

from typing import Any, Literal

from tracker.records import Event, Record

__all__ = ["EVENT_KIND", "LEVELS", "Alert", "Level", "check_level"]

Level = Literal["info", "warn", "error"]
LEVELS: tuple[Level, ...] = ("info", "warn", "error")
EVENT_KIND = "alert"
"""The kind of the event every alert is recorded as."""


_NAMES: dict[str, Level] = {
    **{name: "info" for name in ("info", "debug", "notset", "notice")},
    **{name: "warn" for name in ("warn", "warning")},
    **{name: "error" for name in ("error", "err", "critical", "fatal", "exception")},
}
"""Level names as people write them: ours, and Python logging's (and W&B's ``WARN``)."""


def check_level(level: object) -> Level | None:
    """The level of `LEVELS` that ``level`` names, or ``None`` for anything else.

    Any case; Python logging's names (``warning``, ``critical``, ``fatal``, ``debug``) and
    numbers (``logging.WARNING``), and an enum whose value is such a name (W&B's
    ``AlertLevel.WARN``), name the level they mean.
    """
    if type(level) is int:
        return "info" if level < 30 else "warn" if level < 40 else "error"
    name = getattr(level, "value", level)
    return _NAMES.get(name.strip().lower()) if isinstance(name, str) else None


class Alert(Record):
    """One alert about one run.

    ``reason`` says what raised it (``user``, ``failed``, ``interrupted``, ``nonfinite``,
    ``crashed``, ``stalled``); ``key`` is what makes it once: an alert whose key was
    already raised for the run is not raised again (`RunAlerts`, `Watcher`).
    """

    __slots__ = (
        "at",
        "key",
        "level",
        "project",
        "reason",
        "run_id",
        "run_name",
        "step",
        "text",
        "title",
    )

    def __init__(
        self,
        title: str,
        text: str,
        level: Level,
        reason: str,
        key: str,
        run_id: str,
        run_name: str,
        project: str,
        at: float,
        step: int | None = None,
    ) -> None:
        self.title = title
        self.text = text
        self.level = level
        self.reason = reason
        self.key = key
        self.run_id = run_id
        self.run_name = run_name
        self.project = project
        self.at = at
        self.step = step

    def event(self) -> Event:
        """The ``alert`` event recorded on the run (it holds no webhook address)."""
        payload: dict[str, Any] = {
            "title": self.title,
            "text": self.text,
            "level": self.level,
            "reason": self.reason,
            "key": self.key,
        }
        return Event(EVENT_KIND, self.at, self.step, payload)

    @property
    def line(self) -> str:
        """One line for a terminal or a chat message's fallback text."""
        where = f"{self.project}/{self.run_name} ({self.run_id})"
        text = f": {self.text}" if self.text else ""
        return f"[{self.level}] {self.title} - {where}{text}"
