"""Processes that end without finish(): what the store shows afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tracker import lifecycle
from tracker.store import Store

SCRIPT = """
import os, sys, time
from tracker import CustomTracker
run = CustomTracker(project="life", run_name=sys.argv[1]).start()
for step in range(200):
    run.log_metrics({{"train/loss": 1.0 / (step + 1)}}, step=step)
print("logged", flush=True)
{ending}
"""


def _spawn(tracker_dir: Path, name: str, ending: str, **env: str) -> subprocess.Popen[str]:
    code = SCRIPT.format(ending=textwrap.dedent(ending))
    environ = {**os.environ, "TRACKER_DIR": str(tracker_dir), "TRACKER_SYSTEM_INTERVAL": "0", **env}
    return subprocess.Popen(
        [sys.executable, "-c", code, name], env=environ, stdout=subprocess.PIPE, text=True
    )


def _run(tracker_dir: Path, name: str, ending: str) -> int:
    process = _spawn(tracker_dir, name, ending)
    process.communicate(timeout=60)
    return process.returncode


def _only(store: Store, name: str):  # type: ignore[no-untyped-def]
    runs = [r for r in store.runs(project="life") if r.name == name]
    assert len(runs) == 1
    return runs[0]


def test_normal_exit_without_finish_is_finished(tracker_dir: Path, store: Store) -> None:
    """A script that forgets finish() still flushes everything and ends as finished."""
    assert _run(tracker_dir, "plain", "") == 0
    run = _only(store, "plain")
    assert run.status == "finished"
    assert len(store.history(run.run_id, "train/loss")) == 200


def test_uncaught_exception_is_failed_with_the_error(tracker_dir: Path, store: Store) -> None:
    """An exception that ends the program marks the run failed, with type and message."""
    assert _run(tracker_dir, "boom", "raise RuntimeError('CUDA out of memory')") == 1
    run = _only(store, "boom")
    assert run.status == "failed"
    assert "RuntimeError: CUDA out of memory" in run.error
    assert len(store.history(run.run_id, "train/loss")) == 200


WITH = "with CustomTracker(project='life', run_name='{name}'):\n    {call}"


@pytest.mark.parametrize(
    ("name", "ending", "code", "status"),
    [
        ("exit-1", "sys.exit(1)", 1, "failed"),
        ("exit-message", "sys.exit('no data found')", 1, "failed"),
        ("exit-0", "sys.exit(0)", 0, "finished"),
        ("with-exit-0", WITH.format(name="with-exit-0", call="sys.exit()"), 0, "finished"),
        ("with-exit-2", WITH.format(name="with-exit-2", call="sys.exit(2)"), 2, "failed"),
    ],
)
def test_sys_exit_is_judged_by_its_code(
    tracker_dir: Path, store: Store, name: str, ending: str, code: int, status: str
) -> None:
    """sys.exit with a non-zero code or a message fails the run; sys.exit(0) finishes it,
    at the program's end as at the end of a `with` block."""
    assert _run(tracker_dir, name, ending) == code
    runs = [r for r in store.runs(project="life") if r.name == name]  # with: the inner run too
    assert len(runs) == (2 if name.startswith("with") else 1)
    for run in runs:
        assert run.status == status
        assert ("SystemExit" in (run.error or "")) is (status == "failed")


def test_keyboard_interrupt_is_interrupted(tracker_dir: Path, store: Store) -> None:
    """Ctrl-C (KeyboardInterrupt) ends the run as interrupted."""
    _run(tracker_dir, "ctrl-c", "raise KeyboardInterrupt")
    assert _only(store, "ctrl-c").status == "interrupted"


def test_sigterm_is_interrupted_and_flushed(tracker_dir: Path, store: Store) -> None:
    """SIGTERM (torchrun stopping a worker, a scheduler's preemption) flushes and records
    interrupted, and the process still dies of SIGTERM."""
    process = _spawn(tracker_dir, "term", "time.sleep(60)")
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "logged"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGTERM
    run = _only(store, "term")
    assert run.status == "interrupted" and "SIGTERM" in run.error
    assert len(store.history(run.run_id, "train/loss")) == 200


# The main thread waits in native code that a signal does not interrupt, as in a hung
# all-reduce (tests/system/test_sigterm_collective.py blocks in a real one).
BLOCK = """
import ctypes
libc = ctypes.CDLL(None)
mutex, cond = ctypes.create_string_buffer(64), ctypes.create_string_buffer(64)
libc.pthread_mutex_lock(mutex)
print("blocking", flush=True)
libc.pthread_cond_wait(cond, mutex)
"""
needs_pthread = pytest.mark.skipif(sys.platform != "linux", reason="blocks through glibc")
# longer than the watcher's grace: had it acted, the process would be gone by then
PAST_GRACE_S = 3 * lifecycle.SIGTERM_GRACE_S


@needs_pthread
def test_sigterm_ends_a_main_thread_blocked_in_native_code(tracker_dir: Path, store: Store) -> None:
    """SIGTERM while the main thread waits in native code: another thread flushes and
    records interrupted, and the process still dies of SIGTERM."""
    process = _spawn(tracker_dir, "blocked", BLOCK)
    assert process.stdout is not None
    assert [process.stdout.readline().strip() for _ in range(2)] == ["logged", "blocking"]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGTERM
    run = _only(store, "blocked")
    assert run.status == "interrupted" and run.error.startswith("SIGTERM")
    assert len(store.history(run.run_id, "train/loss")) == 200


@needs_pthread
def test_a_handler_set_after_the_run_decides_alone(tracker_dir: Path, store: Store) -> None:
    """The program replaced tracker's SIGTERM handler: with the main thread blocked, the
    watcher leaves the process and its run alone, as it would be without tracker."""
    ending = "import signal\nsignal.signal(signal.SIGTERM, lambda *_: None)\n" + BLOCK
    process = _spawn(tracker_dir, "own-later", ending)
    assert process.stdout is not None
    assert [process.stdout.readline().strip() for _ in range(2)] == ["logged", "blocking"]
    process.send_signal(signal.SIGTERM)
    time.sleep(PAST_GRACE_S)
    alive = process.poll() is None
    process.kill()
    process.wait(timeout=30)
    assert alive
    assert _only(store, "own-later").status == "running"


def test_the_programs_own_handler_is_chained(tracker_dir: Path, store: Store) -> None:
    """A SIGTERM handler set before the run still runs after tracker's, and the program
    ends as it decides (here: gracefully, exit 0)."""
    code = textwrap.dedent(
        """
        import signal, time
        from tracker import CustomTracker
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
        run = CustomTracker(project="life", run_name="own").start()
        print("ready", flush=True)
        while not stop:
            time.sleep(0.01)
        print("stopping gracefully", flush=True)
        """
    )
    environ = {**os.environ, "TRACKER_DIR": str(tracker_dir), "TRACKER_SYSTEM_INTERVAL": "0"}
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=environ, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert (process.returncode, out.strip()) == (0, "stopping gracefully")
    assert _only(store, "own").status == "interrupted"


def test_a_forked_childs_sigterm_leaves_the_parent_alone(tracker_dir: Path, store: Store) -> None:
    """A forked child (a DataLoader worker) killed by SIGTERM right after the fork: the
    parent's watcher never hears of it, and the parent's run ends as the parent does."""
    ending = f"""
import signal
child = os.fork()
if child == 0:
    time.sleep(60)
    os._exit(0)
os.kill(child, signal.SIGTERM)
assert os.waitpid(child, 0)[1] == signal.SIGTERM
time.sleep({PAST_GRACE_S})
print("alive", flush=True)
"""
    process = _spawn(tracker_dir, "forked", ending)
    out, _ = process.communicate(timeout=60)
    assert (process.returncode, out.split()) == (0, ["logged", "alive"])
    assert _only(store, "forked").status == "finished"


def test_a_wakeup_fd_set_by_someone_else_is_left_alone(tracker_dir: Path) -> None:
    """A program that set the signal wakeup fd itself (asyncio does) keeps it."""
    code = textwrap.dedent(
        """
        import signal, socket
        from tracker import CustomTracker
        ours, _ = socket.socketpair()
        ours.setblocking(False)
        signal.set_wakeup_fd(ours.fileno())
        with CustomTracker(project="life"):
            print(signal.set_wakeup_fd(-1) == ours.fileno())
        """
    )
    environ = {**os.environ, "TRACKER_DIR": str(tracker_dir), "TRACKER_SYSTEM_INTERVAL": "0"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr


class _SlowRun:
    """A run whose ending takes a while, counting how often it was ended."""

    def __init__(self) -> None:
        self.ended = 0

    def _end_from_hook(self, status: str, error: str | None) -> None:
        time.sleep(0.2)
        self.ended += 1

    def _forget_after_fork(self) -> None:
        """Not forked here."""


def test_two_hooks_at_once_end_a_run_once() -> None:
    """The SIGTERM handler and the watcher (or any two hooks) ending at the same time: the
    run is ended once, and the one that comes second returns only once it is ended."""
    run = _SlowRun()
    lifecycle.register(run, handle_signals=False)
    seen: list[int] = []

    def end() -> None:
        lifecycle._end_all("interrupted", "SIGTERM")
        seen.append(run.ended)

    threads = [threading.Thread(target=end) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert seen == [1, 1]


def test_sigkill_shows_as_crashed_once_the_heartbeat_is_stale(
    tracker_dir: Path, store: Store
) -> None:
    """A process killed with SIGKILL loses at most the last flush interval and reads as crashed."""
    process = _spawn(
        tracker_dir,
        "killed",
        "time.sleep(60)",
        TRACKER_HEARTBEAT_INTERVAL="0.1",
        TRACKER_FLUSH_INTERVAL="0.1",
    )
    assert process.stdout is not None
    process.stdout.readline()
    time.sleep(0.5)  # more than one flush interval
    process.kill()
    process.wait(timeout=30)
    run = _only(store, "killed")
    assert len(store.history(run.run_id, "train/loss")) == 200
    deadline = time.time() + 15
    while run.status != "crashed" and time.time() < deadline:
        time.sleep(0.5)
        run = _only(store, "killed")
    assert run.status == "crashed"
    assert store.runs(project="life", status="crashed")[0].run_id == run.run_id


@pytest.mark.parametrize("processes", [4])
def test_several_processes_write_one_store_at_once(
    tracker_dir: Path, store: Store, processes: int
) -> None:
    """Runs in several processes write the same SQLite file concurrently; every point lands."""
    code = textwrap.dedent(
        """
        import sys
        from tracker import CustomTracker
        with CustomTracker(project="many", run_name=sys.argv[1]) as run:
            for step in range(5000):
                run.log_metrics({"a": step, "b": -step}, step=step)
                if step % 1000 == 0:
                    run.log_config({f"at{step}": step})
        """
    )
    environ = {
        **os.environ,
        "TRACKER_DIR": str(tracker_dir),
        "TRACKER_SYSTEM_INTERVAL": "0",
        "TRACKER_FLUSH_INTERVAL": "0.01",
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", code, f"w{i}"], env=environ)
        for i in range(processes)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0] * processes
    runs = store.runs(project="many")
    assert sorted(r.name for r in runs) == [f"w{i}" for i in range(processes)]
    for run in runs:
        assert run.status == "finished"
        assert [s for s, _, _ in store.history(run.run_id, "a")] == list(range(5000))
        assert [v for _, v, _ in store.history(run.run_id, "b")] == [-s for s in range(5000)]
        assert len(run.config) == 5
