"""torchtune: `CustomTrackerLogger`, a metric logger that recipes select from their config.

::

    tune run lora_finetune_single_device --config my_config.yaml \\
        metric_logger._component_=tracker.integrations.torchtune.CustomTrackerLogger \\
        metric_logger.project=demo

The recipe's keys go through the naming scheme (`tracker.naming`): ``loss`` is
``train/loss``, ``lr`` is ``train/learning_rate``, ``tokens_per_second_per_gpu`` is
``train/tokens_per_second``, ``peak_memory_*`` go to ``system/``. Recipes do not call
`close` when they crash: the core's exit hooks end the run as ``failed`` (or
``interrupted`` on SIGTERM) with everything logged so far.

Artifacts (docs/artifacts.md): the config's ``checkpointer.checkpoint_dir`` is the run's
base model (an input, hashed, so that a checkpoint of another run is linked to it); each
epoch the checkpointer saves, ``checkpointer.output_dir/epoch_N``, is a ``checkpoint``
version at the last step logged before it was saved, with the metrics then: the config
sets a folder watch (`tracker.CustomTracker.watch_artifacts`), and a checkpointer handed
to `CustomTrackerLogger.watch_checkpointer` (``tracker run -- tune run`` hands it every
checkpointer the recipe builds) has each epoch logged by name as it is saved.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracker.integrations import requires_extra
from tracker.naming import log_framework_metrics
from tracker.run import CustomTracker, ResumeMode, StoreSpec

with requires_extra("torchtune"):
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    from torchtune.training.metric_logging import MetricLoggerInterface

__all__ = ["EPOCH_FOLDER", "CustomTrackerLogger"]

log = logging.getLogger("tracker")

EPOCH_FOLDER = r"epoch_\d+"
"""The folders torchtune's checkpointers save each epoch in, under their ``output_dir``."""


class CustomTrackerLogger(MetricLoggerInterface):  # type: ignore[misc]  # torchtune: no hints
    """A torchtune metric logger that writes one tracker run, started at construction.

    ``project``, ``name`` (the run's name), ``run_id``, ``tags``, ``store`` and ``resume``
    are those of `tracker.CustomTracker`. ``log_dir``, which stock configs set, and any
    other key are accepted and ignored, so that swapping ``_component_`` is enough.
    Distributed recipes build the logger on rank zero only; the run is the same either way.
    """

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        *,
        run_id: str | None = None,
        tags: Sequence[str] | None = None,
        store: StoreSpec = None,
        resume: ResumeMode = "allow",
        **kwargs: Any,
    ) -> None:
        if kwargs:
            log.debug("tracker: CustomTrackerLogger ignores %s", sorted(kwargs))
        self.run = CustomTracker(
            project,
            name,
            run_id=run_id,
            tags=tags,
            store=store,
            resume=resume,
            framework="torchtune",
        ).start()

    def log(self, name: str, data: Any, step: int) -> None:
        """Record one value (a number or a 0-d tensor) at ``step``."""
        self.log_dict({name: data}, step)

    def log_dict(self, payload: Mapping[str, Any], step: int) -> None:
        """Record the recipe's values at ``step`` under the shared metric names."""
        log_framework_metrics(self.run, payload, step)

    def log_config(self, config: DictConfig | Mapping[str, Any]) -> None:
        """Record the recipe's config with its ``${...}`` interpolations resolved."""
        if isinstance(config, DictConfig):
            config = _resolved(config)
        self.run.log_config(config)
        checkpointer = config.get("checkpointer")
        if not isinstance(checkpointer, Mapping):
            return
        base, output_dir = checkpointer.get("checkpoint_dir"), checkpointer.get("output_dir")
        if isinstance(base, str) and base:
            self.run.use_artifact(base, kind="model")
        if isinstance(output_dir, str) and output_dir:  # the epochs it saves there
            self.run.watch_artifacts(output_dir, EPOCH_FOLDER, kind="checkpoint")

    def watch_checkpointer(self, checkpointer: Any, output_dir: str | Path) -> None:
        """Record each epoch ``checkpointer`` saves (``output_dir/epoch_N``, torchtune's
        layout) as a ``checkpoint`` version at the last step logged, once it is written."""
        save = checkpointer.save_checkpoint

        def save_checkpoint(state_dict: dict[str, Any], epoch: int, *args: Any, **kw: Any) -> Any:
            saved = save(state_dict, epoch, *args, **kw)
            self.run.log_artifact(
                Path(output_dir, f"epoch_{epoch}"), kind="checkpoint", meta={"epoch": epoch}
            )
            self.run.check_artifacts()
            return saved

        checkpointer.save_checkpoint = save_checkpoint

    def close(self) -> None:
        """Finish the run."""
        self.run.finish()


def _resolved(config: DictConfig) -> dict[str, Any]:
    """A plain copy of ``config`` with interpolations resolved, or left as written where
    one cannot be (training goes on; the config is still recorded)."""
    try:
        plain = OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException as exc:
        log.warning("tracker: the config is recorded unresolved: %s", exc)
        plain = OmegaConf.to_container(config, resolve=False)
    return dict(plain)
