"""Fixtures of the lighteval adapter tests (the ``lighteval`` environment: lighteval 0.13.0
needs a Hugging Face stack of its own, envs/lighteval.txt).

Makes ``tests/`` importable (``assets``, ``pg_server``, ``tracked_commands``).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent.parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

if find_spec("lighteval") is None:  # another test environment: nothing here can run
    collect_ignore_glob = ["*.py"]

from pg_server import pg  # noqa: E402, F401  (pg: the session's server)
