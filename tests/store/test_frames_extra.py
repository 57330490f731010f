"""tracker.frames without its optional libraries: an ImportError that names the extra."""

from __future__ import annotations

import sys
import time
from array import array

import pytest

import tracker.frames as tf
from tracker import open_store
from tracker.records import MetricBatch, RunRecord, Series


def test_a_missing_extra_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pandas (or polars, pyarrow), frames raise ImportError naming tracker[frames]."""
    for module in ("pandas", "polars", "pyarrow"):
        monkeypatch.setitem(sys.modules, module, None)
    store = open_store(f"memory://frames-missing-{time.time()}")
    store.start_run(RunRecord("a", "p", "a", started_at=1.0), resume=False)
    series = Series(array("q", [0]), array("d", [1.0]), array("d", [1.0]))
    store.log_metrics("a", MetricBatch({"eval/loss": series}))
    with pytest.raises(ImportError, match=r"tracker.frames needs pandas.*tracker\[frames\]"):
        tf.runs(store=store)
    with pytest.raises(ImportError, match=r"needs polars.*pip install 'tracker\[frames\]'"):
        tf.history("a", "eval/loss", backend="polars", store=store)
    with pytest.raises(ImportError, match=r"needs pyarrow.*pip install 'tracker\[frames\]'"):
        tf.history("a", "eval/loss", arrow=True, store=store)
