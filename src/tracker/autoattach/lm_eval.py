"""lm-evaluation-harness: what ``simple_evaluate`` returns is recorded as evaluations of
the checkpoint it evaluated (`tracker.integrations.lm_eval.log_results`).

lm-eval's CLI (``lm_eval ...``, ``python -m lm_eval``) and a script alike call
``lm_eval.evaluator.simple_evaluate``; its results are recorded when it returns, with the
samples of ``--log_samples`` (which the CLI takes out of the dict afterwards), in the
``tracker run`` command's run. Reading the JSON files lm-eval writes under
``--output_path`` would miss a run without one and the samples' order of writing; this
sees what lm-eval sees. A failure to record is a warning; the results are returned as
they are.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tracker.autoattach import attaching, enabled, patch

__all__ = ["attach"]


def attach(module: ModuleType) -> None:
    """Patch ``lm_eval.evaluator.simple_evaluate`` (the module has just been run)."""
    if enabled():
        patch(module, "simple_evaluate", _recording)


def _recording(original: Any) -> Any:
    def simple_evaluate(*args: Any, **kwargs: Any) -> Any:
        results = original(*args, **kwargs)
        with attaching("lm-eval's results"):
            from tracker.integrations.lm_eval import log_results

            log_results(results)
        return results

    return simple_evaluate
