"""A real accelerate training loop of a tiny model, shared by the tests and run by torchrun.

``python -m torch.distributed.run --nproc_per_node 2 accelerate_loop.py PROJECT DIR`` trains
with ``Accelerator(cpu=True)`` (gloo) and our tracker on every process, saving its state
into ``DIR/checkpoints`` every 3 steps, then ends with
`workers.exit_now` (torch's exit race: see that function); ``accelerate_loop.py PROJECT
untracked`` trains without it (``tracker run`` adds it).
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.tracking import GeneralTracker

STEPS = 6
CONFIG = {"lr": 0.05, "batch_size": 4, "model": {"in": 4, "out": 1}}


class Recorder(GeneralTracker):
    """Another tracker next to ours: remembers what accelerate handed it."""

    name = "recorder"
    requires_logging_directory = False

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int | None] = []

    @property
    def tracker(self) -> Recorder:
        return self

    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        self.steps.append(step)


def train(
    accelerator: Accelerator,
    project: str,
    adapter: Any = None,
    save_every: int = 0,
    **init: Any,
) -> list[float]:
    """Train a linear regression for `STEPS` steps, logging each one; the losses logged.
    With our ``adapter``, its run also gets the best loss, on every rank as users write it;
    with ``save_every``, ``save_state()`` every that many steps (the accelerator's
    project configuration names the folders)."""
    torch.manual_seed(0)
    inputs = torch.randn(STEPS * 4 * accelerator.num_processes, 4)
    targets = inputs.sum(dim=1, keepdim=True)
    data = torch.utils.data.TensorDataset(inputs, targets)
    loader = torch.utils.data.DataLoader(data, batch_size=CONFIG["batch_size"])
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=CONFIG["lr"])
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    accelerator.init_trackers(project, config=CONFIG, **init)
    losses = []
    for step, (x, y) in enumerate(loader):
        loss = torch.nn.functional.mse_loss(model(x), y)
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        mean = accelerator.reduce(loss.detach(), reduction="mean")
        accelerator.log({"train/loss": mean, "lr": CONFIG["lr"]}, step=step)
        losses.append(mean.item())
        if save_every and (step + 1) % save_every == 0:
            accelerator.save_state()
    if adapter is not None:  # docs/accelerate.md: safe on every rank, no rank check
        adapter.tracker.log_summary({"best/loss": min(losses)})
        # as users copy it from accelerate's docs: on every rank too
        accelerator.get_tracker("tracker", unwrap=True).log_summary({"last/loss": losses[-1]})
        accelerator.get_tracker("tracker").tracker.log_event("trained", {"steps": STEPS})
    accelerator.end_training()
    return losses


if __name__ == "__main__":
    from workers import exit_now

    if sys.argv[2:] == ["untracked"]:
        train(Accelerator(cpu=True), sys.argv[1])
    else:
        from accelerate.utils import ProjectConfiguration

        from tracker.integrations.accelerate import CustomTracker

        adapter = CustomTracker(run_name="ddp")
        saves = ProjectConfiguration(sys.argv[2], automatic_checkpoint_naming=True)
        accelerator = Accelerator(cpu=True, log_with=adapter, project_config=saves)
        train(accelerator, sys.argv[1], adapter, save_every=3)
    exit_now()  # end_training finished the run
