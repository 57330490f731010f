"""``tracker run [--project P] [--name N] [--tag T]... [--store URI] -- COMMAND...``: track
a training command without touching its code.

1. The run's id is made here (or taken from ``TRACKER_RUN_ID``) and handed to the command
   in its environment, with the options as ``TRACKER_*`` settings and the import hook of
   `tracker.autoattach` first on ``PYTHONPATH``. The process of global rank 0 that builds
   a ``Trainer``, an ``Accelerator`` or a torchtune metric logger creates the run.
2. The command runs in a child process (`Command`) that receives the signals sent to
   ``tracker run``.
3. When it has ended, its exit code and outcome are recorded on the run (`record`), which
   is created here if no process of the command attached (a command that imports no
   framework is a run with its command line, exit code and status, and no metrics).
   ``tracker run`` then exits with the command's code, or dies by the signal that ended it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any

from tracker.autoattach import SITE_DIR, compile_hook
from tracker.commands.app import CommandError, Context
from tracker.distributed import process_info
from tracker.environment import capture
from tracker.ids import new_run_id, new_run_name
from tracker.records import RunRecord, RunStatus
from tracker.settings import TrackerSettings
from tracker.store.base import Backend, RunNotFoundError, Store
from tracker.store.registry import open_backend

NAME = "run"
HELP = "run a training command, tracked: tracker run [options] -- COMMAND..."

log = logging.getLogger("tracker")

EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
_TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)
_PASSED_SIGNALS = (*_TERMINAL_SIGNALS, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
_STOPPING = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}
_POLL_S = 0.05  # how often the rest of the command's process group is looked for


def configure(parser: argparse.ArgumentParser) -> None:
    """The run's options, then the command."""
    parser.add_argument("--project", help="the run's project (default: TRACKER_PROJECT)")
    parser.add_argument("--name", help="the run's name (default: the framework's, or generated)")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="a tag of the run (repeatable)"
    )
    parser.add_argument(
        "--store",
        metavar="URI",
        help="store to write: a URI (sqlite:///f.db, jsonl:///dir) or an SQLite file "
        "(default: TRACKER_URI, else $TRACKER_DIR/tracker.db)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    parser.set_defaults(color="never")


def run(ctx: Context) -> int:
    """Run the command with the hook, record how it ended, pass its exit status on."""
    args = ctx.args
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not argv:
        raise CommandError("no command to run: tracker run [options] -- COMMAND...")
    given = {"project": args.project, "run_name": args.name, "tags": args.tag or None}
    given["uri"] = [_as_uri(args.store)] if args.store else None
    options = {key: value for key, value in given.items() if value is not None}
    settings = TrackerSettings(**options)
    run_id = settings.run_id or new_run_id()
    started_at = time.time()
    try:  # TRACKER_DISABLED=1: the command alone, as without tracker
        command = Command(argv, None if settings.disabled else command_env(options, run_id))
    except CommandNotRunnable as exc:
        print(f"tracker run: error: {exc}", file=sys.stderr)
        return exc.code
    returncode = command.wait()
    if not settings.disabled and process_info(settings).is_main:  # node 0's launcher records
        try:
            record(settings, run_id, started_at, returncode, command)
        except Exception as exc:  # the command has run: its exit status goes on regardless
            log.warning("tracker run: could not record run %s: %s", run_id, exc)
    return _exit_like(returncode)


def _as_uri(store: str) -> str:
    """``--store`` as a URI for the command: a plain path is an SQLite file."""
    return store if "://" in store else f"sqlite:///{os.path.abspath(store)}"


def command_env(options: dict[str, Any], run_id: str) -> dict[str, str]:
    """The command's environment: ours, the hook first on ``PYTHONPATH``, the run's id and
    the settings given as options (which so win over the ones it has)."""
    compile_hook()
    env = dict(os.environ)  # passed on whole, as a shell would; read here for no setting
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), env.get("PYTHONPATH")) if p)
    env["TRACKER_RUN_ID"] = run_id
    for key, value in options.items():  # the variables TrackerSettings reads them from
        env[f"TRACKER_{key.upper()}"] = ",".join(value) if isinstance(value, list) else value
    return env


class Command:
    """The command as a child process that gets the signals sent to us.

    In a terminal's foreground the command shares our process group, so the terminal's
    own signals (Ctrl-C, Ctrl-\\, hang-up) and job control (Ctrl-Z) reach it directly
    and it reads the terminal as it would alone; SIGTERM, SIGUSR1 and SIGUSR2 sent to
    ``tracker run`` are passed on to it. Elsewhere (a scheduler, a script, CI) it runs in
    a process group of its own, and every one of those signals sent to ``tracker run``
    goes to that whole group: all the command's processes, as a scheduler's signal would.
    """

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None) -> None:
        self.signal: int | None = None  # the last signal passed on (or sent by the terminal)
        self._pid: int | None = None
        self._foreground = _terminal_foreground()
        previous = {  # an ignored signal (nohup, a background job) stays ignored, for both
            sig: signal.signal(sig, self._pass_on)
            for sig in _PASSED_SIGNALS
            if signal.getsignal(sig) != signal.SIG_IGN
        }
        try:
            self._process = subprocess.Popen(
                list(argv), env=env, process_group=None if self._foreground else 0
            )
        except FileNotFoundError:
            _restore(previous)
            raise CommandNotRunnable(EXIT_NOT_FOUND, f"command not found: {argv[0]}") from None
        except PermissionError:
            _restore(previous)
            raise CommandNotRunnable(EXIT_NOT_EXECUTABLE, f"not executable: {argv[0]}") from None
        self._pid = self._process.pid
        self._previous = previous
        if self.signal is not None:  # it came while the process was being made
            self._send(self.signal)

    def wait(self) -> int:
        """Wait for the command; its return code (``-N``: ended by signal ``N``)."""
        try:
            return self._process.wait()
        finally:
            _restore(self._previous)

    def wait_for_the_rest(self, ended: Callable[[], bool], timeout: float) -> None:
        """Wait until the other processes of the command's group have ended too (a shell
        that was stopped leaves its children finishing their part of the run), or
        ``ended()`` says the run is over, at most ``timeout`` seconds."""
        if self._foreground:  # our own group: its processes cannot be told from ours
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not ended():
            try:
                os.killpg(self._process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(_POLL_S)

    def _pass_on(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum
        if self._pid is not None:
            self._send(signum)

    def _send(self, signum: int) -> None:
        assert self._pid is not None
        if self._foreground and signum in _TERMINAL_SIGNALS:
            return  # the terminal sent it to the command's processes too
        try:
            if self._foreground:
                os.kill(self._pid, signum)
            else:
                os.killpg(self._pid, signum)
        except ProcessLookupError:  # it has just ended
            pass


class CommandNotRunnable(Exception):
    """The command could not be started; ``code`` is the exit status a shell would give."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _terminal_foreground() -> bool:
    """Whether we run in the foreground of the terminal on stdin."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def _restore(previous: Mapping[signal.Signals, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _exit_like(returncode: int) -> int:
    """The exit status of the command; for one ended by a signal, die by it too."""
    if returncode >= 0:
        return returncode
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(-returncode, signal.SIG_DFL)
    os.kill(os.getpid(), -returncode)
    return 128 - returncode  # the signal is blocked or ignored: the shell's number for it


def ending(returncode: int, passed: int | None) -> tuple[str, str | None]:
    """The status and error of a command that ended with ``returncode`` after we passed
    it the signal ``passed`` (or ``None``): a stopping signal (SIGINT, SIGTERM, SIGHUP,
    SIGQUIT) makes it ``interrupted``, any other non-zero end ``failed``."""
    if passed in _STOPPING:
        return RunStatus.INTERRUPTED.value, f"{_name(passed)}: the command was asked to stop"
    if returncode < 0:
        killed = -returncode
        kind = RunStatus.INTERRUPTED if killed in _STOPPING else RunStatus.FAILED
        return kind.value, f"{_name(killed)}: the command was ended by a signal"
    if returncode > 0:
        return RunStatus.FAILED.value, f"the command exited with code {returncode}"
    return RunStatus.FINISHED.value, None


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def record(
    settings: TrackerSettings,
    run_id: str,
    started_at: float,
    returncode: int,
    command: Command,
) -> None:
    """Record the command's end on the run, creating the run if no process did; a store
    that fails is one warning."""
    backends = _open_backends(settings)
    command.wait_for_the_rest(lambda: _ended(backends, run_id), settings.finish_timeout)
    existing = _existing(backends, run_id)
    status, error = ending(returncode, command.signal)
    environment = capture(process_info(settings))
    summary = {
        "command/line": environment["command"],
        "command/exit_code": returncode if returncode >= 0 else 128 - returncode,
    }
    now = time.time()
    if existing is None:
        created = RunRecord(
            run_id=run_id,
            project=settings.project,
            name=settings.run_name or new_run_name(),
            status=status,
            tags=sorted(set(settings.tags)),
            environment=environment,
            error=error,
            started_at=started_at,
            ended_at=now,
            heartbeat_at=now,
        )
    replaced = existing is None or _replaces(existing.status, status)
    for uri, backend in backends:
        try:
            if existing is None:
                backend.start_run(created, resume=False)
            elif replaced:
                backend.finish_run(run_id, status, now, error)
            backend.log_summary(run_id, summary)
        except Exception as exc:  # one store failing does not stop the others
            log.warning("tracker run: could not record run %s in %s: %s", run_id, uri, exc)
        finally:
            backend.close()
    if existing is None:
        shown = f"{status} run {created.name} ({run_id}) (no process of the command attached)"
    else:
        shown = f"{status if replaced else existing.status} run {existing.name} ({run_id})"
    print(f"tracker run: {shown}", file=sys.stderr)


def _replaces(recorded: str, status: str) -> bool:
    """Whether the command's outcome replaces the status its processes recorded: it ends
    a run left running, and a failure or interruption overrides a finish."""
    if recorded == status:
        return False
    return recorded == RunStatus.RUNNING.value or status != RunStatus.FINISHED.value


def _open_backends(settings: TrackerSettings) -> list[tuple[str, Backend]]:
    opened = []
    for uri in settings.store_uris:
        try:
            opened.append((uri, open_backend(uri)))
        except Exception as exc:
            log.warning("tracker run: could not open the store %s: %s", uri, exc)
    return opened


def _ended(backends: list[tuple[str, Backend]], run_id: str) -> bool:
    existing = _existing(backends, run_id)
    return existing is not None and existing.status != RunStatus.RUNNING.value


def _existing(backends: list[tuple[str, Backend]], run_id: str) -> RunRecord | None:
    """The run as the first readable store holds it, if a process of the command made it."""
    for _uri, backend in backends:
        if isinstance(backend, Store):
            try:
                return backend.get_run(run_id)
            except RunNotFoundError:
                return None
    return None
