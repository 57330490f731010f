"""Fixtures of the torchtune tests: the tiny recipe assets, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

STEPS = 3


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny llama2, tokenizer, data and configs (3 steps an epoch), built once."""
    pytest.importorskip("torchtune")
    from assets import build_torchtune_assets

    return build_torchtune_assets(tmp_path_factory.mktemp("tt"), max_steps_per_epoch=STEPS)
