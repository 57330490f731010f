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
from pg_server import PostgresServer, pg  # noqa: E402, F401  (pg: the session's server)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama with its tokenizer, saved offline."""
    return build_hf_model(tmp_path_factory.mktemp("tiny-llama"), arch="llama")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sft.json, pref.json and prompts.json: tiny instruct, preference and prompt sets."""
    return build_hf_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(params=["sqlite", "postgres"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store the training and the evaluations write: a SQLite file, the team store."""
    if request.param == "sqlite":
        return str(tmp_path / "team.db")
    server: PostgresServer = request.getfixturevalue("pg")
    server.truncate()
    return server.uri


@pytest.fixture
def checkpoints(model_dir: Path, tmp_path: Path, uri: str) -> list[Path]:
    """checkpoint-2 and checkpoint-4 of a Trainer run tracked in ``uri`` (project lm)."""
    from kit import make_trainer, training_args

    from tracker.integrations.transformers import CustomTrackerCallback

    out = tmp_path / "out"
    callback = CustomTrackerCallback(project="lm", store=uri)
    args = training_args(out, save_strategy="steps", save_steps=2, save_total_limit=None)
    make_trainer(model_dir, [callback], **args).train()
    return [out / "checkpoint-2", out / "checkpoint-4"]
