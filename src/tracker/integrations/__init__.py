"""Adapters from fine-tuning frameworks to the core, one module per framework.

Each module imports its framework when it is imported itself; where the framework is not
installed, the import fails with an `ImportError` that names the extra to install
(`requires_extra`). ``import tracker`` never imports any of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.run import CustomTracker

__all__ = ["recording_run", "requires_extra"]


@contextmanager
def requires_extra(extra: str, *, module: str | None = None) -> Iterator[None]:
    """Re-raise an `ImportError` of the imports inside as one that says what to install
    (``module``, the one that needs them, defaults to ``tracker.integrations.<extra>``).

    >>> with requires_extra("accelerate"):
    ...     from accelerate.tracking import GeneralTracker
    """
    try:
        yield
    except ImportError as exc:
        missing = (exc.name or extra).partition(".")[0]
        raise ImportError(
            f"{module or f'tracker.integrations.{extra}'} needs {missing}, which is not "
            "installed: "
            f"pip install 'tracker[{extra}]'"
        ) from exc


@contextmanager
def recording_run(
    run: CustomTracker | None,
    framework: str,
    project: str | None,
    run_name: str | None,
    options: Mapping[str, Any],
) -> Iterator[CustomTracker]:
    """The run an evaluation harness's results are recorded in: ``run``, else a new run of
    ``project`` (``framework``, ``options`` as `tracker.CustomTracker` takes them),
    finished when the block ends."""
    if run is not None:
        yield run
        return
    from tracker.run import CustomTracker

    with CustomTracker(project, run_name, framework=framework, **options) as own:
        yield own
