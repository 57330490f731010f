"""A real two-process torchrun job (gloo, CPU): system metrics sampled once per node."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import open_store
from workers import worker_env

pytest.importorskip("torch")

WORKER = Path(__file__).with_name("torchrun_worker.py")


def launch(fake_nodes: bool, report_dir: Path) -> dict[int, tuple[bool, str]]:
    """Run the job; each rank's (sampling?, run id) as it reported them."""
    env = worker_env(
        REPORT_DIR=str(report_dir),
        TRACKER_SYSTEM_INTERVAL="0.1",
        FAKE_NODES="1" if fake_nodes else "0",
    )
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", "2", str(WORKER)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reports = {rank: json.loads((report_dir / f"rank{rank}.json").read_text()) for rank in (0, 1)}
    return {rank: (report["sampling"], report["run_id"]) for rank, report in reports.items()}


@pytest.mark.slow
def test_one_node_is_sampled_once(tracker_dir: Path, tmp_path: Path) -> None:
    """On one node only rank 0 samples: one set of host keys, without a node tag."""
    ranks = launch(fake_nodes=False, report_dir=tmp_path)
    assert ranks[0][0] is True
    assert ranks[1][0] is False
    run_id = ranks[0][1]
    keys = open_store().keys(run_id)
    system = [key for key in keys if key.startswith("system/")]
    assert "system/cpu/percent" in system
    assert all(key.split("/")[1] in {"cpu", "memory", "disk", "network", "gpu"} for key in system)


@pytest.mark.slow
def test_two_nodes_land_in_one_run(tracker_dir: Path, tmp_path: Path) -> None:
    """With each process playing a node, both sample, and rank 1 finds rank 0's run
    through torch.distributed's store: both nodes' keys are in the one run."""
    ranks = launch(fake_nodes=True, report_dir=tmp_path)
    assert ranks[0][0] is True
    assert ranks[1][0] is True
    run_id = ranks[0][1]
    store = open_store()
    keys = store.keys(run_id)
    assert "system/node0/cpu/percent" in keys
    assert "system/node1/cpu/percent" in keys
    assert len(store.history(run_id, "system/node1/cpu/percent", raw=True)) >= 2
    assert [r.run_id for r in store.runs(project="torchrun")] == [run_id]
