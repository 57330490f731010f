"""Bringing runs from other trackers into a store: ``tracker import``.

One module per source reads what that tool wrote with the tool's own reader and hands
the core `SourceRun` objects: `tensorboard` (event files), `mlflow` (``MlflowClient``),
`wandb` (``.wandb`` record logs) and `trackio` (a project's SQLite database). Each module
imports its library inside itself; where it is missing, importing the module raises an
`ImportError` that names the extra to install (``tracker[import-tensorboard]``, ...).

`tracker.importers.core` owns everything they share: what an imported run is, its
deterministic run id, the mapping of names into the scheme (`tracker.naming`), and the
idempotent writing into a store (see its docstring); `SOURCES` names the modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.importers.core import Source

__all__ = ["SOURCES", "load_source"]

SOURCES = ("tensorboard", "mlflow", "wandb", "trackio")
"""The tools ``tracker import`` reads, each the name of its module here."""


def load_source(tool: str) -> Source:
    """The reader of ``tool`` (one of `SOURCES`); an `ImportError` naming the extra to
    install when the tool's library is missing."""
    if tool not in SOURCES:
        raise ValueError(f"unknown source {tool!r}: one of {', '.join(SOURCES)}")
    module = importlib.import_module(f"tracker.importers.{tool}")
    source: Source = module.SOURCE
    return source
