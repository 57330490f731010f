"""One rank of test_sigterm_collective's job: gloo on CPU over a file rendezvous.

Usage: collective_worker.py RANK RENDEZVOUS_FILE STEPS. Rank 0 starts a tracked run, logs
STEPS steps and prints ``blocking`` before an all-reduce that rank 1 never joins: its
main thread stays in gloo's native wait. Rank 1 joins the group, prints ``joined`` and
waits on its stdin.
"""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist

from tracker import CustomTracker


def main(rank: int, rendezvous: str, steps: int) -> None:
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    if rank == 1:
        print("joined", flush=True)
        sys.stdin.read()  # never joins the all-reduce
        return
    run = CustomTracker(project="collective", run_name="blocked").start()
    for step in range(steps):
        run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    print("blocking", flush=True)
    dist.all_reduce(torch.ones(4))  # hangs: rank 1 is not there


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
