"""``tracker run -- COMMAND`` with commands that import no framework: the run it records,
exit codes and signals passed through, and the import hook that travels with the command.
The frameworks under it are tested in their own environments (tests/integrations/*)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

from tracked_commands import TRACKER_RUN, command_env, only_run, start_tracker_run, tracker_run
from tracker import Store, open_store
from tracker.autoattach import SITE_DIR
from tracker.commands.run import ending
from workers import default_sigint

PY = sys.executable

# logs a step every 20 ms until it is stopped, with a run of its own making: `tracker run`
# hands it the run's id; it says when its first steps are stored
LOGGING_FOREVER = textwrap.dedent(
    """
    import pathlib, sys, time
    from tracker import CustomTracker

    run = CustomTracker(framework="script").start()
    for step in range(100_000):
        run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
        if step == 3:
            run.flush()
            pathlib.Path(sys.argv[1]).write_text("ready")
        time.sleep(0.02)
    """
)


def test_a_command_that_imports_no_framework_is_one_run(tracker_dir: Path, store: Store) -> None:
    """Options make the run's project, name and tags; the command, untouched, sees no tracker."""
    code = "import sys; print('tracker' in sys.modules, any('autoattach' in p for p in sys.path))"
    options = ["--project", "p", "--name", "n", "--tag", "b", "--tag", "a"]
    done = tracker_run(PY, "-c", code, tracker_dir=tracker_dir, options=options)
    assert done.stdout == "False False\n"
    run = only_run(store)
    assert (run.project, run.name, run.tags, run.status) == ("p", "n", ["a", "b"], "finished")
    assert (run.error, run.framework, store.keys(run.run_id)) == (None, None, [])
    assert run.summary["command/exit_code"] == 0
    assert run.summary["command/line"][-3:] == [PY, "-c", code]
    assert run.environment["command"][-3:] == [PY, "-c", code]
    assert store.events(run.run_id) == []
    assert f"finished run n ({run.run_id})" in done.stderr


def test_a_failing_command_is_recorded_failed_with_its_code(
    tracker_dir: Path, store: Store
) -> None:
    """Exit code 3 is tracker run's exit code too, and the run failed with it."""
    tracker_run(PY, "-c", "import sys; sys.exit(3)", tracker_dir=tracker_dir, returncode=3)
    run = only_run(store)
    assert (run.status, run.error) == ("failed", "the command exited with code 3")
    assert run.summary["command/exit_code"] == 3


def test_a_run_the_command_finished_is_failed_by_its_exit_code(
    tracker_dir: Path, tmp_path: Path
) -> None:
    """A process that finished its run and then exits with 3 leaves one run, failed, in the
    store --store names (a plain file)."""
    code = "import sys, tracker\nwith tracker.CustomTracker() as run: run.log_metrics({'a': 1})\n"
    options = ["--store", str(tmp_path / "other.db")]
    tracker_run(
        PY, "-c", code + "sys.exit(3)", tracker_dir=tracker_dir, options=options, returncode=3
    )
    assert not (tracker_dir / "tracker.db").exists()
    store = open_store(str(tmp_path / "other.db"))
    run = only_run(store)
    assert (run.status, run.error) == ("failed", "the command exited with code 3")
    assert store.keys(run.run_id) == ["a"]
    assert store.events(run.run_id) == []  # the command's outcome is no resume
    store.close()


def test_sigterm_reaches_every_process_and_interrupts_the_run(
    tracker_dir: Path, store: Store, tmp_path: Path
) -> None:
    """SIGTERM to tracker run reaches a grandchild, whose run is interrupted; tracker run
    dies by it too."""
    ready = tmp_path / "ready"
    launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
    proc = start_tracker_run(
        PY, "-c", launcher, PY, "-c", LOGGING_FOREVER, ready,
        tracker_dir=tracker_dir, output=tmp_path / "out.log",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.returncode
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == -signal.SIGTERM, (tmp_path / "out.log").read_text()
    finally:
        proc.kill()
    run = only_run(store)
    assert (run.status, run.framework) == ("interrupted", "script")
    assert run.error is not None and "SIGTERM" in run.error
    assert run.summary["command/exit_code"] == 128 + signal.SIGTERM
    assert len(store.history(run.run_id, "train/loss")) >= 4


def test_a_signal_ignored_stays_ignored_for_the_command(tracker_dir: Path) -> None:
    """Under nohup (SIGHUP ignored) the command ignores SIGHUP too, as it would alone."""
    code = "import signal; print(signal.getsignal(signal.SIGHUP) == signal.SIG_IGN)"
    done = subprocess.run(
        ["nohup", *TRACKER_RUN, "--", PY, "-c", code],
        env=command_env(tracker_dir), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout == "True\n"


def test_the_hook_runs_the_users_own_sitecustomize(tracker_dir: Path, tmp_path: Path) -> None:
    """A sitecustomize already on PYTHONPATH still runs, once, under tracker run."""
    (tmp_path / "sitecustomize.py").write_text("import builtins\nbuiltins.MINE = 'ran'\n")
    done = tracker_run(
        PY, "-c", "import sitecustomize; print(MINE, sitecustomize.__file__)",
        tracker_dir=tracker_dir, env={"PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert done.stdout == f"ran {tmp_path / 'sitecustomize.py'}\n"


def test_a_hook_that_cannot_attach_warns_once_and_changes_nothing(
    tracker_dir: Path, store: Store, tmp_path: Path
) -> None:
    """A transformers tracker cannot work with: one warning, the program runs and exits as it
    would alone."""
    fake = tmp_path / "transformers"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "trainer.py").write_text("class Trainer:\n    def __init__(self, n): self.n = n\n")
    code = "from transformers.trainer import Trainer\nprint(Trainer(1).n + Trainer(2).n)\nexit(5)"
    done = tracker_run(
        PY, "-c", code, tracker_dir=tracker_dir, env={"PYTHONPATH": str(tmp_path)}, returncode=5
    )
    assert done.stdout == "3\n"
    assert done.stderr.count("tracker run: could not attach to transformers' Trainer") == 1
    assert only_run(store).status == "failed"


def test_tracker_disabled_runs_the_command_alone(tracker_dir: Path) -> None:
    """With TRACKER_DISABLED=1 the command runs without the hook and nothing is recorded."""
    done = tracker_run(
        PY, "-c", "import sys; print(len(sys.meta_path)); sys.exit(4)",
        tracker_dir=tracker_dir, env={"TRACKER_DISABLED": "1"}, returncode=4,
    )  # fmt: skip
    alone = subprocess.run(
        [PY, "-c", "import sys; print(len(sys.meta_path))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == alone.stdout
    assert not (tracker_dir / "tracker.db").exists()


def test_a_missing_command_exits_127(tracker_dir: Path) -> None:
    """A command that does not exist is what a shell says (127), and no run."""
    done = tracker_run("no-such-command-xyz", tracker_dir=tracker_dir, returncode=127)
    assert "tracker run: error: command not found: no-such-command-xyz" in done.stderr
    assert not (tracker_dir / "tracker.db").exists()


@pytest.mark.parametrize(
    ("returncode", "passed", "status"),
    [
        (0, None, "finished"),
        (1, None, "failed"),
        (-signal.SIGKILL, None, "failed"),
        (-signal.SIGINT, None, "interrupted"),
        (0, signal.SIGTERM, "interrupted"),
        (0, signal.SIGUSR1, "finished"),
        (2, signal.SIGUSR1, "failed"),
    ],
)
def test_ending_status(returncode: int, passed: int | None, status: str) -> None:
    """A stopping signal interrupts; any other non-zero end fails."""
    assert ending(returncode, passed)[0] == status


def test_the_hook_imports_nothing_at_start_up() -> None:
    """A process under the hook has loaded no module more than alone, but the hook itself
    (what keeps its start-up cost a fraction of a millisecond: docs/benchmarks.md)."""
    code = "import sys; print(' '.join(sorted(sys.modules)))"
    loaded = {}
    for hooked in (False, True):
        env = command_env(Path("unused"), {"PYTHONPATH": str(SITE_DIR)} if hooked else {})
        if not hooked:
            env.pop("PYTHONPATH", None)
        done = subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True, check=True)
        loaded[hooked] = set(done.stdout.split())
    assert loaded[True] - loaded[False] == {"sitecustomize"}


def test_the_hook_folder_holds_only_sitecustomize() -> None:
    """Nothing but sitecustomize is put on the command's sys.path, so nothing is shadowed."""
    assert sorted(p.name for p in SITE_DIR.iterdir() if p.name != "__pycache__") == [
        "sitecustomize.py"
    ]


def test_in_a_terminal_the_command_reads_it_and_gets_its_ctrl_c(
    tracker_dir: Path, store: Store
) -> None:
    """In the foreground of a terminal the command reads it as it would alone, Ctrl-C
    reaches it from the terminal itself, and the run is interrupted."""
    code = "import time; print('got', input(), flush=True); time.sleep(120)"
    leader, follower = pty.openpty()

    # a session of its own whose controlling terminal is the pty, tracker run in its
    # foreground (the ioctl is one system call, safe between fork and exec), with Ctrl-C's
    # default disposition as a terminal's foreground job has it
    def in_the_terminal() -> None:
        default_sigint()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [*TRACKER_RUN, "--", PY, "-c", code],
        stdin=follower, stdout=follower, stderr=follower, env=command_env(tracker_dir),
        start_new_session=True, preexec_fn=in_the_terminal,  # noqa: PLW1509
    )  # fmt: skip
    os.close(follower)
    try:
        os.write(leader, b"hello\n")
        assert "got hello" in read_until(leader, "got hello")
        os.write(leader, b"\x03")  # Ctrl-C
        assert proc.wait(60) == -signal.SIGINT
    finally:
        proc.kill()
        os.close(leader)
    run = only_run(store)
    assert (run.status, run.summary["command/exit_code"]) == ("interrupted", 128 + signal.SIGINT)


def read_until(fd: int, text: str, timeout: float = 60) -> str:
    """What the terminal shows until ``text`` appears in it."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            seen += os.read(fd, 1024).decode(errors="replace")
    return seen
