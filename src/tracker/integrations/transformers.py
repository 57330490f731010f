"""Hugging Face ``Trainer`` → tracker: `CustomTrackerCallback`, for transformers, TRL and
LLaMA-Factory alike.

It only translates the Trainer's events into core calls: the run's config at
``on_train_begin``, ``on_log``/``on_evaluate``/``on_predict`` through the naming scheme
(`tracker.naming`) at the trainer's global step, ``on_save`` as a ``checkpoint`` event, and
with TRL's ``log_completions=True`` the completions of each logging step as the table
``train/completions`` (``eval/completions`` in an evaluation). In a
``hyperparameter_search``, each trial's training is its own run of the search's sweep
(`tracker.sweeps`).

Artifacts (docs/artifacts.md): at the first event the base model
(``config._name_or_path``, its ``_commit_hash``), the train and eval datasets (a
Hugging Face dataset's name, split, rows and fingerprint) and a checkpoint resumed from
are the run's inputs; each ``on_save`` folder is a ``checkpoint`` version, rotated ones
are checked for (``gone``), and ``state.best_model_checkpoint`` is marked best; the
trainer's own ``save_model(dir)`` is a ``model`` version (``adapter`` for PEFT).

Evaluations (docs/evaluations.md): an ``evaluate()`` or ``predict()`` of a Trainer that
did not train (a checkpoint loaded in a new process) also records its metrics as an
evaluation of that checkpoint (the model's ``config._name_or_path``), task ``eval``
(``test`` for ``predict``; the ``metric_key_prefix``), without the timing metrics
(runtime, speeds, model preparation).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any, Unpack

from tracker.artifacts import dataset_title
from tracker.integrations import requires_extra
from tracker.naming import log_framework_metrics
from tracker.run import CustomTracker, TrackerOptions
from tracker.sweeps import Trial, trial_config, trial_run

with requires_extra("transformers"):
    from transformers import Trainer, TrainerCallback
    from transformers import __version__ as transformers_version
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

__all__ = ["RUN_FILE", "CustomTrackerCallback"]

log = logging.getLogger("tracker")

RUN_FILE = "tracker_run.json"
"""Written into each checkpoint folder: the id of the run that a resume continues."""

_FRAMEWORKS = ("llamafactory", "trl")  # most specific first; anything else is transformers
_MAX_FRAMES = 64


# TrainerCallback is Any where mypy runs without transformers installed
class CustomTrackerCallback(TrainerCallback):  # type: ignore[misc,unused-ignore]
    """Record a ``Trainer`` run: ``Trainer(..., callbacks=[CustomTrackerCallback()])``.

    Takes `CustomTracker`'s options. The run starts at the first event (normally
    ``on_train_begin``), is finished at ``on_train_end`` and re-opened by an ``evaluate()``
    or ``predict()`` after it: the same run, whose ``reopened`` event says why in words.
    A ``train(resume_from_checkpoint=...)``
    continues the run that wrote the checkpoint.
    """

    def __init__(
        self,
        project: str | None = None,
        run_name: str | None = None,
        **options: Unpack[TrackerOptions],
    ) -> None:
        self._project = project
        self._run_name = run_name
        self._options = options
        self._run: CustomTracker | None = None
        self._trial: Trial | None = None  # the search trial the run records, if any
        self._trained = False  # whether the run's training reached on_train_end
        self.loaded_from: str | None = None  # the checkpoint the trained model was loaded from
        self._began = False  # whether a training began: else evaluate() is of a checkpoint
        self._seen: tuple[int, dict[str, Any]] = (-1, {})  # raw keys logged at one step

    @property
    def tracker(self) -> CustomTracker | None:
        """The run, once the first Trainer event has started it."""
        return self._run

    # -- Trainer events ------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Start (or continue) the run and record the configuration; a new trial of a
        hyperparameter search starts a new run (the last trial's run is ended: as
        interrupted where its training never ended, pruned)."""
        trial = _trial(_calling_trainer(), state)
        if trial is not None and trial != self._trial and self._run is not None:
            if self._trained:
                self._run.finish()
            else:
                self._run.finish("interrupted", "the trial stopped before its training ended")
            self._run = None
        self._began = True
        self._open(args, state, kwargs.get("model"))

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        """Record what the Trainer logs at its global step."""
        run = self._open(args, state, kwargs.get("model"))
        if not run.enabled or not logs:
            return
        logs = dict(logs)  # other callbacks may change it in place
        if "train_runtime" in logs:  # the end of training: PrinterCallback pops total_flos
            logs.setdefault("total_flos", state.total_flos)
        self._record(run, logs, state.global_step, "train")
        trainer = _calling_trainer()
        rows = _completions(trainer)
        if rows:
            section = "train" if getattr(trainer.model, "training", True) else "eval"
            run.log_table(f"{section}/completions", rows, step=state.global_step)

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        """Record evaluation metrics that did not already come through ``on_log``."""
        self._record_output(args, state, kwargs.get("model"), metrics, "eval")

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        """Record ``predict()``'s metrics, which never pass through ``on_log``."""
        self._record_output(args, state, kwargs.get("model"), metrics, "predict")

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Record the checkpoint (after leaving the run's id beside it for a resume), the
        checkpoints rotated away, and the best one."""
        run = self._open(args, state, kwargs.get("model"))
        if not run.enabled:
            return
        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        run.log_event("checkpoint", {"path": str(folder)}, step=state.global_step)
        if folder.is_dir():
            try:
                (folder / RUN_FILE).write_text(json.dumps({"run_id": run.run_id}) + "\n")
            except OSError as exc:
                log.warning("tracker: could not write %s: %s", folder / RUN_FILE, exc)
        weights = "adapter" if _is_peft(kwargs.get("model")) else "full"
        run.log_artifact(
            folder, kind="checkpoint", step=state.global_step, meta={"weights": weights}
        )
        run.check_artifacts()
        if state.best_model_checkpoint:
            run.mark_artifact(state.best_model_checkpoint, best=True)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Record the final state and finish the run (a later evaluation re-opens it)."""
        run = self._run
        if run is None or not run.enabled:
            return
        summary = {"train/global_step": state.global_step, "train/total_flos": state.total_flos}
        if state.best_metric is not None:
            summary["train/best_metric"] = state.best_metric
            summary["train/best_model_checkpoint"] = state.best_model_checkpoint
        run.log_summary(summary)
        if getattr(args, "load_best_model_at_end", False) and state.best_model_checkpoint:
            self.loaded_from = state.best_model_checkpoint  # the model now holds its weights
        run.check_artifacts()  # load_best_model_at_end may delete the last checkpoint
        run.finish()
        self._trained = True

    # -- translation ---------------------------------------------------------------------
    def _open(self, args: Any, state: Any, model: Any) -> CustomTracker:
        """The run, created and started with its configuration on the first event."""
        if self._run is not None:
            return self._run
        trainer = _calling_trainer()
        framework = _framework(trainer, args)
        trial = self._trial = _trial(trainer, state)
        self._trained = False
        self.loaded_from = None
        if trial is not None:
            run = self._run = trial_run(
                trial, self._project, self._run_name, framework=framework, **self._options
            )
        else:
            run_id = self._options.get("run_id") or _resumed_run_id(args, state)
            options: TrackerOptions = {**self._options, "run_id": run_id}
            run = self._run = CustomTracker(
                self._project, self._run_name, framework=framework, **options
            )
        if not run.enabled:
            return run
        if run.name is None and args.run_name:
            run.name = str(args.run_name)
        run.start()
        run.log_config(_config(args, model, trainer))
        if trial is not None:
            run.log_config(trial_config(trial))
        _record_inputs(run, args, state, model, trainer)
        self._started(run)
        if trainer is not None:
            _record_save_model(trainer, self)
        return run

    def _started(self, run: CustomTracker) -> None:
        """What a framework built on the Trainer records once the run has started (its
        own inputs: `tracker.integrations.llamafactory`); default: nothing."""

    def _record(self, run: CustomTracker, logs: Mapping[str, Any], step: int, section: str) -> None:
        seen_step, seen = self._seen
        if seen_step != step:
            seen = {}
            self._seen = (step, seen)
        # the Trainer repeats `epoch` in each log of a step (training, evaluation, end):
        # the same point again is not logged again (docs/runs.md, Steps)
        logs = {k: v for k, v in logs.items() if k not in seen or seen[k] != v}
        seen.update(logs)
        # the Trainer's end-of-phase logs (train end, evaluate, predict) carry <phase>_runtime
        final = any(key.endswith("_runtime") for key in logs)
        log_framework_metrics(run, logs, step, section=section, final=final)

    def _record_output(
        self, args: Any, state: Any, model: Any, metrics: Mapping[str, Any] | None, section: str
    ) -> None:
        run = self._open(args, state, model)
        if not run.enabled or not metrics:
            return
        seen_step, seen = self._seen
        if seen_step != state.global_step:
            seen = {}
        fresh = {k: v for k, v in metrics.items() if k not in seen}
        if fresh:
            self._record(run, fresh, state.global_step, section)
        if not self._began:
            _record_evaluation(run, args, model, metrics)
        if self._trial is not None and self._trained:  # a search's objective: trial done
            run.finish()


_SPEED = ("_runtime", "_samples_per_second", "_steps_per_second", "_model_preparation_time")


def _record_evaluation(
    run: CustomTracker, args: Any, model: Any, metrics: Mapping[str, Any]
) -> None:
    """An ``evaluate()``/``predict()`` with no training before it: its metrics are an
    evaluation of the checkpoint the model was loaded from (``config._name_or_path``),
    its task the metrics' prefix (``eval``, ``test``: ``metric_key_prefix``)."""
    path = getattr(getattr(model, "config", None), "_name_or_path", None)
    runtime = next((key for key in metrics if key.endswith("_runtime")), None)
    if not (isinstance(path, str) and path and runtime):
        return
    task = runtime.removesuffix("_runtime")
    scores = {
        key.removeprefix(f"{task}_"): value
        for key, value in metrics.items()
        if key.startswith(f"{task}_") and not key.endswith(_SPEED)
    }
    settings = {
        "harness": f"transformers {transformers_version}",
        "batch_size": args.per_device_eval_batch_size,
        "seed": args.seed,
    }
    run.log_evaluation(task, scores, artifact=path, settings=settings)


def _calling_trainer() -> Any:
    """The `Trainer` whose callback handler is calling: callbacks are not handed it."""
    frame: FrameType | None = sys._getframe(1)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            break
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Trainer):
            return candidate
        frame = frame.f_back
    return None


def _trial(trainer: Any, state: Any) -> Trial | None:
    """The trial of ``hyperparameter_search`` this training is (``None`` outside one):
    Optuna's trial number and study name, the sampled values, the ``hp_name``."""
    if trainer is None or not getattr(state, "is_hyper_param_search", False):
        return None
    raw = getattr(trainer, "_trial", None)
    number = getattr(raw, "number", None)
    study = getattr(getattr(raw, "study", None), "study_name", None)
    return Trial(
        number if isinstance(number, int) else None,
        dict(state.trial_params or {}),
        study if isinstance(study, str) else None,
        state.trial_name,
    )


def _completions(trainer: Any) -> list[dict[str, Any]] | None:
    """The completions a TRL trainer that generates (GRPO, RLOO, ...) keeps for its
    ``log_completions`` table, as rows: prompt, completion, one column per reward function,
    the advantage and the columns of ``log_extra``. ``None`` where there are none."""
    if trainer is None or not getattr(trainer, "log_completions", False):
        return None
    logs = getattr(trainer, "_logs", None)
    if not isinstance(logs, dict) or not logs.get("prompt"):
        return None
    columns: dict[str, list[Any]] = {
        "prompt": list(logs["prompt"]),
        "completion": list(logs.get("completion", ())),
    }
    for group in ("rewards", "extra"):
        for name, values in dict(logs.get(group) or {}).items():
            columns.setdefault(str(name), list(values))
    columns["advantage"] = list(logs.get("advantages", ()))
    n = len(columns["prompt"])
    return [
        {name: values[i] if i < len(values) else None for name, values in columns.items()}
        for i in range(n)
    ]


def _framework(trainer: Any, args: Any) -> str:
    """``llamafactory``, ``trl`` or ``transformers``: whose classes run the training."""
    packages = {type(obj).__module__.partition(".")[0] for obj in (trainer, args)}
    return next((name for name in _FRAMEWORKS if name in packages), "transformers")


def _record_inputs(run: CustomTracker, args: Any, state: Any, model: Any, trainer: Any) -> None:
    """The base model, the datasets and a checkpoint resumed from, as the run's inputs."""
    config = getattr(model, "config", None)
    base = getattr(config, "_name_or_path", None)
    if isinstance(base, str) and base:
        revision = getattr(config, "_commit_hash", None)
        run.use_artifact(base, kind="model", meta={"revision": revision} if revision else None)
    for role in ("train", "eval"):
        dataset = getattr(trainer, f"{role}_dataset", None)
        if dataset is not None:
            datasets = dataset.items() if isinstance(dataset, Mapping) else [(None, dataset)]
            for key, one in datasets:
                _use_dataset(run, one, role if key is None else f"{role}/{key}")
    resumed = _resumed_checkpoint(args, state)
    if resumed is not None:
        run.use_artifact(resumed, kind="checkpoint")


def _use_dataset(run: CustomTracker, dataset: Any, role: str) -> None:
    """A Hugging Face dataset as an input: ``hf-dataset://NAME?split=...&fingerprint=...``."""
    fingerprint = getattr(dataset, "_fingerprint", None)
    if not isinstance(fingerprint, str):
        return  # a dataset of another library: nothing identifies it
    info = getattr(dataset, "info", None)
    name = getattr(info, "dataset_name", None) or getattr(info, "builder_name", None)
    split = getattr(dataset, "split", None)
    meta = {
        "role": role,
        "split": None if split is None else str(split),
        "rows": getattr(dataset, "num_rows", None),
        "fingerprint": fingerprint,
        "config": getattr(info, "config_name", None),
    }
    uri = f"hf-dataset://{name or 'dataset'}?split={meta['split'] or ''}&fingerprint={fingerprint}"
    title = dataset_title(role, None if name is None else str(name), meta["config"], meta["split"])
    run.use_artifact(uri, kind="dataset", name=title, meta=meta)


def _record_save_model(trainer: Any, callback: CustomTrackerCallback) -> None:
    """Have the trainer's own ``save_model(dir)`` (not a checkpoint's) recorded as a
    ``model`` version, ``adapter`` for a PEFT model: no callback event tells of it."""
    original = trainer.save_model
    if getattr(original, "_tracker_wrapped", False):
        return

    def save_model(output_dir: str | None = None, _internal_call: bool = False) -> None:
        original(output_dir, _internal_call=_internal_call)
        run = callback.tracker
        if _internal_call or run is None or not run.enabled:
            return
        folder = output_dir or trainer.args.output_dir
        peft = _is_peft(trainer.model)
        loaded = callback.loaded_from  # its step and metrics are the model's
        run.log_artifact(
            folder,
            kind="adapter" if peft else "model",
            step=None if loaded else trainer.state.global_step,
            loaded_from=loaded,
        )

    save_model._tracker_wrapped = True  # type: ignore[attr-defined]
    trainer.save_model = save_model


def _is_peft(model: Any) -> bool:
    """Whether ``model`` is a PEFT model: its checkpoints hold the adapter's weights."""
    return getattr(model, "peft_config", None) is not None


def _resumed_checkpoint(args: Any, state: Any) -> Path | None:
    """The checkpoint this training resumed from, where one is known."""
    if state.global_step <= 0:
        return None
    candidates = _resume_candidates(args, state)
    return next((c for c in candidates if c.is_dir()), None)


def _resume_candidates(args: Any, state: Any) -> list[Path]:
    candidates = []
    if isinstance(args.resume_from_checkpoint, str):
        candidates.append(Path(args.resume_from_checkpoint))
    if state.global_step > 0:  # the Trainer loaded a checkpoint's state before this event
        output_dir = Path(args.output_dir)
        candidates.append(output_dir / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        if output_dir.is_dir():
            last = get_last_checkpoint(str(output_dir))  # type: ignore[no-untyped-call,unused-ignore]
            if last:
                candidates.append(Path(last))
    return candidates


def _resumed_run_id(args: Any, state: Any) -> str | None:
    """The run id saved in the checkpoint this training resumes from, if any."""
    for folder in _resume_candidates(args, state):
        try:
            run_id = json.loads((folder / RUN_FILE).read_text())["run_id"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(run_id, str):
            return run_id
    return None


def _config(args: Any, model: Any, trainer: Any) -> dict[str, Any]:
    """The run's configuration: arguments, model, adapters, generation, sizes."""
    config: dict[str, Any] = {
        "args": args.to_dict(),
        "trainer": {
            "trainer_class": _qualname(trainer) if trainer is not None else None,
            "args_class": _qualname(args),
            "world_size": args.world_size,
        },
    }
    if model is None:
        return config
    for key, attribute in (
        ("model", "config"),
        ("peft", "peft_config"),
        ("generation", "generation_config"),
    ):
        value = getattr(model, attribute, None)
        if value is not None:
            config[key] = value
    parameters = list(model.parameters())
    config["trainer"]["parameters"] = {
        "total": sum(_numel(p) for p in parameters),
        "trainable": sum(_numel(p) for p in parameters if p.requires_grad),
    }
    return config


def _numel(parameter: Any) -> int:
    return int(getattr(parameter, "ds_numel", 0) or parameter.numel())  # DeepSpeed ZeRO-3


def _qualname(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"
