"""`import tracker` stays cheap and framework-free."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ["torch", "transformers", "accelerate", "torchtune", "trl", "pynvml", "numpy", "pydantic"]
HEAVY += ["psycopg"]


def test_import_tracker_pulls_in_no_framework() -> None:
    """Importing tracker and touching its public names imports no framework or pydantic."""
    code = (
        "import sys, json, tracker; tracker.__version__; "
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_starting_a_run_imports_no_framework(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A whole run (start, log, finish) never imports torch, numpy or a framework."""
    code = (
        "import sys, json, tracker\n"
        f"run = tracker.CustomTracker(project='p', store='sqlite:///{tmp_path}/t.db').start()\n"
        "run.log_metrics({'a': 1.0}); run.finish()\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    env = {**os.environ, "TRACKER_SYSTEM_INTERVAL": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    assert not loaded & (set(HEAVY) - {"pydantic"})


def test_starting_a_run_imports_nothing_slow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The first run of a process pays no settings library, asyncio, package metadata
    reader or `secrets` (each was milliseconds of every start; docs/benchmarks.md)."""
    code = (
        "import sys, json, tracker\n"
        "tracker.CustomTracker(project='p').start()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {**os.environ, "TRACKER_DIR": str(tmp_path), "TRACKER_SYSTEM_INTERVAL": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    slow = {"pydantic", "pydantic_settings", "asyncio", "importlib.metadata", "secrets"}
    slow |= {"platform", "socket", "dataclasses", "inspect"}
    assert not loaded & slow, loaded & slow
