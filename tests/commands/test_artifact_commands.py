"""``tracker artifacts``, ``best``, ``lineage``, ``artifacts verify`` and ``sync`` of
artifacts, on runs tracked for real with checkpoint folders on disk."""

from __future__ import annotations

import json
import os
import re
import shutil
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
    best) and uses a hub model; run ``dpo`` starts from sft's checkpoint-20 and saves a
    model that run ``evaluate`` uses."""
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
    with CustomTracker("chain", "evaluate") as evaluate:
        evaluate.use_artifact(final, kind="model")
        evaluate.log_metrics({"eval/accuracy": 0.8}, step=0)
    assert sft.run_id is not None and dpo.run_id is not None and evaluate.run_id is not None
    return {"sft": sft.run_id, "dpo": dpo.run_id, "evaluate": evaluate.run_id, "out": str(out)}


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


def _rows(text: str, heading: str) -> list[list[str]]:
    """The rows of the table under ``heading`` of `tracker lineage`'s text: each row's
    hops, node and links (split on two spaces or more)."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    rows = []
    for line in lines[start + 1 :]:
        if not line[:1].isdigit():
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows.append([cells[0], cells[1], cells[-1]])
    return rows


def test_lineage_of_a_run_shows_the_whole_chain_both_ways(chain: dict[str, str], cli: Cli) -> None:
    """dpo's lineage: upstream the checkpoint it used, the sft run that made it and the
    hub model sft used; downstream its model and the run that evaluated it, by hops."""
    sft, dpo, evaluate = chain["sft"], chain["dpo"], chain["evaluate"]
    result = cli("lineage", "dpo", "--color", "never")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == f"lineage of run dpo ({dpo})"
    assert _rows(result.out, "came from") == [
        ["1", "checkpoint v2", f"used by run dpo ({dpo})"],
        ["2", f"run sft ({sft})", "made checkpoint v2"],
        ["3", "Qwen/Qwen2.5-0.5B", f"used by run sft ({sft})"],
    ]
    assert _rows(result.out, "led to") == [
        ["1", "final v1", f"made by run dpo ({dpo})"],
        ["2", f"run evaluate ({evaluate})", "used final v1"],
    ]
    view = json.loads(cli("lineage", "dpo", "--json").out)
    assert view["root"] == f"run:{dpo}" and view["depth"] is None
    up = {n["id"]: n["upstream"] for n in view["nodes"] if n["upstream"] is not None}
    assert sorted(up.values()) == [0, 1, 2, 3] and up[f"run:{sft}"] == 2
    hub = next(n for n in view["nodes"] if n["id"] == "version:uri:Qwen/Qwen2.5-0.5B")
    assert (hub["kind"], hub["upstream"], hub["artifact"]["state"]) == ("version", 3, "remote")
    used = {(e["from"], e["to"], e["kind"]) for e in view["edges"]}
    ckpt = next(n["id"] for n in view["nodes"] if n["upstream"] == 1)
    assert {(f"run:{sft}", ckpt, "produced"), (ckpt, f"run:{dpo}", "used")} <= used
    assert view["names"] == {sft: "sft", dpo: "dpo", evaluate: "evaluate"}
    assert [a["from"] for a in view["inputs"]] == [[sft]]
    assert [a["used_by"] for a in view["outputs"]] == [[evaluate]]
    assert cli("lineage", "no-such-thing").code == 1


def test_lineage_of_a_checkpoint_path_is_that_checkpoints_own(
    chain: dict[str, str], cli: Cli
) -> None:
    """A checkpoint's path: the run that made it upstream, the runs that used it (and
    on) downstream; checkpoint-10, which nobody used, leads to nothing."""
    sft, dpo, evaluate = chain["sft"], chain["dpo"], chain["evaluate"]
    used = cli("lineage", f"{chain['out']}/checkpoint-20", "--color", "never").out
    assert used.splitlines()[0].startswith("lineage of checkpoint v2 (checkpoint, present) ")
    assert _rows(used, "came from") == [
        ["1", f"run sft ({sft})", "made checkpoint v2"],
        ["2", "Qwen/Qwen2.5-0.5B", f"used by run sft ({sft})"],
    ]
    assert _rows(used, "led to") == [
        ["1", f"run dpo ({dpo})", "used checkpoint v2"],
        ["2", "final v1", f"made by run dpo ({dpo})"],
        ["3", f"run evaluate ({evaluate})", "used final v1"],
    ]
    unused = cli("lineage", f"{chain['out']}/checkpoint-10", "--color", "never").out
    assert _rows(unused, "came from")[0] == ["1", f"run sft ({sft})", "made checkpoint v1"]
    assert "led to\n  (nothing recorded)" in unused and dpo not in unused
    view = json.loads(cli("lineage", f"{chain['out']}/checkpoint-10", "--json").out)
    assert view["run"] is None and view["root"].startswith("version:sha256:")
    assert view["names"] == {sft: "sft"}
    digest = view["root"].removeprefix("version:")
    assert json.loads(cli("lineage", digest, "--json").out) == view
    near = json.loads(cli("lineage", f"{chain['out']}/checkpoint-20", "--depth", "1", "--json").out)
    shown = {n["id"]: (n["upstream"], n["downstream"], n["more"]) for n in near["nodes"]}
    assert shown == {
        near["root"]: (0, 0, False),
        f"run:{sft}": (1, None, True),
        f"run:{dpo}": (None, 1, True),
    }


def test_lineage_depth_limits_the_walk_and_says_there_is_more(
    chain: dict[str, str], cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    """--depth 2 from dpo: the checkpoint and the run that made it (marked: it has more),
    its model and the run that used it; --depth 0: dpo alone; a bad depth: an error."""
    sft, dpo = chain["sft"], chain["dpo"]
    result = cli("lineage", "dpo", "--depth", "2", "--color", "never")
    assert [r[1] for r in _rows(result.out, "came from")] == [
        "checkpoint v2",
        f"run sft ({sft}) +more",
    ]
    assert len(_rows(result.out, "led to")) == 2 and "Qwen" not in result.out
    assert result.out.splitlines()[-1] == "(+ more beyond --depth 2)"
    view = json.loads(cli("lineage", "dpo", "--depth", "1", "--json").out)
    assert view["depth"] == 1
    shown = [(n["kind"], n["upstream"], n["downstream"], n["more"]) for n in view["nodes"]]
    assert shown == [("run", 0, 0, False), ("version", 1, None, True), ("version", None, 1, True)]
    assert view["names"] == {dpo: "dpo"}
    alone = json.loads(cli("lineage", "dpo", "--depth", "0", "--json").out)
    assert [(n["id"], n["more"]) for n in alone["nodes"]] == [(f"run:{dpo}", True)]
    assert alone["edges"] == []
    with pytest.raises(SystemExit) as bad:
        cli("lineage", "dpo", "--depth", "-1")
    assert bad.value.code == 2 and "number of hops" in capsys.readouterr().err


def test_lineage_width_shows_the_first_nodes_at_each_distance_and_counts_the_rest(
    chain: dict[str, str], cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    """--width 2 from sft: its first two checkpoints (one hop on) and what came of them;
    the third counted, in the text and in the JSON; a width of 0: an error."""
    dpo, evaluate = chain["dpo"], chain["evaluate"]
    result = cli("lineage", "sft", "--width", "2", "--color", "never")
    assert result.code == 0, result.err
    assert [r[:2] for r in _rows(result.out, "led to")] == [
        ["1", "checkpoint v1"],
        ["1", "checkpoint v2"],
        ["2", f"run dpo ({dpo})"],
        ["3", "final v1"],
        ["4", f"run evaluate ({evaluate})"],
    ]
    assert "  (+ 1 more at 1 hop, beyond --width 2)" in result.out.splitlines()
    view = json.loads(cli("lineage", "sft", "--width", "2", "--json").out)
    assert view["width"] == 2 and view["hidden"] == [{"hops": 1, "nodes": 1}]
    whole = json.loads(cli("lineage", "sft", "--json").out)
    assert whole["hidden"] == [] and len(whole["nodes"]) == len(view["nodes"]) + 1
    with pytest.raises(SystemExit) as bad:
        cli("lineage", "sft", "--width", "0")
    assert bad.value.code == 2 and "number of nodes" in capsys.readouterr().err


def test_lineage_of_a_gone_checkpoint_still_links(
    chain: dict[str, str], cli: Cli, store: Store
) -> None:
    """checkpoint-20 deleted and found gone by verify: its path's lineage is still its
    producer and the run that used it, its state gone."""
    shutil.rmtree(Path(chain["out"]) / "checkpoint-20")
    assert cli("artifacts", "verify", "sft").code == 1  # one gone: exit 1 (docs/artifacts.md)
    view = json.loads(cli("lineage", f"{chain['out']}/checkpoint-20", "--json").out)
    root = next(n for n in view["nodes"] if n["id"] == view["root"])
    assert root["artifact"]["state"] == "gone"
    assert [n["id"] for n in view["nodes"] if n["downstream"] == 1] == [f"run:{chain['dpo']}"]
    assert [n["id"] for n in view["nodes"] if n["upstream"] == 1] == [f"run:{chain['sft']}"]


def test_lineage_ends_on_cycles(tracker_dir: Path, cli: Cli) -> None:
    """A run that resumed from its own checkpoint, and two runs that each used the
    other's: the lineage ends, each run and version shown once, the closing edge kept.
    (Checkpoints on s3: linked by uri, with no hashing to wait for.)"""
    ckpt_a, ckpt_b = "s3://bucket/a/checkpoint-1", "s3://bucket/b/checkpoint-1"
    with CustomTracker("cycle", "a") as a:
        a.log_artifact(ckpt_a)
        a.use_artifact(ckpt_a, kind="checkpoint")  # resumed from its own
    with CustomTracker("cycle", "b") as b:
        b.use_artifact(ckpt_a, kind="checkpoint")
        b.log_artifact(ckpt_b)
    with CustomTracker("cycle", "a", run_id=a.run_id) as again:
        again.use_artifact(ckpt_b, kind="checkpoint")
    view = json.loads(cli("lineage", "a", "--json").out)
    ids = [n["id"] for n in view["nodes"]]
    me, version_a, version_b = f"run:{a.run_id}", f"version:uri:{ckpt_a}", f"version:uri:{ckpt_b}"
    assert sorted(ids) == sorted([me, f"run:{b.run_id}", version_a, version_b])
    edges = {(e["from"], e["to"], e["kind"]) for e in view["edges"]}
    assert {(me, version_a, "produced"), (version_a, me, "used"), (version_b, me, "used")} <= edges
    text = cli("lineage", "a", "--color", "never")
    assert text.code == 0 and len(_rows(text.out, "came from")) == 3


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
    assert [a["from"] for a in lineage["inputs"]] == [[chain["sft"]]]
    assert set(lineage["names"].values()) == {"sft", "dpo", "evaluate"}
    near = dispatch(store, f"/api/runs/{chain['dpo']}/lineage", {"depth": ["2"]})
    assert set(near["names"].values()) == {"sft", "dpo", "evaluate"} and near["depth"] == 2
    assert len(dispatch(store, f"/api/runs/{chain['dpo']}/lineage", {"depth": ["1"]})["nodes"]) == 3
