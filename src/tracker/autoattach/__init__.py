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
``lm_eval.evaluator``          the results ``simple_evaluate`` returns (lm-eval's CLI
                               calls it too) are recorded as evaluations of the model
                               it evaluated (`tracker.autoattach.lm_eval`)
``lighteval.logging.``         what ``EvaluationTracker.save`` is about to save (every
``evaluation_tracker``         lighteval backend calls it) is recorded as evaluations of
                               the model it evaluated (`tracker.autoattach.lighteval`)
=============================  ===========================================================

The hook itself (``site/sitecustomize.py``, standard library only, the only file of its
folder so that it shadows nothing) puts a finder first on ``sys.meta_path``, takes its
folder off ``sys.path`` again and imports the ``sitecustomize`` it hid, if there is one
(the user's own, or the Python distribution's), so that one still runs. The finder lets
every other import pass; for a target it wraps the loader that would have run the module
anyway and, once the module has run, imports ``tracker.autoattach.<framework>`` and calls
its ``attach(module)``, which only patches: nothing is built until the framework's class
is. A process that imports no target imports no tracker at all.

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

__all__ = ["SITE_DIR", "attaching", "compile_hook", "enabled", "patch"]

log = logging.getLogger("tracker")

SITE_DIR = Path(__file__).resolve().with_name("site")
"""The folder of the hook's ``sitecustomize``, which goes first on ``PYTHONPATH``."""

_HOOK = SITE_DIR / "sitecustomize.py"
_MARK = "__tracker_attached__"
_warned: set[str] = set()


def compile_hook() -> None:
    """Write the hook's bytecode beside it if it is missing or stale and the folder is
    writable: compiling it would otherwise cost every process of a command that runs
    with ``PYTHONDONTWRITEBYTECODE`` a few milliseconds (loading it costs ~0.3 ms)."""
    import importlib.util
    import py_compile

    cached = Path(importlib.util.cache_from_source(str(_HOOK)))
    try:
        if cached.exists() and cached.stat().st_mtime >= _HOOK.stat().st_mtime:
            return
        py_compile.compile(str(_HOOK), cfile=str(cached), doraise=True)
    except (OSError, py_compile.PyCompileError):  # a read-only install: compiled each time
        log.debug("tracker run: could not write %s", cached, exc_info=True)


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
