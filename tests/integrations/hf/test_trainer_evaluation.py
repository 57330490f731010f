"""A Trainer in a new process that loads a checkpoint and only evaluates (``evaluate()``,
``predict()``): its metrics are an evaluation of that checkpoint of the training run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kit import SCRIPT_PATH

from tracked_commands import command_env
from tracker import open_store
from tracker.leaderboard import leaderboard

EVALUATE = """
import sys
from pathlib import Path
from kit import make_trainer, training_args
from tracker.integrations.transformers import CustomTrackerCallback

checkpoint, out, uri = sys.argv[1:]
callback = CustomTrackerCallback(project="lm", store=uri)
trainer = make_trainer(Path(checkpoint), [callback], **training_args(Path(out)))
print(trainer.evaluate()["eval_loss"])
print(trainer.predict(trainer.eval_dataset).metrics["test_loss"])
"""


def test_evaluate_and_predict_of_a_loaded_checkpoint(
    checkpoints: list[Path], tmp_path: Path, uri: str
) -> None:
    """``evaluate()`` and ``predict()`` of checkpoint-4 loaded in a second process are the
    tasks ``eval`` and ``test`` of the training run's version at step 4, with the values
    the Trainer returned; the speed metrics are no scores."""
    done = subprocess.run(
        [sys.executable, "-c", EVALUATE, str(checkpoints[1]), str(tmp_path / "eval"), uri],
        env=command_env(tmp_path, {"PYTHONPATH": SCRIPT_PATH}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    eval_loss, test_loss = map(float, done.stdout.split()[-2:])
    store = open_store(uri)
    board = leaderboard(store, "lm")
    (entry,) = board.entries
    assert entry.checkpoint is not None
    trained = next(r for r in store.runs() if r.run_id == entry.checkpoint.run_id)
    assert (entry.checkpoint.step, trained.project) == (4, "lm")
    assert set(board.columns) == {"eval/loss", "test/loss"}
    assert entry.value("eval/loss") == pytest.approx(eval_loss)
    assert entry.value("test/loss") == pytest.approx(test_loss)
    evaluation = entry.scores["eval/loss"]
    assert evaluation.run_id != trained.run_id
    assert evaluation.settings["harness"].startswith("transformers ")
    assert evaluation.settings["batch_size"] == 4
