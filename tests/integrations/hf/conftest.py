"""Fixtures of the Hugging Face adapter tests: a tiny offline model and datasets, built once.

Makes ``tests/assets.py`` and this folder's ``kit.py`` importable (no ``__init__.py`` here).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _path in (str(_HERE.parent.parent), str(_HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

if find_spec("transformers") is None:  # another test environment: nothing here can run
    collect_ignore_glob = ["*.py"]

from assets import (  # noqa: E402  (after the sys.path change)
    build_hf_data,
    build_hf_model,
)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama with its tokenizer, saved offline."""
    return build_hf_model(tmp_path_factory.mktemp("tiny-llama"), arch="llama")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sft.json, pref.json and prompts.json: tiny instruct, preference and prompt sets."""
    return build_hf_data(tmp_path_factory.mktemp("data"))
