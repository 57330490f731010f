"""lighteval: what a ``Pipeline`` evaluated is recorded as evaluations of the checkpoint it
loaded (`tracker.integrations.lighteval.log_results`).

lighteval's pipeline backends (``lighteval accelerate``, ``vllm``, ``custom``, ...; not
``lighteval eval``, inspect-ai's) and a script's ``pipeline.save_and_push_results()`` call
``EvaluationTracker.save`` once the evaluation is done, on the main process only; the
tracker's results and details are recorded when it is called, in the ``tracker run``
command's run, and then lighteval saves them as it would. Reading the JSON file lighteval
writes under ``--output-dir`` would miss the samples unless ``--save-details`` was given;
this sees what lighteval holds. A failure to record is a warning; lighteval carries on.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tracker.autoattach import attaching, enabled, patch

__all__ = ["attach"]


def attach(module: ModuleType) -> None:
    """Patch ``EvaluationTracker.save`` (its module has just been run)."""
    if enabled():
        patch(module.EvaluationTracker, "save", _recording)


def _recording(original: Any) -> Any:
    def save(self: Any, *args: Any, **kwargs: Any) -> Any:
        with attaching("lighteval's results"):
            from tracker.integrations.lighteval import log_results

            log_results(self)
        return original(self, *args, **kwargs)

    return save
