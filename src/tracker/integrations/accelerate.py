"""accelerate: `CustomTracker`, a `GeneralTracker` that writes a tracker run.

Pass an instance, alone or in a list with other trackers::

    accelerator = Accelerator(log_with=CustomTracker(run_name="baseline"))
    accelerator.init_trackers("demo", config={"lr": 1e-3})  # "demo" is the run's project
    accelerator.log({"train/loss": loss}, step=step)
    accelerator.end_training()

Where accelerate has ``register_tracker_class``, importing this module registers the class
under its `name`, so ``Accelerator(log_with="tracker")`` works too, with
``init_kwargs={"tracker": {...}}`` reaching the constructor. Logged keys go through the
naming scheme (`tracker.naming`): ``loss`` is ``train/loss``, ``eval_loss`` is ``eval/loss``.

accelerate starts trackers on the main process only; on the others its
``Accelerator.get_tracker`` hands out a blank ``GeneralTracker`` that lacks our run's
methods. Importing this module makes ``get_tracker("tracker")`` there return this adapter
(``unwrap=True``: its run), whose every call is a no-op, as Lightning's ``experiment`` is
on ranks above zero: ``accelerator.get_tracker("tracker", unwrap=True).log_summary(...)``
needs no rank check.

Artifacts (docs/artifacts.md): each folder the ``Accelerator`` that started the run saves
with ``save_state`` is a ``checkpoint`` version at the last step logged, once written;
folders its ``total_limit`` rotated away are marked ``gone``.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections.abc import Callable
from typing import Any, Unpack

from tracker.integrations import requires_extra
from tracker.naming import log_framework_metrics
from tracker.run import CustomTracker as Run
from tracker.run import TrackerOptions

with requires_extra("accelerate"):
    import accelerate.tracking
    from accelerate import Accelerator
    from accelerate.tracking import GeneralTracker

__all__ = ["CustomTracker"]


class CustomTracker(GeneralTracker):  # type: ignore[misc]  # accelerate ships no type hints
    """An accelerate tracker backed by a `tracker.CustomTracker` run.

    ``project`` defaults to the ``project_name`` given to ``Accelerator.init_trackers``;
    ``options`` are those of `tracker.CustomTracker` (``run_id``, ``tags``, ``store``,
    ``resume``, ``settings``). The run is created in `start`, which accelerate calls from
    ``init_trackers`` on the main process, after the process group exists.
    """

    name = "tracker"
    requires_logging_directory = False

    def __init__(
        self,
        project: str | None = None,
        run_name: str | None = None,
        **options: Unpack[TrackerOptions],
    ) -> None:
        super().__init__()
        self._project = project
        self._run_name = run_name
        self._options = options
        self._run: Run | None = None

    @property
    def tracker(self) -> Run:
        """The core run, once ``init_trackers`` has started it; on the other processes
        (where accelerate starts no tracker) a run whose every call is a no-op, so code
        that uses it needs no rank check."""
        if self._run is None:
            run = Run(self._project, self._run_name, framework="accelerate", **self._options)
            if run.enabled:
                raise RuntimeError(
                    "the tracker run starts in Accelerator.init_trackers(); call it first"
                )
            self._run = run.start()
        return self._run

    def start(self) -> None:
        """Create and start the run (accelerate calls this from ``init_trackers``)."""
        if self._run is not None:
            return
        project, accelerator = _init_trackers_call()
        run = Run(self._project or project, self._run_name, framework="accelerate", **self._options)
        self._run = run.start()
        if accelerator is not None:
            _record_saves(accelerator, self._run)

    def store_init_configuration(self, values: dict[str, Any]) -> None:
        """Merge ``values`` into the run's config."""
        self.tracker.log_config(values)

    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        """Record ``values`` (numbers or 0-d tensors) at ``step``; ``kwargs`` are unused."""
        log_framework_metrics(self.tracker, values, step)

    def finish(self) -> None:
        """Finish the run (``Accelerator.end_training`` calls this)."""
        if self._run is not None:
            self._run.finish()


def _init_trackers_call() -> tuple[str | None, Any]:
    """The ``project_name`` and the ``Accelerator`` of the ``init_trackers`` call now
    starting us (``None`` for each where it is not that call).

    accelerate hands that name to the trackers it creates by name, but calls ``start()``
    of a tracker given as an instance without it, and never hands a tracker its
    accelerator; both are read from the caller's frame.
    """
    caller = sys._getframe(2)  # 0: here, 1: start(), 2: its caller
    if caller.f_code.co_name != "init_trackers":
        return None, None
    project = caller.f_locals.get("project_name")
    accelerator = caller.f_locals.get("self")
    if not callable(getattr(accelerator, "save_state", None)):
        accelerator = None
    return (project if isinstance(project, str) else None), accelerator


def _record_saves(accelerator: Any, run: Run) -> None:
    """Have each ``accelerator.save_state`` folder recorded as a ``checkpoint`` version
    once it is written (accelerate's save hooks run before), and rotated ones marked."""
    save_state = accelerator.save_state

    @functools.wraps(save_state)
    def recorded(output_dir: str | None = None, *args: Any, **kwargs: Any) -> Any:
        location = save_state(output_dir, *args, **kwargs)
        folder = location or output_dir
        if folder:
            run.log_artifact(folder, kind="checkpoint")
            run.check_artifacts()
        return location

    accelerator.save_state = recorded


_BY_NAME: weakref.WeakKeyDictionary[Any, CustomTracker] = weakref.WeakKeyDictionary()
"""The adapter a non-main process's accelerator hands out for ``log_with="tracker"``."""


def _ours_on_every_process(get_tracker: Callable[..., Any]) -> Callable[..., Any]:
    """``Accelerator.get_tracker``, except where it hands out its blank tracker for ours on
    a process other than the main one: there it gives our adapter (or, ``unwrap``, its
    run), on which every call is a no-op."""

    @functools.wraps(get_tracker)
    def get_tracker_on_every_process(self: Any, name: str, unwrap: bool = False) -> Any:
        found = get_tracker(self, name, unwrap)
        if name != CustomTracker.name or type(found) is not GeneralTracker or self.is_main_process:
            return found
        given = [t for t in self.log_with if isinstance(t, CustomTracker)]
        adapter = given[0] if given else _BY_NAME.setdefault(self, CustomTracker())
        return adapter.tracker if unwrap else adapter

    get_tracker_on_every_process.__wrapped_by_tracker__ = True  # type: ignore[attr-defined]
    return get_tracker_on_every_process


if not getattr(Accelerator.get_tracker, "__wrapped_by_tracker__", False):  # once per process
    Accelerator.get_tracker = _ours_on_every_process(Accelerator.get_tracker)

if hasattr(accelerate.tracking, "register_tracker_class"):  # newer accelerate; not 1.11
    accelerate.tracking.register_tracker_class(CustomTracker)
