"""Adapters from fine-tuning frameworks to the core, one module per framework.

Each module imports its framework when it is imported itself; where the framework is not
installed, the import fails with an `ImportError` that names the extra to install
(`requires_extra`). ``import tracker`` never imports any of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["requires_extra"]


@contextmanager
def requires_extra(extra: str, what: str | None = None) -> Iterator[None]:
    """Re-raise an `ImportError` of the imports inside as one that says what to install
    (``what`` names the module that needs it; default ``tracker.integrations.<extra>``).

    >>> with requires_extra("accelerate"):
    ...     from accelerate.tracking import GeneralTracker
    """
    try:
        yield
    except ImportError as exc:
        missing = (exc.name or extra).partition(".")[0]
        raise ImportError(
            f"{what or f'tracker.integrations.{extra}'} needs {missing}, which is not installed: "
            f"pip install 'tracker[{extra}]'"
        ) from exc
