"""The 13-run project the dashboard is judged on (issue 25), for tests and screenshots.

Project ``showcase``: a learning-rate x seed sweep (`LEARNING_RATES` x `SEEDS`) of
`SWEEP_STEPS` steps (``train/loss`` every step, ``eval/loss`` every 200, a cosine
``train/learning_rate``, ``train/num_input_tokens_seen``, ``system/`` memory), one of them
failed at step `FAILED_AT` with an error alert; one run of `LONG_STEPS` steps; checkpoints
(every 1,000 steps, the best marked) and a completions table on two runs; a warn alert.

Importable as ``showcase`` from tests/ui; run it to make the project in ``TRACKER_DIR``
and take the screenshots a reviewer looks at (1440x900, Debian's chromium)::

    TRACKER_DIR=/tmp/show python tests/ui/showcase.py artifacts/ui/showcase
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3]
SEEDS = [0, 1, 2]
SWEEP_STEPS = 3_000
LONG_STEPS = 60_000
FAILED_AT = 1_700
FAILED = (3e-3, 2)  # the learning rate and seed of the run that fails
PROJECT = "showcase"
TOKENS_PER_STEP = 4_096


def loss(lr: float, seed: int, step: int) -> float:
    """A falling loss, best at lr 1e-3, a little noise by seed."""
    speed = 1.0 / (1.0 + 0.6 * abs(math.log10(lr) + 3))
    return 0.4 + 2.0 * math.exp(-speed * step / 600) + 0.01 * math.sin(step / 7 + seed)


def _track(name: str, lr: float, seed: int, steps: int, fail_at: int | None, files: Path) -> str:
    every = max(1, steps // 3)  # a checkpoint and a table at a third and two thirds
    from tracker import CustomTracker

    config = {"learning_rate": lr, "seed": seed, "model": {"name": "qwen-0.5b", "lora": {"r": 16}}}
    with CustomTracker(PROJECT, name, config=config, framework="transformers") as run:
        for step in range(steps):
            if fail_at is not None and step == fail_at:
                run.alert("training failed", "CUDA out of memory", level="error")
                run.finish("failed", "torch.OutOfMemoryError: CUDA out of memory")
                break
            cosine = 0.5 * (1 + math.cos(math.pi * step / steps))
            metrics = {
                "train/loss": loss(lr, seed, step),
                "train/learning_rate": lr * cosine,
                "train/num_input_tokens_seen": float((step + 1) * TOKENS_PER_STEP * (1 + seed)),
            }
            if step % max(1, steps // 15) == 0:
                metrics["eval/loss"] = loss(lr, seed, step) + 0.05
            if step % max(1, steps // 30) == 0:
                metrics["system/memory/used_bytes"] = 6.0 * 2**30 + step * 2**18
            run.log_metrics(metrics, step=step)
            if step and step % every == 0 and seed == 0 and lr == 1e-3:
                folder = files / name / f"checkpoint-{step}"
                folder.mkdir(parents=True)
                (folder / "adapter.bin").write_bytes(step.to_bytes(4, "big") * 256)
                run.log_artifact(folder, step=step, best=step == 2 * every)
            if step == steps // 6 and seed == 1 and lr == 3e-4:
                run.alert("loss spike", "eval/loss rose 20 %", level="warn")
            if step % every == 0 and seed == 0 and lr in (1e-3, 3e-3):
                rows = [
                    {"prompt": f"q{i}", "completion": f"answer {i} at {step}"} for i in range(3)
                ]
                run.log_table("eval/completions", rows, step=step)
        assert run.run_id is not None
        return run.run_id


def track_showcase(files: Path, scale: float = 1.0) -> dict[str, str]:
    """Track the project (checkpoint folders under ``files``), its step counts times
    ``scale`` (tests track a tenth); the run ids by name, the long run's ``long``."""
    ids = {}
    steps = round(SWEEP_STEPS * scale)
    for lr in LEARNING_RATES:
        for seed in SEEDS:
            name = f"lr{lr:g}-s{seed}"
            failed = round(FAILED_AT * scale) if (lr, seed) == FAILED else None
            ids[name] = _track(name, lr, seed, steps, failed, files)
    ids["long"] = _track("long", 1e-3, 0, round(LONG_STEPS * scale), None, files)
    return ids


def screenshots(out: Path) -> None:
    """Track the project and keep screenshots of its pages at 1440x900 in ``out``."""
    from playwright.sync_api import sync_playwright
    from ui_kit import CHROMIUM, CHROMIUM_ARGS, open_page, serve

    out.mkdir(parents=True, exist_ok=True)
    ids = track_showcase(Path(tempfile.mkdtemp()))
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        pages = {
            "workspace": f"/?project={PROJECT}",
            "workspace-sweep": f"/?project={PROJECT}&group=learning_rate&metric=eval/loss",
            "compare": "/compare?"
            + "&".join(f"run={ids[n]}" for n in ("lr0.001-s0", "lr0.003-s2", "long")),
            "run": f"/runs/{ids['lr0.001-s0']}",
            "run-failed": f"/runs/{ids['lr0.003-s2']}",
        }
        for name, path in pages.items():
            open_page(page, url + path)
            page.wait_for_timeout(1_500)
            page.screenshot(path=str(out / f"{name}.png"))
            page.screenshot(path=str(out / f"{name}-full.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts/ui/showcase"))
