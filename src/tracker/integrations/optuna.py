"""Optuna → tracker: `CustomTrackerStudyCallback`, each finished trial of a study a run.

For searches outside the ``Trainer`` (whose ``hyperparameter_search`` the Trainer adapter
records itself): ``study.optimize(objective, callbacks=[CustomTrackerStudyCallback()])``.
It only translates a finished trial into core calls: the trial's run (`tracker.sweeps`:
one sweep, the study's name unless ``sweep=`` names another; the trial's number and
sampled values in the config), its intermediate values as the metric
``trial/intermediate_value`` at their steps, its value(s) as the metric and summary key
``trial/<name>`` (``trial/value``, or the study's metric names), and its state as the
run's status: complete → ``finished``, failed → ``failed``, pruned → ``interrupted``.

A failed trial's error is the run's error: Optuna hands the callback the trial without its
exception, which it only logs (``Trial N failed with parameters: ... because of the
following error: ...``, with the exception), so the callback listens to Optuna's logger
for it; where Optuna's logging is silenced below warnings, the error says that much.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Unpack

from tracker.integrations import requires_extra
from tracker.run import TrackerOptions
from tracker.sweeps import Trial, trial_config, trial_run

with requires_extra("optuna"):
    from optuna.trial import TrialState

__all__ = ["CustomTrackerStudyCallback"]

_STATUSES = {
    TrialState.COMPLETE: "finished",
    TrialState.FAIL: "failed",
    TrialState.PRUNED: "interrupted",
}


_FAILED = re.compile(r"Trial (\d+) failed with parameters: .* because of the following error: ")
_KEPT = 1000  # errors not yet recorded, at most
_NO_ERROR = "the trial failed (its error is in Optuna's log, which is silenced)"


class _Failures(logging.Handler):
    """The errors of failed trials, by trial number, as Optuna logs them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: dict[int, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        found = _FAILED.match(text)
        if found is None:
            return
        exc = record.exc_info[1] if record.exc_info else None
        why = f"{type(exc).__name__}: {exc}" if exc else text[found.end() :].removesuffix(".")
        self.errors[int(found.group(1))] = why
        if len(self.errors) > _KEPT:  # failures this callback never records (another study)
            del self.errors[next(iter(self.errors))]


class CustomTrackerStudyCallback:
    """Record each finished trial of an Optuna study as a run of the study's sweep.

    Takes `CustomTracker`'s options (``sweep=``, ``store=``, ``tags=``, ...);
    ``metric_names`` names the trial's values (default: the study's metric names, else
    ``value``, or ``value_0``, ``value_1``... for several objectives).
    """

    def __init__(
        self,
        project: str | None = None,
        *,
        metric_names: list[str] | None = None,
        **options: Unpack[TrackerOptions],
    ) -> None:
        self._project = project
        self._metric_names = metric_names
        self._options = options
        self._failures = _Failures()
        logging.getLogger("optuna").addHandler(self._failures)

    def __call__(self, study: Any, trial: Any) -> None:
        """Record ``trial`` (an ``optuna.trial.FrozenTrial`` that just finished)."""
        found = Trial(trial.number, dict(trial.params), study.study_name)
        run = trial_run(found, self._project, framework="optuna", **self._options)
        run.start()
        if not run.enabled:
            return
        run.log_config(trial_config(found))
        for step, value in sorted(trial.intermediate_values.items()):
            run.log_metrics({"trial/intermediate_value": value}, step=step)
        values = list(trial.values or ())
        names = self._metric_names or getattr(study, "metric_names", None)
        if not names or len(names) != len(values):
            names = ["value"] if len(values) == 1 else [f"value_{i}" for i in range(len(values))]
        final = {f"trial/{name}": value for name, value in zip(names, values, strict=True)}
        if final:
            run.log_metrics(final, step=max(trial.intermediate_values, default=0))
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        run.log_summary({**final, "trial/state": trial.state.name, "trial/duration_s": duration})
        status = _STATUSES.get(trial.state, "interrupted")
        error = self._failures.errors.pop(trial.number, _NO_ERROR)
        run.finish(status, error if status == "failed" else None)
