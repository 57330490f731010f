"""A real two-process torchrun job (gloo, CPU): system metrics sampled once per node."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import open_store

pytest.importorskip("torch")

WORKER = Path(__file__).with_name("torchrun_worker.py")


def launch(fake_nodes: bool) -> dict[int, tuple[bool, str]]:
    """Run the job; each rank's (sampling?, run id) as it printed them."""
    env = {
        **os.environ,
        "TRACKER_SYSTEM_INTERVAL": "0.1",
        "FAKE_NODES": "1" if fake_nodes else "0",
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", "2", str(WORKER)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.findall(r"RANK (\d) SAMPLING (True|False) RUN (\S+)", done.stdout)
    return {int(rank): (sampling == "True", run_id) for rank, sampling, run_id in found}


@pytest.mark.slow
def test_one_node_is_sampled_once(tracker_dir: Path) -> None:
    """On one node only rank 0 samples: one set of host keys, without a node tag."""
    ranks = launch(fake_nodes=False)
    assert ranks[0][0] is True
    assert ranks[1][0] is False
    run_id = ranks[0][1]
    keys = open_store().keys(run_id)
    system = [key for key in keys if key.startswith("system/")]
    assert "system/cpu/percent" in system
    assert all(key.split("/")[1] in {"cpu", "memory", "disk", "network", "gpu"} for key in system)


@pytest.mark.slow
def test_two_nodes_land_in_one_run(tracker_dir: Path) -> None:
    """With each process playing a node, both sample, and rank 1 finds rank 0's run
    through torch.distributed's store: both nodes' keys are in the one run."""
    ranks = launch(fake_nodes=True)
    assert ranks[0][0] is True
    assert ranks[1][0] is True
    run_id = ranks[0][1]
    store = open_store()
    keys = store.keys(run_id)
    assert "system/node0/cpu/percent" in keys
    assert "system/node1/cpu/percent" in keys
    assert len(store.history(run_id, "system/node1/cpu/percent", raw=True)) >= 2
    assert [r.run_id for r in store.runs(project="torchrun")] == [run_id]
