"""The hashing helper process: its priority, its imports, its end with the training, and
the fallback to hashing in the training's process."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker import CustomTracker, TrackerSettings, open_store
from tracker import digest as digest_module
from tracker import hasher as hasher_module
from tracker.artifacts import digest_path
from tracker.hasher import shared_hasher

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="reads the helper's state in Linux's /proc"
)


@pytest.fixture
def fresh_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's hasher starts afresh for this test, and its helper ends after it."""
    monkeypatch.setattr(hasher_module, "_shared", None)
    yield
    shared_hasher().close()


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk (reading it still takes time)."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def _reading(name: str, deadline: float = 20) -> int:
    """The process's hashing helper's pid, once it has a file called ``name`` open."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        pid = shared_hasher().pid
        if pid is not None and _opened(pid, name):
            return pid
        time.sleep(0.005)
    raise AssertionError(f"the hashing helper never opened {name!r}")


def _opened(pid: int, name: str) -> bool:
    with contextlib.suppress(OSError):  # a file may be closed as it is listed
        return any(os.readlink(fd).endswith(f"/{name}") for fd in Path(f"/proc/{pid}/fd").iterdir())
    return False


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _ends_within(pid: int, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while _running(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_the_helper_hashes_at_nice_19_and_the_training_keeps_its_priority(
    tmp_path: Path,
) -> None:
    """While a big file is hashed, the helper is a child process at nice 19; the
    training process's nice value and scheduling policy are what they were."""
    big = _sparse(tmp_path / "big.bin", 8 << 30)
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    run = CustomTracker("p", store=f"sqlite:///{tmp_path}/t.db",
                        settings=TrackerSettings(finish_timeout=1))  # fmt: skip
    with run:
        run.log_artifact(big, kind="model")
        helper = _reading("big.bin")
        assert os.getpriority(os.PRIO_PROCESS, helper) == 19
        assert Path(f"/proc/{helper}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(
            os.getpid()
        )
        assert os.sched_getscheduler(0) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, 0) == nice


def test_the_helper_imports_neither_tracker_nor_the_trainings_packages() -> None:
    """Started as the recorder starts it, the helper imports the standard library only
    (no site, no tracker, numpy or torch), says it is ready, and ends with its stdin."""
    helper = subprocess.Popen(
        [sys.executable, "-I", "-S", "-X", "importtime", digest_module.__file__, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(hasher_module.__file__).parents[1])},
    )
    out, err = helper.communicate(timeout=30)
    assert (helper.returncode, out) == (0, b"ready\n")
    imported = {line.rsplit("|", 1)[1].strip() for line in err.decode().splitlines()[1:]}
    assert {"hashlib", "json", "select"} <= imported
    heavy = {n for n in imported if n.split(".")[0] in ("site", "tracker", "numpy", "torch")}
    assert not heavy, heavy


_TRAINING = """
import os, signal, sys, time
from tracker import CustomTracker
from tracker.hasher import shared_hasher

mode, uri, path = sys.argv[1:4]
run = CustomTracker("p", store=uri).start()
if mode == "hashing":
    run.log_artifact(path, kind="model")
else:
    shared_hasher().digest(path, lambda: False)  # done: the helper waits for the next path
while shared_hasher().pid is None:
    time.sleep(0.01)
pids = [shared_hasher().pid]
if mode == "forked":  # a forked worker (a DataLoader's) keeps the helper's stdin open
    worker = os.fork()
    if worker == 0:
        signal.pause()
        os._exit(0)
    pids.append(worker)
print(*pids, flush=True)
signal.pause()
"""


@pytest.mark.parametrize("mode", ["idle", "hashing", "forked"])
def test_a_training_killed_by_sigkill_leaves_no_helper_behind(tmp_path: Path, mode: str) -> None:
    """SIGKILL the training while its helper waits for a path (its stdin ends), while it
    hashes a big file, or while a forked worker keeps its stdin open (its parent is gone):
    the helper ends within a few seconds."""
    path = _sparse(tmp_path / "big.bin", 8 << 30) if mode == "hashing" else tmp_path / "w"
    if mode != "hashing":
        path.write_bytes(b"weights")
    training = subprocess.Popen(
        [sys.executable, "-c", _TRAINING, mode, f"sqlite:///{tmp_path}/t.db", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert training.stdout is not None
    pids = [int(p) for p in training.stdout.readline().split()]
    try:
        assert pids, "the training script printed no helper pid"
        helper = pids[0]
        assert _running(helper)
        if mode == "hashing":
            end = time.monotonic() + 20
            while not _opened(helper, "big.bin"):
                assert time.monotonic() < end, "the helper never opened big.bin"
                time.sleep(0.005)
        training.kill()
        training.wait()
        assert _ends_within(helper, 5), f"the helper outlived the training ({mode})"
    finally:
        training.kill()
        training.wait()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_without_a_helper_digests_are_computed_in_process_with_one_warning(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fresh_hasher: None,
) -> None:
    """No interpreter at sys.executable (a restricted environment): one warning, and
    every version of two runs is recorded with its digest all the same."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    folders = [tmp_path / f"checkpoint-{i}" for i in range(3)]
    for i, folder in enumerate(folders):
        folder.mkdir()
        (folder / "w.bin").write_bytes(b"%d" % i)
    uri = f"sqlite:///{tmp_path}/t.db"
    with caplog.at_level(logging.WARNING, "tracker"):
        for batch in (folders[:2], folders[2:]):
            with CustomTracker("p", store=uri) as run:
                for folder in batch:
                    run.log_artifact(folder)
    store = open_store(uri)
    saved = [a for r in store.runs() for a in store.artifacts(run_id=r.run_id)]
    store.close()
    assert sorted((a.uri, a.digest, a.state) for a in saved) == [
        (str(f), digest_path(f).digest, "present") for f in folders
    ]
    warnings = [r.getMessage() for r in caplog.records if "hashing helper" in r.getMessage()]
    assert len(warnings) == 1 and "no-python" in warnings[0], warnings


def test_a_helper_killed_while_hashing_is_replaced_by_in_process_hashing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fresh_hasher: None
) -> None:
    """The helper killed mid-file (the OOM killer, a user): one warning saying so, and
    the version still gets its digest, computed in the training's process."""
    big = _sparse(tmp_path / "big.bin", 1 << 30)
    uri = f"sqlite:///{tmp_path}/t.db"
    with caplog.at_level(logging.WARNING, "tracker"), CustomTracker("p", store=uri) as run:
        run.log_artifact(big, kind="model")
        os.kill(_reading("big.bin"), signal.SIGKILL)
    store = open_store(uri)
    (model,) = store.artifacts(run_id=run.run_id)
    store.close()
    assert (model.state, model.digest, model.size) == ("present", digest_path(big).digest, 1 << 30)
    (warning,) = [r.getMessage() for r in caplog.records if "hashing helper" in r.getMessage()]
    assert "it ended" in warning and "-9" in warning, warning


def test_a_run_ended_mid_hash_ends_the_helper_and_the_next_run_starts_one(
    tmp_path: Path, fresh_hasher: None
) -> None:
    """At finish's deadline the helper hashing a big file is ended (the version
    ``unhashed``); the next run's checkpoint is hashed by a new helper."""
    big = _sparse(tmp_path / "big.bin", 64 << 30)
    uri = f"sqlite:///{tmp_path}/t.db"
    with CustomTracker("p", store=uri, settings=TrackerSettings(finish_timeout=1)) as first:
        first.log_artifact(big, kind="model")
        helper = _reading("big.bin")
    assert _ends_within(helper, 5)
    folder = tmp_path / "checkpoint-1"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"1")
    with CustomTracker("p", store=uri) as second:
        second.log_artifact(folder)
    assert shared_hasher().pid not in (None, helper)
    store = open_store(uri)
    found = [(a.state, a.digest) for r in (first, second) for a in store.artifacts(run_id=r.run_id)]
    store.close()
    assert found == [("unhashed", None), ("present", digest_path(folder).digest)]
