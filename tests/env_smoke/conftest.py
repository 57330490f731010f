"""Shared setup for the framework smoke tests in this folder.

Makes ``tests/assets.py`` importable as ``assets`` (this folder has no ``__init__.py``) and
keeps every Hugging Face library offline, also when a file here is run on its own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
