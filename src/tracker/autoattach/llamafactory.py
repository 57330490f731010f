"""LLaMA-Factory: ``run_exp`` gets the callback ``tracker train`` gives it, unless it was
handed a `CustomTrackerCallback` already, and the generations of ``do_predict`` become the
run's table ``predict/generations`` when it returns, as with ``tracker train``.

``llamafactory-cli train`` runs ``run_exp`` in its own process, or (``FORCE_TORCHRUN=1``,
or several GPUs) in every process of the ``torchrun`` it relaunches itself under; either
way the run's config then holds LLaMA-Factory's own model, data, fine-tuning and
generation arguments too, as with ``tracker train``. Without this, the ``Trainer`` patch
(`tracker.autoattach.transformers`) would still record the run, without them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tracker.autoattach import attaching, enabled, patch

__all__ = ["attach"]


def attach(module: ModuleType) -> None:
    """Patch ``llamafactory.train.tuner.run_exp`` (the module has just been run)."""
    if enabled():
        patch(module, "run_exp", _with_callback)


def _with_callback(original: Any) -> Any:
    def run_exp(args: Any = None, callbacks: Any = None) -> Any:
        callbacks = list(callbacks or [])  # run_exp appends its own callbacks to the list
        added = None
        with attaching("LLaMA-Factory's run_exp"):
            args, added = _add_callback(args, callbacks)
        result = original(args, callbacks)
        if added is not None:
            with attaching("LLaMA-Factory's generations"):
                from tracker.integrations.llamafactory import record_generations_of

                record_generations_of(added)
        return result

    return run_exp


def _add_callback(args: Any, callbacks: list[Any]) -> tuple[Any, Any]:
    """``args`` read as ``run_exp`` reads them, and the callback added to ``callbacks``
    (``None`` where one was there already)."""
    from llamafactory.hparams import read_args

    from tracker.integrations.llamafactory import callback_for
    from tracker.integrations.transformers import CustomTrackerCallback

    if any(isinstance(cb, CustomTrackerCallback) for cb in callbacks):
        return args, None
    args = read_args(args)  # None: the command line, as run_exp would read it
    callback = callback_for(args)
    callbacks.append(callback)
    return args, callback
