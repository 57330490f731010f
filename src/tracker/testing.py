"""Test doubles for your own tests: runs kept in memory, read back with the store API.

```python
from tracker.testing import recording

def test_my_training_script_is_tracked():
    with recording() as store:
        train()                                   # any framework, any adapter
    (run,) = store.runs()
    assert store.history(run.run_id, "train/loss")
```
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from tracker.store.memory import MemoryStore

__all__ = ["MemoryStore", "recording"]

_names = itertools.count()


@contextmanager
def recording() -> Iterator[MemoryStore]:
    """Send every run started inside the block to a fresh in-memory store, and yield it.

    It sets ``TRACKER_URI`` for the block (restoring it after), so runs created by any
    adapter in this process land there.
    """
    store = MemoryStore(f"recording-{os.getpid()}-{next(_names)}")
    previous = os.environ.get("TRACKER_URI")
    os.environ["TRACKER_URI"] = store.uri
    try:
        yield store
    finally:
        if previous is None:
            os.environ.pop("TRACKER_URI", None)
        else:
            os.environ["TRACKER_URI"] = previous
