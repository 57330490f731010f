"""accelerate: every ``Accelerator`` gets a tracker in ``log_with``, unless it lists one.

The user's own trackers (``log_with="wandb"``, ``"all"``, instances) stay beside it. The
run starts, as with a hand-added tracker, in ``Accelerator.init_trackers``: an
``Accelerator`` that never calls it (the one a ``Trainer`` makes) writes nothing. A project
set for the command (``TRACKER_PROJECT``) wins over the one given to ``init_trackers``.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from tracker.autoattach import attaching, enabled, patch

__all__ = ["attach"]


def attach(module: ModuleType) -> None:
    """Patch ``accelerate.accelerator.Accelerator.__init__`` (the module has just been run)."""
    if enabled():
        patch(module.Accelerator, "__init__", _adding_tracker)


def _adding_tracker(original: Any) -> Any:
    signature = inspect.signature(original)

    def __init__(accelerator: Any, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(accelerator, *args, **kwargs)
        except TypeError:  # a wrong call: the Accelerator itself says what is wrong
            original(accelerator, *args, **kwargs)
            return
        with attaching("accelerate's Accelerator"):
            bound.arguments["log_with"] = _with_ours(bound.arguments.get("log_with"))
            args, kwargs = bound.args[1:], bound.kwargs
        original(accelerator, *args, **kwargs)

    return __init__


def _with_ours(log_with: Any) -> Any:
    from tracker.integrations.accelerate import CustomTracker
    from tracker.settings import TrackerSettings

    if log_with is None:
        listed = []
    elif isinstance(log_with, list | tuple):
        listed = list(log_with)
    else:
        listed = [log_with]
    if any(isinstance(item, CustomTracker) or item == CustomTracker.name for item in listed):
        return log_with
    settings = TrackerSettings()
    project = settings.project if "project" in settings.fields_set else None
    return [*listed, CustomTracker(project)]
