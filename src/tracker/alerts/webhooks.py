"""Webhooks: where alerts go, in which form, and how one is posted.

``TRACKER_ALERT_WEBHOOKS`` holds one or more webhook URLs, comma separated. Each is posted
a JSON body in one of two forms, chosen by a prefix:

* ``https://...`` or ``json:https://...``: the generic form, ``{"text", "title",
  "message", "level", "reason", "run": {"id", "name", "project"}, "step", "at"}``. Its
  ``text`` line makes it readable by receivers that take Slack's simple form too.
* ``slack:https://...``: Slack's incoming-webhook form (also taken by Mattermost,
  Rocket.Chat and others), ``{"text", "attachments": [{"color", "title", "text",
  "footer", "ts"}]}``, with ``&``, ``<`` and ``>`` escaped as Slack asks.

A webhook URL is a secret (it is the credential): it is never recorded in a run, and
wherever it is shown (`Webhook.shown`) all but its scheme and host are masked.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from tracker.alerts.alert import Alert
from tracker.records import Record

__all__ = ["FORMS", "Webhook", "mask"]

Form = Literal["json", "slack"]
FORMS: tuple[Form, ...] = ("json", "slack")
_COLORS = {"info": "#3b82f6", "warn": "#f59e0b", "error": "#dc2626"}


def mask(url: str) -> str:
    """``url`` with everything but its scheme and host masked: ``https://host/***``."""
    from urllib.parse import urlsplit  # ~3 ms: only where a webhook is set

    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    return f"{parts.scheme}://{host}{port}/***"


class Webhook(Record):
    """One webhook: its URL and the form of the JSON it is posted."""

    __slots__ = ("form", "url")

    def __init__(self, url: str, form: Form = "json") -> None:
        self.url = url
        self.form = form

    def __repr__(self) -> str:  # a repr never shows the secret
        return f"Webhook({self.shown!r}, form={self.form!r})"

    @classmethod
    def parse(cls, spec: str) -> Webhook:
        """A webhook from ``[json:|slack:]http(s)://host/path``; `ValueError` otherwise."""
        from urllib.parse import urlsplit

        form: Form = "json"
        url = spec.strip()
        for known in FORMS:
            if url.startswith(f"{known}:"):
                form, url = known, url[len(known) + 1 :]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"alert webhook {mask(url)} is not an http(s) URL: write https://host/path, "
                "with slack: in front for Slack's form"
            )
        return cls(url, form)

    @property
    def shown(self) -> str:
        """The URL as it may be shown: scheme and host only."""
        return mask(self.url)

    def body(self, alert: Alert) -> bytes:
        """The JSON body posted for ``alert``."""
        payload = _slack(alert) if self.form == "slack" else _generic(alert)
        return json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()


def _generic(alert: Alert) -> dict[str, Any]:
    return {
        "text": alert.line,
        "title": alert.title,
        "message": alert.text,
        "level": alert.level,
        "reason": alert.reason,
        "run": {"id": alert.run_id, "name": alert.run_name, "project": alert.project},
        "step": alert.step,
        "at": alert.at,
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(alert: Alert) -> dict[str, Any]:
    step = "" if alert.step is None else f" · step {alert.step}"
    return {
        "text": _slack_escape(alert.line),
        "attachments": [
            {
                "color": _COLORS[alert.level],
                "title": _slack_escape(alert.title),
                "text": _slack_escape(alert.text),
                "footer": _slack_escape(
                    f"tracker · {alert.project}/{alert.run_name} ({alert.run_id}){step}"
                ),
                "ts": int(alert.at),
            }
        ],
    }
