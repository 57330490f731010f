"""Run by the tests in a subprocess (under ``torchrun`` for the distributed ones).

Usage: train_script.py MODE MODEL_DIR DATA_DIR OUTPUT_DIR [EXIT_CODE], MODE one of:

* ``trainer`` -- a `Trainer` for 4 steps with a `CustomTrackerCallback`;
* ``sft`` -- TRL's `SFTTrainer` for 4 steps with a `CustomTrackerCallback`;
* ``crash`` -- a `Trainer` whose step 2 raises ``RuntimeError("boom at step 2")``, uncaught;
* ``untracked`` -- a `Trainer` for 4 steps with no callback of ours (``tracker run`` adds it).

After training, the script exits with ``EXIT_CODE`` (default 0).

When training ends, the script ends with `workers.exit_now` (torch's exit race under torchrun:
see that function). Not a test module (no ``test_`` prefix): pytest does not collect it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import transformers
from kit import make_trainer, training_args

from tracker.integrations.transformers import CustomTrackerCallback
from workers import exit_now


class Boom(transformers.TrainerCallback):
    """Fails the training at step 2, as a bug in a training step would."""

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == 2:
            raise RuntimeError("boom at step 2")


def sft_trainer(model_dir: str, data_dir: str, args: dict[str, Any]) -> Any:
    import datasets
    import trl

    data = datasets.load_dataset(f"{data_dir}/completions", split="train")
    return trl.SFTTrainer(
        model=model_dir,
        args=trl.SFTConfig(**args, max_length=32),
        train_dataset=data,
        callbacks=[CustomTrackerCallback(project="script")],
    )


def main(mode: str, model_dir: str, data_dir: str, output_dir: str, exit_code: str = "0") -> int:
    distributed = {"ddp_backend": "gloo"} if "WORLD_SIZE" in os.environ else {}
    args = training_args(Path(output_dir), **distributed)
    if mode == "sft":
        trainer = sft_trainer(model_dir, data_dir, args)
    else:
        callbacks = [] if mode == "untracked" else [CustomTrackerCallback(project="script")]
        if mode == "crash":
            callbacks.append(Boom())
        trainer = make_trainer(Path(model_dir), callbacks, **args)
    trainer.train()
    return int(exit_code)


if __name__ == "__main__":
    code = main(*sys.argv[1:])
    if code:
        sys.exit(code)  # a failing exit, as a user's script would end
    exit_now()  # the callback finished the run at the end of training
