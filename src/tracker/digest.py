"""The content digest of a file or folder, and the hashing helper process that computes it.

The digest (`digest_path`): ``sha256:`` and the SHA-256 of a manifest with one line per
regular file, in byte order of relative path: the file's own SHA-256, its size and its
relative path (its bytes as the file system has them, so names that are not UTF-8 hash
exactly). A single file has the empty relative path: renaming it keeps its digest. The
manifest is hashed as it is made, never held; one folder's names are held while it is
read, and one `BUFFER` of file bytes. The folder is looked at again after reading (names,
sizes, modification times, inodes): any difference means it changed under the reader.

This module imports the standard library only: run as a file (``python -I -S digest.py
PARENT_PID``, as `tracker.hasher` starts it) it is the hashing helper (`serve`), a process
that shares no GIL with the training and never imports ``tracker``, torch or anything of
the training's environment. Its wire: one JSON line per path on stdin (`request`), one
JSON line per answer on stdout (`answer`): the digest, or the error and whether the path
changed while it was read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import select
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from typing import NamedTuple

__all__ = [
    "BUFFER",
    "READY",
    "ArtifactError",
    "Changed",
    "Digest",
    "Stopped",
    "answer",
    "digest_path",
    "reply",
    "request",
    "serve",
]

BUFFER = 1 << 20
"""Bytes read at once while hashing (1 MiB: past this the rate no longer grows)."""
READY = b"ready"
"""The helper's first line: it is running and its imports are done."""
IDLE_CHECK = 1.0
"""Seconds between two looks, while the helper waits for a path, at whether the process
that started it is still its parent."""
_LOWEST_NICE = 19


class ArtifactError(Exception):
    """Why a path could not be hashed (the message says it for a person)."""


class Changed(ArtifactError):
    """The path changed while it was read."""


class Stopped(Exception):
    """Hashing was cut short: the run is ending."""


class Digest(NamedTuple):
    """A path's content digest, its total size in bytes and its number of files."""

    digest: str
    size: int
    files: int


def digest_path(path: str | os.PathLike[str], stop: Callable[[], bool] | None = None) -> Digest:
    """The `Digest` of a file or folder (rules in this module's docstring); `ArtifactError`
    when it does not exist, cannot be read, loops, or changed while read."""
    root = os.fspath(path)
    try:
        top = os.stat(root)
    except OSError as exc:
        raise ArtifactError(_why(exc, root)) from None
    manifest = hashlib.sha256()
    look = hashlib.sha256()  # what the folder looked like: compared with a second look
    buffer = bytearray(BUFFER)
    size = files = 0
    for rel, full, info in _files(root, top):
        file_hash, n = _hash_file(full, info, buffer, stop)
        manifest.update(b"%s %d %d:%s\n" % (file_hash, n, len(rel), rel))
        look.update(_signature(rel, info))
        size += n
        files += 1
    again = hashlib.sha256()
    try:
        for rel, _, info in _files(root, os.stat(root)):
            again.update(_signature(rel, info))
    except ArtifactError as exc:
        raise Changed(f"changed while being hashed ({exc})") from None
    except OSError as exc:
        raise Changed(f"changed while being hashed ({_why(exc, root)})") from None
    if again.digest() != look.digest():
        raise Changed("changed while being hashed (files added, removed or rewritten)")
    return Digest(f"sha256:{manifest.hexdigest()}", size, files)


def _signature(rel: bytes, info: os.stat_result) -> bytes:
    return b"%d:%s %d %d %d\n" % (len(rel), rel, info.st_size, info.st_mtime_ns, info.st_ino)


def _files(root: str, top: os.stat_result) -> Iterator[tuple[bytes, str, os.stat_result]]:
    """``(relative path as bytes, path, stat)`` of each regular file, in byte order of
    relative path; symlinks followed, a loop an `ArtifactError`."""
    if not stat.S_ISDIR(top.st_mode):
        if stat.S_ISREG(top.st_mode):
            yield b"", root, top
        return
    yield from _walk(root, b"", {(top.st_dev, top.st_ino)})


def _walk(
    folder: str, prefix: bytes, ancestors: set[tuple[int, int]]
) -> Iterator[tuple[bytes, str, os.stat_result]]:
    try:
        names = sorted(os.fsencode(name) for name in os.listdir(folder))
    except OSError as exc:
        if prefix and _removed(exc, folder):
            raise Changed(f"changed while being hashed ({folder!r} was removed)") from None
        raise ArtifactError(_why(exc, folder)) from None
    for name in names:
        full = os.path.join(folder, os.fsdecode(name))
        rel = prefix + name
        try:
            info = os.stat(full)
        except OSError as exc:
            if _removed(exc, full):
                raise Changed(f"changed while being hashed ({full!r} was removed)") from None
            raise ArtifactError(_why(exc, full)) from None
        if stat.S_ISDIR(info.st_mode):
            node = (info.st_dev, info.st_ino)
            if node in ancestors:
                raise ArtifactError(f"symlink loop at {os.fsdecode(rel)!r}")
            yield from _walk(full, rel + b"/", ancestors | {node})
        elif stat.S_ISREG(info.st_mode):  # sockets, pipes, devices: not content
            yield rel, full, info


def _removed(exc: OSError, path: str) -> bool:
    """Whether ``exc`` says a name that was listed is gone now (a deletion under way, as a
    checkpoint rotation's), not a symlink that points nowhere."""
    return isinstance(exc, FileNotFoundError) and not os.path.lexists(path)


def _hash_file(
    path: str, info: os.stat_result, buffer: bytearray, stop: Callable[[], bool] | None
) -> tuple[bytes, int]:
    """The file's SHA-256 (hex, as bytes) and its size; `Changed` if it changed while read."""
    view = memoryview(buffer)
    digest = hashlib.sha256()
    total = 0
    try:
        with open(path, "rb", buffering=0) as handle:
            before = os.fstat(handle.fileno())
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while n := handle.readinto(view):
                digest.update(view[:n])  # releases the GIL: training goes on meanwhile
                total += n
                if stop is not None and stop():
                    raise Stopped
            after = os.fstat(handle.fileno())
    except OSError as exc:
        if _removed(exc, path):
            raise Changed(f"changed while being hashed ({path!r} was removed)") from None
        raise ArtifactError(_why(exc, path)) from None
    if (
        (before.st_size, before.st_mtime_ns, before.st_ino)
        != (after.st_size, after.st_mtime_ns, after.st_ino)
        or total != after.st_size
        or (info.st_size, info.st_ino) != (after.st_size, after.st_ino)
    ):
        raise Changed(f"changed while being hashed ({os.fsdecode(path)!r} was rewritten)")
    return digest.hexdigest().encode(), total


def _why(exc: OSError, path: str | bytes) -> str:
    shown = repr(os.fsdecode(path))
    if isinstance(exc, FileNotFoundError):
        return f"{shown} does not exist"
    if isinstance(exc, PermissionError):
        return f"permission denied reading {shown}"
    if exc.errno == errno.ELOOP:
        return f"symlink loop at {shown}"
    return f"cannot read {shown}: {exc.strerror or exc}"


def request(path: str) -> bytes:
    """The line that asks the helper for ``path``'s digest (a name that is not UTF-8
    travels as its escapes)."""
    return json.dumps({"path": path}).encode() + b"\n"


def answer(path: str, stop: Callable[[], bool]) -> bytes:
    """The helper's line for ``path``: its digest, or its error (`Stopped` propagates)."""
    try:
        found = digest_path(path, stop)
    except ArtifactError as exc:
        return json.dumps({"error": str(exc), "changed": isinstance(exc, Changed)}).encode() + b"\n"
    return json.dumps(found._asdict()).encode() + b"\n"


def reply(line: bytes) -> Digest:
    """The `Digest` an `answer` line carries, or the `ArtifactError` (`Changed`) it says."""
    found = json.loads(line)
    if "error" in found:
        raise (Changed if found["changed"] else ArtifactError)(found["error"])
    return Digest(found["digest"], found["size"], found["files"])


def serve(parent: int) -> None:
    """The helper's loop: answer each path read on stdin, until stdin ends or the process
    ``parent`` is no longer this one's parent (it ended, even by SIGKILL: looked at every
    `IDLE_CHECK` seconds while waiting, after each `BUFFER` read while hashing)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the training's to handle
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, _LOWEST_NICE)  # the training's cores come first

    def orphaned() -> bool:
        return os.getppid() != parent

    inbox, outbox = sys.stdin.fileno(), sys.stdout.fileno()
    _send(outbox, READY + b"\n")
    pending = b""
    while not orphaned():
        if b"\n" not in pending:
            if select.select([inbox], [], [], IDLE_CHECK)[0]:
                chunk = os.read(inbox, 1 << 16)
                if not chunk:
                    return  # the training closed the pipe: it ended
                pending += chunk
            continue
        line, pending = pending.split(b"\n", 1)
        try:
            _send(outbox, answer(json.loads(line)["path"], orphaned))
        except Stopped:
            return


def _send(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    serve(int(sys.argv[1]))
