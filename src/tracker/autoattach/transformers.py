"""transformers: every ``Trainer`` gets a `CustomTrackerCallback`, unless it holds one.

TRL's trainers and LLaMA-Factory's are ``Trainer`` subclasses, so this one patch covers
them; a callback the user added by hand (or ``tracker train``'s) is the one that records.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tracker.autoattach import attaching, enabled, patch

__all__ = ["attach"]


def attach(module: ModuleType) -> None:
    """Patch ``transformers.trainer.Trainer.__init__`` (the module has just been run)."""
    if enabled():
        patch(module.Trainer, "__init__", _adding_callback)


def _adding_callback(original: Any) -> Any:
    def __init__(trainer: Any, *args: Any, **kwargs: Any) -> None:
        original(trainer, *args, **kwargs)
        with attaching("transformers' Trainer"):
            _add_callback(trainer)

    return __init__


def _add_callback(trainer: Any) -> None:
    from tracker.integrations.transformers import CustomTrackerCallback

    if not any(isinstance(cb, CustomTrackerCallback) for cb in trainer.callback_handler.callbacks):
        trainer.add_callback(CustomTrackerCallback())
