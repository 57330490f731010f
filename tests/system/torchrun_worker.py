"""One process of the job test_torchrun launches: gloo on CPU, a tracked run, ten steps.

With FAKE_NODES=1 each process plays the only process of its own node. Ends with
`workers.exit_now` (torch's exit race: see that function).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import torch
import torch.distributed as dist

from tracker import CustomTracker
from workers import exit_now

if os.environ.get("FAKE_NODES") == "1":
    os.environ["TRACKER_LOCAL_RANK"] = "0"
    os.environ["TRACKER_LOCAL_WORLD_SIZE"] = "1"
    os.environ["TRACKER_NODE_NAME"] = f"node{os.environ['RANK']}"


def main() -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    model = torch.nn.Linear(8, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    run = CustomTracker(project="torchrun").start()
    for step in range(10):
        loss = model(torch.randn(16, 8)).pow(2).mean()
        loss.backward()
        for parameter in model.parameters():
            dist.all_reduce(parameter.grad)  # type: ignore[arg-type]
        optimizer.step()
        optimizer.zero_grad()
        run.log_metrics({"train/loss": loss.item()}, step=step)
        time.sleep(0.05)
    sampling = any(t.name == "tracker-system" for t in threading.enumerate())
    # Each rank reports in its own file: two ranks printing to one pipe can interleave.
    report = Path(os.environ["REPORT_DIR"]) / f"rank{rank}.json"
    report.write_text(json.dumps({"sampling": sampling, "run_id": run.run_id}))
    dist.barrier()
    run.finish()
    dist.barrier()


if __name__ == "__main__":
    main()
    exit_now()
