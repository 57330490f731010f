"""torchtune: the metric logger a recipe builds with ``config.instantiate`` also writes
to the run, unless it is `CustomTrackerLogger` already.

Recipes build their logger from the config (``metric_logger._component_``), so
``torchtune.config.instantiate`` is patched: a metric logger it returns is paired with a
`CustomTrackerLogger` (`_Both`). The recipe's own logger (``DiskLogger``, ``WandBLogger``,
...) gets every call as before, and is what the pair shows of itself otherwise. A
checkpointer it returns afterwards (one with ``save_checkpoint`` and an ``output_dir`` in
its config) is handed to that logger's `CustomTrackerLogger.watch_checkpointer`, so the
epochs it saves are the run's ``checkpoint`` versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from tracker.autoattach import attaching, enabled, patch

__all__ = ["attach"]


def attach(module: ModuleType) -> None:
    """Patch ``torchtune.config.instantiate`` (the package has just been run)."""
    if enabled():
        patch(module, "instantiate", _pairing)


_ours: list[Any] = []  # this process's CustomTrackerLogger, once the recipe built its logger


def _pairing(original: Any) -> Any:
    def instantiate(config: Any, *args: Any, **kwargs: Any) -> Any:
        made = original(config, *args, **kwargs)
        with attaching("torchtune's metric logger"):
            made = _with_ours(made)
        with attaching("torchtune's checkpointer"):
            _watch(made, config)
        return made

    return instantiate


def _with_ours(made: Any) -> Any:
    from torchtune.training.metric_logging import MetricLoggerInterface

    if MetricLoggerInterface not in type(made).__mro__:  # a Protocol: isinstance cannot tell
        return made
    from tracker.integrations.torchtune import CustomTrackerLogger

    if not isinstance(made, CustomTrackerLogger | _Both):
        made = _Both(made, CustomTrackerLogger())
    _ours[:] = [made if isinstance(made, CustomTrackerLogger) else made.ours]
    return made


def _watch(made: Any, config: Any) -> None:
    """Hand a checkpointer to the run's logger (only the rank that built one has it)."""
    if not (_ours and callable(getattr(made, "save_checkpoint", None))):
        return
    output_dir = config.get("output_dir") if isinstance(config, Mapping) else None
    if output_dir:
        _ours[0].watch_checkpointer(made, str(output_dir))


class _Both:
    """A metric logger that hands every call to the recipe's logger, then to the run's."""

    def __init__(self, theirs: Any, ours: Any) -> None:
        self.theirs = theirs
        self.ours = ours

    def log(self, name: str, data: Any, step: int) -> None:
        """Log one value to both."""
        self.theirs.log(name, data, step)
        self.ours.log(name, data, step)

    def log_dict(self, payload: Mapping[str, Any], step: int) -> None:
        """Log the recipe's values to both."""
        self.theirs.log_dict(payload, step)
        self.ours.log_dict(payload, step)

    def log_config(self, config: Any) -> None:
        """Log the recipe's config to both."""
        self.theirs.log_config(config)
        self.ours.log_config(config)

    def close(self) -> None:
        """Close both; the run is finished even if the recipe's logger fails to close."""
        try:
            self.theirs.close()
        finally:
            self.ours.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.theirs, name)
