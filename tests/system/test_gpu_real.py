"""On a real NVIDIA GPU: a short torch training run records NVML, torch and MFU figures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tracker import CustomTracker, open_store

STEPS = 60
BATCH, WIDTH = 64, 2048


@pytest.mark.gpu
def test_real_gpu_training_run(tracker_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A few seconds of bf16 training on CUDA give system/gpu/0 keys from NVML and from
    torch's allocator, and MFU from the logged FLOPs; prints what was recorded."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("pynvml")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    monkeypatch.setenv("TRACKER_SYSTEM_INTERVAL", "0.5")
    model = torch.nn.Sequential(
        *[torch.nn.Linear(WIDTH, WIDTH, dtype=torch.bfloat16) for _ in range(8)]
    ).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    params = sum(p.numel() for p in model.parameters())
    tokens = flos = 0
    with CustomTracker(project="gpu") as run:
        started = time.time()
        for step in range(STEPS):
            x = torch.randn(BATCH * 16, WIDTH, device="cuda", dtype=torch.bfloat16)
            loss = model(x).float().pow(2).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            tokens += BATCH * 16
            flos += 6 * params * BATCH * 16
            if step % 5 == 4:
                run.log_metrics(
                    {
                        "train/loss": loss.item(),
                        "train/num_input_tokens_seen": tokens,
                        "train/total_flos": flos,
                    },
                    step=step,
                )
        torch.cuda.synchronize()
        run.log_summary({"train/total_flos": flos, "train/runtime": time.time() - started})
        time.sleep(1.0)  # at least two samples after the work
    store = open_store()
    run_id = run.run_id or ""
    keys = store.keys(run_id)
    print(f"\nrecorded on {torch.cuda.get_device_name(0)} ({len(keys)} keys):")
    for key in keys:
        if key.startswith(("system/gpu/", "train/")):
            points = store.history(run_id, key, raw=True)
            print(f"  {key:45s} n={len(points):3d} last={points[-1][1]:.6g}")
    summary = store.get_run(run_id).summary
    print(f"  summary train/mfu={summary.get('train/mfu')}")
    for expected in (
        "system/gpu/0/utilization",
        "system/gpu/0/memory_used_bytes",
        "system/gpu/0/power_watts",
        "system/gpu/0/torch/allocated_bytes",
        "system/gpu/0/torch/active_peak_percent",
        "train/tokens_per_second",
    ):
        assert expected in keys
