"""`Alert`: what happened to which run, and the ``alert`` event that records it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tracker.records import Event

__all__ = ["EVENT_KIND", "LEVELS", "Alert", "Level", "check_level"]

Level = Literal["info", "warn", "error"]
LEVELS: tuple[Level, ...] = ("info", "warn", "error")
EVENT_KIND = "alert"
"""The kind of the event every alert is recorded as."""


def check_level(level: str) -> Level:
    """``level`` if it is one of `LEVELS`; a `ValueError` that lists them otherwise."""
    for known in LEVELS:
        if level == known:
            return known
    raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, not {level!r}")


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert about one run.

    ``reason`` says what raised it (``user``, ``failed``, ``interrupted``, ``nonfinite``,
    ``crashed``, ``stalled``); ``key`` is what makes it once: an alert whose key was
    already raised for the run is not raised again (`RunAlerts`, `Watcher`).
    """

    title: str
    text: str
    level: Level
    reason: str
    key: str
    run_id: str
    run_name: str
    project: str
    at: float
    step: int | None = None

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
