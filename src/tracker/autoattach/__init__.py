"""Attaching tracker to the frameworks a command imports, without touching its code.

``tracker run -- COMMAND`` (`tracker.commands.run`) puts the folder `SITE_DIR` first on
the command's ``PYTHONPATH``: its ``sitecustomize`` travels to every Python process of the
command however deep the launcher tree (torchrun, ``accelerate launch``, a shell script,
``subprocess``), and calls ``attach(module)`` of a module of this package when the process
imports the framework module it names:

=============================  ===========================================================
``transformers.trainer``       every ``Trainer`` (TRL's and LLaMA-Factory's are
                               subclasses) gets a `CustomTrackerCallback`, unless it holds
                               one already (`tracker.autoattach.transformers`)
``accelerate.accelerator``     every ``Accelerator`` gets a tracker added to ``log_with``,
                               unless it lists one already (`tracker.autoattach.accelerate`)
``torchtune.config``           the metric logger a recipe builds with
                               ``config.instantiate`` also writes to the run, unless it is
                               `CustomTrackerLogger` already (`tracker.autoattach.torchtune`)
``llamafactory.train.tuner``   ``run_exp`` gets ``tracker train``'s callback, with
                               LLaMA-Factory's own arguments in the config, unless it was
                               given one (`tracker.autoattach.llamafactory`)
=============================  ===========================================================

What is attached is the framework's ordinary adapter, reading the run's id, project, name,
tags and store from `TrackerSettings`: the ``tracker run`` process sets them for the whole
command, so every process writes one run, and only global rank 0 writes training metrics.
With ``TRACKER_DISABLED=1`` a process attaches nothing. A failure to attach is one warning;
the framework and the process carry on untracked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["SITE_DIR", "attaching", "enabled", "patch"]

log = logging.getLogger("tracker")

SITE_DIR = Path(__file__).resolve().with_name("site")
"""The folder of the hook's ``sitecustomize``, which goes first on ``PYTHONPATH``."""

_MARK = "__tracker_attached__"
_warned: set[str] = set()


def enabled() -> bool:
    """Whether this process attaches tracker (not with ``TRACKER_DISABLED=1``)."""
    from tracker.settings import TrackerSettings

    return not TrackerSettings().disabled


def patch(owner: Any, name: str, wrap: Callable[[Any], Callable[..., Any]]) -> None:
    """Replace ``owner.name`` by ``wrap(original)``, once: patching it again does nothing."""
    original = getattr(owner, name)
    if getattr(original, _MARK, False):
        return
    wrapper = functools.wraps(original)(wrap(original))
    setattr(wrapper, _MARK, True)
    setattr(owner, name, wrapper)


@contextmanager
def attaching(what: str) -> Iterator[None]:
    """Attach tracker to ``what`` inside; a failure is one warning, never an error."""
    try:
        yield
    except Exception as exc:  # the training must run as it would without tracker
        if what not in _warned:
            _warned.add(what)
            log.warning(
                "tracker run: could not attach to %s (%s: %s); it runs untracked",
                what,
                type(exc).__name__,
                exc,
            )
