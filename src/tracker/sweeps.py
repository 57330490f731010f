"""Sweeps: the runs of one hyperparameter search, each trial its own run.

A run's ``sweep`` (`CustomTracker(sweep=...)`, ``TRACKER_SWEEP``) names the search it is a
trial of. An adapter that sees a search's trials (the Trainer's ``hyperparameter_search``,
an Optuna study) describes each as a `Trial` and starts its run with `trial_run`, which
decides everything the adapters share:

- the sweep: the one the options name, else the search's own name (Optuna's study name),
  else ``hp-search``;
- the run's name: the one given for the trial, else ``<sweep>-trial-<number>``;
- a new run for every trial, whatever ``run_id`` the options carry;
- the config: ``trial.number`` and the sampled values under ``trial.params``
  (`trial_config`), beside whatever the adapter records itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Unpack

from tracker.run import CustomTracker, TrackerOptions

__all__ = ["DEFAULT_SWEEP", "Trial", "trial_config", "trial_run"]

DEFAULT_SWEEP = "hp-search"
"""The sweep of trials whose search has no name and whose options name no sweep."""


class Trial(NamedTuple):
    """One trial of a hyperparameter search, as an adapter finds it."""

    number: int | None
    """The trial's number in its search (Optuna's ``trial.number``), if it has one."""
    params: Mapping[str, Any]
    """The hyperparameter values sampled for this trial."""
    search: str | None = None
    """The search's own name (Optuna's study name), the default sweep."""
    name: str | None = None
    """The name the search gives the trial (the Trainer's ``hp_name``), if any."""


def trial_config(trial: Trial) -> dict[str, Any]:
    """What a trial's run records in its config: its number and sampled values."""
    return {"trial": {"number": trial.number, "params": dict(trial.params)}}


def trial_run(
    trial: Trial,
    project: str | None = None,
    run_name: str | None = None,
    *,
    framework: str | None = None,
    **options: Unpack[TrackerOptions],
) -> CustomTracker:
    """A new run (not yet started) for ``trial``, in its sweep, named after it (or
    ``<run_name>-trial-<number>`` where a name is given for the whole search). Start it,
    then record `trial_config` (with whatever else the adapter records)."""
    sweep = options.get("sweep") or trial.search or DEFAULT_SWEEP
    suffix = "" if trial.number is None else f"-trial-{trial.number}"
    name = trial.name or (f"{run_name}{suffix}" if run_name else f"{sweep}{suffix}")
    chosen: TrackerOptions = {**options, "run_id": None, "sweep": sweep}
    return CustomTracker(project, name, framework=framework, **chosen)
