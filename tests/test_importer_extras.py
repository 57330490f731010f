"""``tracker import TOOL`` without the tool's library: an error naming the extra (the
core environment has none of them)."""

from __future__ import annotations

import importlib.util

import pytest

from tracker.importers import SOURCES, load_source

_LIBRARIES = {
    "tensorboard": "tensorboard",
    "mlflow": "mlflow",
    "wandb": "wandb",
    "trackio": "trackio",
}


@pytest.mark.parametrize("tool", SOURCES)
def test_a_missing_library_names_the_extra(tool: str) -> None:
    """The ImportError says which pip install brings the tool's reader."""
    if importlib.util.find_spec(_LIBRARIES[tool]) is not None:
        pytest.skip(f"{tool} is installed here")
    with pytest.raises(ImportError, match=rf"pip install 'tracker\[import-{tool}\]'"):
        load_source(tool)


def test_the_command_says_it_in_one_line(
    tracker_dir: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tracker import wandb DIR` without wandb: one line, exit status 1."""
    from tracker.cli import main

    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here")
    assert main(["import", "wandb", "."]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tracker[import-wandb]" in err
