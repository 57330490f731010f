"""`CustomTrackerStudyCallback` on a real Optuna study: every finished trial a run of the
study's sweep, with its sampled values, intermediate and final values, and state."""

from __future__ import annotations

import math
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

from tracker.integrations.optuna import CustomTrackerStudyCallback  # noqa: E402


def _objective(trial: Any) -> float:
    x = trial.suggest_float("x", -4.0, 4.0)
    layers = trial.suggest_int("layers", 1, 3)
    if trial.number == 2:
        raise ValueError("diverged")
    for step in range(3):
        trial.report((x - 2) ** 2 + 1.0 / (step + 1), step)
    if trial.number == 3:
        raise optuna.TrialPruned()
    return (x - 2) ** 2 + layers


def test_each_finished_trial_is_a_run_of_the_study_sweep(store: Any, tracker_dir: Any) -> None:
    """Complete, failed and pruned trials: params in config, values in summary and
    metrics, state as status (a failed trial's exception as the run's error), all in the
    study's sweep."""
    study = optuna.create_study(study_name="xsearch", sampler=optuna.samplers.RandomSampler(0))
    callback = CustomTrackerStudyCallback(project="opt", tags=["optuna"])
    study.optimize(_objective, n_trials=5, callbacks=[callback], catch=(ValueError,))

    runs = {r.config["trial"]["number"]: r for r in store.runs(sweep="xsearch")}
    assert sorted(runs) == [0, 1, 2, 3, 4]
    statuses = {n: r.status for n, r in runs.items()}
    assert statuses == {0: "finished", 1: "finished", 2: "failed", 3: "interrupted",
                        4: "finished"}  # fmt: skip
    assert runs[2].error == "ValueError: diverged"
    assert [r.error for n, r in runs.items() if n != 2] == [None] * 4
    for trial in study.trials:
        run = runs[trial.number]
        assert (run.project, run.framework, run.tags) == ("opt", "optuna", ["optuna"])
        assert run.name == f"xsearch-trial-{trial.number}"
        assert run.config["trial"]["params"] == trial.params
        assert run.summary["trial/state"] == trial.state.name
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert run.summary["trial/value"] == trial.value
            assert [v for _s, v, _t in store.history(run.run_id, "trial/value")] == [trial.value]
        steps = [s for s, _v, _t in store.history(run.run_id, "trial/intermediate_value")]
        assert steps == ([] if trial.number == 2 else [0, 1, 2])


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_several_objectives_use_the_study_metric_names(store: Any, tracker_dir: Any) -> None:
    """A multi-objective study's values are named by its metric names, sweep= wins."""
    study = optuna.create_study(directions=["minimize", "maximize"])
    study.set_metric_names(["loss", "accuracy"])
    callback = CustomTrackerStudyCallback(sweep="multi")
    study.optimize(
        lambda t: (t.suggest_float("x", 0, 1), math.sqrt(0.5)), n_trials=2, callbacks=[callback]
    )
    runs = store.runs(sweep="multi")
    assert len(runs) == 2
    for run in runs:
        assert run.summary["trial/accuracy"] == math.sqrt(0.5)
        assert run.summary["trial/loss"] == run.config["trial"]["params"]["x"]
