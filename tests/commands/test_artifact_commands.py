"""``tracker artifacts``, ``best``, ``lineage``, ``artifacts verify`` and ``sync`` of
artifacts, on runs tracked for real with checkpoint folders on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracked_runs import Cli
from tracker import Artifact, CustomTracker, open_store
from tracker.artifacts import digest_path
from tracker.store import Store


@pytest.fixture
def chain(tracker_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Run ``sft`` saves checkpoints at steps 10, 20, 30 (eval/loss 0.9, 0.4, 0.6; 20 is
    best) and uses a hub model; run ``dpo`` starts from sft's checkpoint-20."""
    out = tmp_path / "sft"
    with CustomTracker("chain", "sft") as sft:
        sft.use_artifact("Qwen/Qwen2.5-0.5B", meta={"revision": "main"})
        for step, loss in ((10, 0.9), (20, 0.4), (30, 0.6)):
            folder = out / f"checkpoint-{step}"
            folder.mkdir(parents=True)
            (folder / "w").write_text(f"weights {step}")
            sft.log_metrics({"eval/loss": loss, "eval/accuracy": 1 - loss}, step=step)
            sft.log_artifact(folder)
        sft.mark_artifact(out / "checkpoint-20", best=True)
    with CustomTracker("chain", "dpo") as dpo:
        dpo.use_artifact(out / "checkpoint-20", kind="checkpoint")
        dpo.log_metrics({"eval/loss": 0.3}, step=5)
        final = tmp_path / "dpo" / "final"
        final.mkdir(parents=True)
        (final / "w").write_text("dpo weights")
        dpo.log_artifact(final, kind="model")
    assert sft.run_id is not None and dpo.run_id is not None
    return {"sft": sft.run_id, "dpo": dpo.run_id, "out": str(out)}


def test_artifacts_lists_versions_with_metrics_size_state_and_best(
    chain: dict[str, str], cli: Cli
) -> None:
    """The table has each checkpoint's step, metrics at save, size and the best star."""
    result = cli("artifacts", "sft", "--color", "never")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "VERSION", "KIND", "STEP"]
    row20 = next(line for line in lines if "checkpoint-20" in line)
    assert "v2" in row20 and "eval/loss=0.4" in row20 and "10 B" in row20
    assert "present" in row20 and " * " in row20
    as_json = json.loads(cli("artifacts", "sft", "--json").out)
    assert [a["step"] for a in as_json] == [10, 20, 30]
    inputs = json.loads(cli("artifacts", "sft", "--inputs", "--json").out)
    assert [(a["uri"], a["state"]) for a in inputs] == [("Qwen/Qwen2.5-0.5B", "remote")]


def test_best_prints_only_the_uri_of_the_best_checkpoint(chain: dict[str, str], cli: Cli) -> None:
    """Lowest eval/loss across the project's runs (dpo's model), of checkpoints only
    (sft's 20); --max for the highest; none: an error."""
    best = cli("best", "chain", "--metric", "eval/loss")
    assert best.code == 0 and best.out.endswith("dpo/final\n")
    ckpt = cli("best", "chain", "--metric", "eval/loss", "--kind", "checkpoint").out
    assert ckpt == f"{chain['out']}/checkpoint-20\n"
    highest = cli("best", "chain", "--metric", "eval/accuracy", "--max").out.strip()
    assert highest.endswith("checkpoint-20")
    missing = cli("best", "chain", "--metric", "eval/nothing")
    assert missing.code == 1 and "eval/nothing" in missing.err


def test_best_feeds_a_later_command(chain: dict[str, str], tracker_dir: Path) -> None:
    """`tracker best` in a shell substitution hands the path to the next command."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src, "TRACKER_DIR": str(tracker_dir)}
    best = f"{sys.executable} -m tracker.cli best chain --metric eval/loss --kind checkpoint"
    done = subprocess.run(
        ["sh", "-c", f'cat "$({best})/w"'], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout == "weights 20"


def test_lineage_of_a_run_and_of_an_artifact_path(chain: dict[str, str], cli: Cli) -> None:
    """sft's lineage shows the hub model and that dpo used checkpoint-20; a checkpoint's
    path names sft; dpo's lineage names sft as the source."""
    sft = cli("lineage", "sft", "--color", "never")
    assert sft.code == 0, sft.err
    assert "Qwen/Qwen2.5-0.5B" in sft.out
    used = next(line for line in sft.out.splitlines() if "checkpoint-20" in line)
    assert f"dpo ({chain['dpo']})" in used
    by_path = cli("lineage", f"{chain['out']}/checkpoint-10", "--json")
    assert json.loads(by_path.out)["run"]["name"] == "sft"
    dpo = json.loads(cli("lineage", "dpo", "--json").out)
    assert [a["run_id"] for a in dpo["sources"]] == [chain["sft"]]
    assert cli("lineage", "no-such-thing").code == 1


def test_verify_records_changed_and_missing(chain: dict[str, str], cli: Cli, store: Store) -> None:
    """One checkpoint deleted, one rewritten: verify says so and the store keeps it."""
    out = Path(chain["out"])
    (out / "checkpoint-10" / "w").unlink()
    (out / "checkpoint-10").rmdir()
    (out / "checkpoint-30" / "w").write_text("other bytes")
    result = cli("artifacts", "verify", "sft", "--color", "never")
    assert result.code == 1 and "2 of 4 versions changed, gone or unreadable" in result.err
    states = {a.step: a.state for a in store.artifacts(run_id=chain["sft"], kind="checkpoint")}
    assert states == {10: "gone", 20: "present", 30: "changed"}
    assert "changed" in next(line for line in result.out.splitlines() if "checkpoint-30" in line)


def test_verify_exit_status_is_0_1_or_2(chain: dict[str, str], cli: Cli) -> None:
    """0: every version as hashed; 1: one changed (or an error); 2: a bad argument."""
    assert cli("artifacts", "verify", "dpo").code == 0
    (Path(chain["out"]) / "checkpoint-20" / "w").write_text("other bytes")
    assert cli("artifacts", "verify", "sft").code == 1
    assert cli("artifacts", "verify", "no-such-run").code == 1
    usage = cli("artifacts", "verify", "sft", "dpo")
    assert usage.code == 2 and "give one run" in usage.err


def test_verify_hashes_a_version_never_hashed(
    chain: dict[str, str], cli: Cli, store: Store
) -> None:
    """An ``unhashed`` version (its run was killed while hashing it) gets its digest,
    in place."""
    folder = Path(chain["out"]) / "checkpoint-40"
    folder.mkdir()
    (folder / "w").write_text("weights 40")
    waiting = Artifact(chain["sft"], "checkpoint", uri=str(folder), step=40, state="unhashed")
    store.log_artifact(chain["sft"], waiting)
    assert cli("artifacts", "verify", "sft").code == 0
    (found,) = [a for a in store.artifacts(run_id=chain["sft"]) if a.step == 40]
    assert (found.version, found.state, found.digest) == (4, "present", digest_path(folder).digest)


def test_best_never_switches_kind_when_the_best_is_corrupted(
    tracker_dir: Path, tmp_path: Path, cli: Cli
) -> None:
    """Full checkpoints and a LoRA adapter's in one project: the kind of the project's
    best version is ranked (said on stderr, with the others), also once that version is
    corrupted; --kind chooses the other; the table shows the kind."""
    for run_name, weights, losses in (("full", "full", (0.3, 0.6)), ("lora", "adapter", (0.4,))):
        with CustomTracker("mix", run_name) as run:
            for step, loss in enumerate(losses, 1):
                folder = tmp_path / run_name / f"checkpoint-{step}"
                folder.mkdir(parents=True)
                (folder / "w").write_text(f"{run_name} {step}")
                run.log_metrics({"eval/loss": loss}, step=step)
                run.log_artifact(folder, meta={"weights": weights})
    best = cli("best", "mix", "--metric", "eval/loss")
    assert best.out == f"{tmp_path}/full/checkpoint-1\n"
    assert "best checkpoint" in best.err and "also saved: adapter-checkpoint" in best.err
    (tmp_path / "full" / "checkpoint-1" / "w").write_text("corrupted")
    assert cli("artifacts", "verify", "full").code == 1
    assert cli("best", "mix", "--metric", "eval/loss").out == f"{tmp_path}/full/checkpoint-2\n"
    adapter = cli("best", "mix", "--metric", "eval/loss", "--kind", "adapter-checkpoint")
    assert adapter.out == f"{tmp_path}/lora/checkpoint-1\n"
    assert "adapter-checkpoint" in cli("artifacts", "lora", "--color", "never").out


_KILLED_WHILE_HASHING = """
import sys, threading
from tracker import CustomTracker
run = CustomTracker("crash", "sft").start()
run.log_metrics({"eval/loss": 0.25}, step=40)
run.log_artifact(sys.argv[1], step=40)
print(run.run_id, flush=True)
threading.Event().wait()  # until killed
"""


def test_a_checkpoint_hashed_when_its_process_is_killed_is_kept(
    tracker_dir: Path, tmp_path: Path, cli: Cli
) -> None:
    """SIGKILL while a checkpoint is hashed: the version is in the store from the call on
    (``unhashed``), shown by `tracker artifacts` and ranked by `tracker best`: only the
    digest is lost."""
    big = tmp_path / "checkpoint-40" / "model.bin"
    big.parent.mkdir()
    with open(big, "wb") as handle:
        handle.truncate(64 << 30)  # sparse: hashing it takes tens of seconds
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WHILE_HASHING, str(big.parent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        store = open_store()
        deadline = time.monotonic() + 20
        while not (found := store.artifacts(run_id=run_id)) and time.monotonic() < deadline:
            time.sleep(0.02)
        store.close()
    finally:
        child.kill()
        child.wait()
    assert [(a.state, a.step, a.digest) for a in found] == [("unhashed", 40, None)]
    assert "unhashed" in cli("artifacts", run_id, "--color", "never").out
    best = cli("best", "crash", "--metric", "eval/loss")
    assert best.out == f"{big.parent}\n" and "unhashed" in best.err


def test_sync_carries_artifacts_and_lineage(
    chain: dict[str, str], cli: Cli, store: Store, tmp_path: Path
) -> None:
    """To SQLite and to JSON lines: the same versions and lineage; a second sync adds none."""
    for target in (f"sqlite:///{tmp_path}/team.db", f"jsonl:///{tmp_path}/team"):
        assert cli("sync", "--to", target).code == 0
        assert cli("sync", "--to", target).code == 0
        team = open_store(target)
        for run_id in (chain["sft"], chain["dpo"]):
            assert team.artifacts(run_id=run_id) == store.artifacts(run_id=run_id)
        assert team.lineage(chain["dpo"]) == store.lineage(chain["dpo"])
        team.close()


def test_the_dashboard_api_serves_artifacts_and_lineage(
    chain: dict[str, str], store: Store
) -> None:
    """/api/runs/RUN/artifacts and /lineage answer what the store holds, linked runs named."""
    from tracker.ui.api import dispatch

    listed = dispatch(store, "/api/runs/sft/artifacts", {})
    assert listed["run"] == chain["sft"]
    assert [a["step"] for a in listed["artifacts"] if a["direction"] == "output"] == [10, 20, 30]
    lineage = dispatch(store, f"/api/runs/{chain['dpo']}/lineage", {})
    assert lineage["run"]["name"] == "dpo"
    assert [a["run_id"] for a in lineage["sources"]] == [chain["sft"]]
    assert lineage["names"] == {chain["sft"]: "sft"}
