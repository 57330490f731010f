"""One process of the jobs test_torchrun and test_multihost launch: gloo on CPU, a tracked
run, STEPS steps (default ten).

With FAKE_NODES=1 each process plays the only process of its own node. Where another node
dies mid-run (test_multihost kills one), the gradient all-reduce raises: this rank stops
training, finishes its run and reports, as a training script that handles a lost peer does.
Ends with `workers.exit_now` (torch's exit race: see that function).
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta
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
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank()
    model = torch.nn.Linear(8, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    run = CustomTracker(project="torchrun").start()
    logged = 0
    peer_lost = False
    for step in range(int(os.environ.get("STEPS", "10"))):
        loss = model(torch.randn(16, 8)).pow(2).mean()
        loss.backward()
        try:
            for parameter in model.parameters():
                dist.all_reduce(parameter.grad)  # type: ignore[arg-type]
        except RuntimeError:  # gloo's error when a peer's connection closes
            peer_lost = True
            break
        optimizer.step()
        optimizer.zero_grad()
        run.log_metrics({"train/loss": loss.item()}, step=step)
        logged += 1
        time.sleep(0.05)
    sampling = any(t.name == "tracker-system" for t in threading.enumerate())
    # Each rank reports in its own file: two ranks printing to one pipe can interleave.
    report = Path(os.environ["REPORT_DIR"]) / f"rank{rank}.json"
    facts = {"sampling": sampling, "run_id": run.run_id, "steps": logged, "peer_lost": peer_lost}
    if peer_lost:
        run.finish()
        report.write_text(json.dumps(facts))
        os._exit(0)  # the process group is broken: tearing it down could hang
    report.write_text(json.dumps(facts))
    dist.barrier()
    run.finish()
    dist.barrier()


if __name__ == "__main__":
    main()
    exit_now()
