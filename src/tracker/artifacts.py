"""Artifacts: what a run produced or used, recorded by reference and content digest.

The rules, in the order a request meets them:

1. `CustomTracker.log_artifact` and ``use_artifact`` only queue an `ArtifactRequest` on
   the writer's channel (about a microsecond: the training thread never touches a file).
2. The writer takes it in order with the run's metric points, so it knows the run's
   latest value of every metric at that moment (``system/`` ones left out): those are
   the version's ``metrics`` unless the caller gave some. It hands the request to the
   run's `ArtifactRecorder`.
3. The recorder's one daemon thread has local paths hashed (`tracker.digest.digest_path`)
   by its `tracker.hasher.Hasher`, a helper process that shares no GIL with the training,
   and puts the finished `tracker.calls.LogArtifact` back on the channel: the artifact
   reaches every backend through the writer, as any call does.
4. What cannot be hashed never raises: a path that does not exist (an output; an input
   that is no local path is a reference, a hub id, recorded as given), a file it may not
   read, a symlink loop, a folder changed while it was read (tried `RETRIES` times) are
   each one warning, one ``artifact_error`` event, and the version recorded with state
   ``unreadable`` and the reason in ``meta["error"]``; one deleted before or while it was
   hashed (rotated away: a listed file that is no longer there is a change, and the
   folder is looked at again after a pause) is ``gone``. A wrong digest is never recorded.
5. A local path is recorded ``unhashed`` before it is hashed, and completed in place
   once its digest is done (`tracker.store.base.placeholder_ident`): a process killed
   meanwhile loses the digest, not the version. `finish` waits for pending digests
   (within ``finish_timeout``); what is not hashed by then stays ``unhashed``.

The digest's rules are `tracker.digest`'s.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracker.calls import Call, LogArtifact, LogEvaluations, LogEvent
from tracker.digest import ArtifactError, Changed, Digest, Stopped, digest_path
from tracker.hasher import Hasher, shared_hasher
from tracker.records import Artifact, ArtifactState, Evaluation, Event
from tracker.store.registry import redact_uri
from tracker.values import clean_text

__all__ = [
    "RETRIES",
    "ArtifactChange",
    "ArtifactError",
    "ArtifactRecorder",
    "ArtifactRequest",
    "ArtifactWork",
    "CheckGone",
    "Digest",
    "Evaluated",
    "FolderWatch",
    "LookAtWatches",
    "MarkBest",
    "MarkGone",
    "WatchFolder",
    "dataset_title",
    "digest_path",
    "local_path",
    "stored_path",
]

log = logging.getLogger("tracker")

RETRIES = 3
"""Times a folder that changed while it was hashed is hashed again before giving up."""
RETRY_PAUSE = 0.1
"""Seconds before the first hash again (then twice that): a rewrite or a deletion (a
rotation's ``rmtree``) under way ends first."""
_VERSION_SUFFIX = re.compile(r"-\d+$")
_ESCAPED_BYTE = re.compile(r"\\udc([89a-f][0-9a-f])")


def _stamp_slack() -> float:
    """Seconds a file's change time may trail the true moment of a write: file systems
    stamp it from the kernel's coarse clock, at most one tick behind (on Linux that clock's
    resolution, ``CLOCK_REALTIME_COARSE``: 1 to 10 ms); 10 ms where it cannot be asked."""
    if sys.platform != "linux":
        return 0.01
    try:  # Python names no CLOCK_REALTIME_COARSE; Linux numbers it 5 (linux/time.h)
        return time.clock_getres(getattr(time, "CLOCK_REALTIME_COARSE", 5))
    except (OSError, AttributeError):
        return 0.01


STAMP_SLACK = _stamp_slack()
"""Seconds a file's change time may trail the true moment of a write (`_stamp_slack`). Not
more: a point logged that long after a folder's first change came after its save, and a
fast training step (a tiny model's: ~10 ms, save included) is logged soon after."""


def local_path(ref: str) -> Path | None:
    """The local path ``ref`` names (``file://`` included), or ``None`` for a reference
    with another scheme (``s3://``, ``hf://``)."""
    if ref.startswith("file://"):
        return Path(ref[len("file://") :])
    if "://" in ref:
        return None
    return Path(ref).expanduser()


def stored_path(uri: str) -> Path | None:
    """The local path a stored ``uri`` names (`local_path`), where a name's byte that is
    not UTF-8, stored as its ``\\udcXX`` escape (`tracker.values.clean_text`), is that
    byte again: what `tracker artifacts verify` and a rotation check look at."""
    if "\\udc" in uri:
        uri = _ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m[1], 16)), uri)
    return local_path(uri)


class ArtifactRequest:
    """One ``log_artifact``/``use_artifact`` call on its way to the recorder. A local
    ``ref`` is made absolute when the call is made; ``existed`` says whether it was there
    then."""

    __slots__ = (  # noqa: RUF023 (field order)
        "ref", "direction", "kind", "name", "step", "metrics", "best", "meta", "at", "existed",
    )  # fmt: skip

    def __init__(
        self,
        ref: str,
        direction: str,
        kind: str,
        *,
        at: float,
        name: str | None = None,
        step: int | None = None,
        metrics: dict[str, float] | None = None,
        best: bool = False,
        meta: dict[str, Any] | None = None,
        existed: bool = False,
    ) -> None:
        self.ref = ref
        self.existed = existed
        self.direction = direction
        self.kind = kind
        self.name = name
        self.step = step
        self.metrics = metrics
        self.best = best
        self.meta = meta
        self.at = at

    def __repr__(self) -> str:
        return f"{self.direction} {self.kind} {self.ref!r}"


class MarkGone:
    """The files of the version this process logged at ``ref`` were deleted (the record
    stays, state ``gone``)."""

    __slots__ = ("ref",)

    def __init__(self, ref: str) -> None:
        self.ref = ref


class MarkBest:
    """The version this process logged at ``ref`` is the one to ship (one per run and
    kind)."""

    __slots__ = ("ref",)

    def __init__(self, ref: str) -> None:
        self.ref = ref


class Evaluated:
    """Scores of the version at ``ref`` (an evaluation, `tracker.evaluations`): recorded
    once the requests before it are, with the digest of the version this process used
    at ``ref`` where the scores carry none (``ref`` ``""``: a version not known)."""

    __slots__ = ("evaluations", "ref")

    def __init__(self, ref: str, evaluations: list[Evaluation]) -> None:
        self.ref = ref
        self.evaluations = evaluations


class CheckGone:
    """Every local output this process logged whose path is missing is ``gone``."""

    __slots__ = ()


class WatchFolder:
    """Kept by the writer: log each subfolder of ``folder`` whose name matches
    ``pattern``, written after ``at``, as a version of ``kind`` (a `FolderWatch`)."""

    __slots__ = ("at", "folder", "kind", "pattern")

    def __init__(self, folder: str, pattern: str, kind: str, at: float) -> None:
        self.folder = folder
        self.pattern = pattern
        self.kind = kind
        self.at = at


class LookAtWatches:
    """Kept by the writer: the run ends; what the watches found is logged."""

    __slots__ = ()


ArtifactChange = MarkGone | MarkBest | CheckGone | Evaluated
"""A change of the versions this process logged, applied by the recorder in order."""
ArtifactWork = ArtifactRequest | ArtifactChange | WatchFolder | LookAtWatches
"""What a run puts on its writer's channel about artifacts."""


class ArtifactRecorder:
    """Has a run's artifact requests hashed by ``hasher`` (the process's helper by default),
    one at a time on one daemon thread (started on the first request), and puts the
    finished calls on the run's channel."""

    def __init__(
        self,
        run_id: str,
        put: Callable[[Call], None],
        redact: Callable[[Any], Any],
        hasher: Hasher | None = None,
    ):
        self._run_id = run_id
        self._hasher = hasher or shared_hasher()
        self._put = put
        self._redact = redact
        self._queue: deque[ArtifactRequest | ArtifactChange] = deque()
        self._ready = threading.Condition()
        self._busy = 0  # requests queued or being handled
        self._stopping = False  # the run ends: record what is left unhashed
        self._thread: threading.Thread | None = None
        self._logged: dict[str, Artifact] = {}  # this process's versions by uri, the latest

    def submit(self, request: ArtifactRequest | ArtifactChange) -> None:
        """Queue ``request`` (from the writer thread)."""
        with self._ready:
            self._queue.append(request)
            self._busy += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="tracker-artifacts", daemon=True
                )
                self._thread.start()
            self._ready.notify()

    def settle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every request to be recorded; past that,
        what is left is recorded ``unhashed`` (a moment more). Whether all were hashed."""
        with self._ready:
            done = self._ready.wait_for(lambda: self._busy == 0, max(0.0, timeout))
            if not done:
                self._stopping = True
                self._hasher.wake()
                self._ready.wait_for(lambda: self._busy == 0, 1.0)
            return done

    def _text(self, text: str) -> str:
        """A name as records hold it: storable text (a folder name that is not UTF-8
        keeps its bytes as ``\\udcXX`` escapes), secret shapes hidden."""
        return str(self._redact(clean_text(text)))

    def _uri(self, text: str) -> str:
        """A uri as records hold it: storable text, password and secret shapes hidden."""
        return str(self._redact(redact_uri(clean_text(text))))

    def _loop(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: bool(self._queue))
                request = self._queue.popleft()
            try:
                self._handle(request)
            except Exception:  # a bug of ours: never the training's problem
                log.exception("tracker: recording artifact %r failed", request)
            finally:
                with self._ready:
                    self._busy -= 1
                    self._ready.notify_all()

    def _handle(self, request: ArtifactRequest | ArtifactChange) -> None:
        if isinstance(request, CheckGone):
            self._check()
        elif isinstance(request, Evaluated):
            self._evaluated(request)
        elif isinstance(request, MarkGone | MarkBest):
            self._mark(request)
        else:
            self._record(request)

    def _record(self, request: ArtifactRequest) -> None:
        path = local_path(request.ref)
        local = path is not None and (request.existed or request.direction == "output")
        artifact = Artifact(
            self._run_id,
            self._text(request.name or _default_name(request.ref, path if local else None)),
            kind=request.kind,
            direction=request.direction,
            uri=self._uri(request.ref),
            step=request.step,
            metrics={self._text(k): v for k, v in (request.metrics or {}).items()},
            best=request.best,
            created_at=request.at,
            meta=self._redact(request.meta or {}),
        )
        if path is None or not local:
            artifact.state = ArtifactState.REMOTE.value  # a hub id, s3://, hf://: as given
        elif not request.existed:
            self._failed(request, f"{request.ref!r} does not exist")
            return
        else:  # recorded now, completed once hashed: a crash meanwhile loses only the digest
            self._put(LogArtifact(artifact.replace(state=ArtifactState.UNHASHED.value)))
            self._hash(artifact, os.fspath(path))
        if artifact.best:
            self._unmark_best(artifact)
        self._logged[artifact.uri] = artifact
        self._put(LogArtifact(artifact))

    def _hash(self, artifact: Artifact, path: str) -> None:
        for attempt in range(RETRIES):
            try:
                found = self._hasher.digest(path, stop=lambda: self._stopping)
            except Stopped:
                artifact.state = ArtifactState.UNHASHED.value
                return
            except Changed as exc:
                if attempt + 1 < RETRIES:
                    time.sleep(RETRY_PAUSE * (attempt + 1))  # let a rewrite or deletion end
                    continue
                self._unreadable(artifact, str(exc), path)
                return
            except ArtifactError as exc:
                self._unreadable(artifact, str(exc), path)
                return
            artifact.digest, artifact.size, artifact.files = found
            return

    def _unreadable(self, artifact: Artifact, why: str, path: str) -> None:
        if not os.path.lexists(path):  # deleted since the call (a rotation): no error
            artifact.state = ArtifactState.GONE.value
            artifact.meta = {**artifact.meta, "error": "deleted before it was hashed"}
            return
        artifact.state = ArtifactState.UNREADABLE.value
        artifact.meta = {**artifact.meta, "error": why}
        self._event(artifact.uri, artifact.kind, why, artifact.step)

    def _failed(self, request: ArtifactRequest, why: str) -> None:
        self._event(self._uri(request.ref), request.kind, why, request.step)

    def _event(self, uri: str, kind: str, why: str, step: int | None) -> None:
        log.warning("tracker: %s %s: %s (an artifact_error event records it)", kind, uri, why)
        payload = {"uri": uri, "kind": kind, "error": why}
        self._put(LogEvent(Event("artifact_error", time.time(), step, payload)))

    def _evaluated(self, request: Evaluated) -> None:
        uri = self._uri(request.ref) if request.ref else ""
        used = self._logged.get(uri)
        for evaluation in request.evaluations:
            evaluation.uri = evaluation.uri or uri
            evaluation.digest = evaluation.digest or (used.digest if used else None)
        self._put(LogEvaluations(request.evaluations))

    def _check(self) -> None:
        for uri, logged in list(self._logged.items()):
            path = None if logged.state != "present" else stored_path(uri)
            if path is not None and logged.direction == "output" and not path.exists():
                self._logged[uri] = gone = logged.replace(state=ArtifactState.GONE.value)
                self._put(LogArtifact(gone))

    def _mark(self, request: MarkGone | MarkBest) -> None:
        artifact = self._logged.get(self._uri(request.ref))
        if artifact is None:
            log.debug("tracker: %s was not logged by this process; not marked", request.ref)
            return
        if isinstance(request, MarkGone):
            artifact = artifact.replace(state=ArtifactState.GONE.value)
        elif artifact.best:
            return  # already the best: nothing changes
        else:
            artifact = artifact.replace(best=True)
            self._unmark_best(artifact)
        self._logged[artifact.uri] = artifact
        self._put(LogArtifact(artifact))

    def _unmark_best(self, artifact: Artifact) -> None:
        for uri, other in self._logged.items():
            if other.best and other.kind == artifact.kind and uri != artifact.uri:
                self._logged[uri] = other.replace(best=False)


def dataset_title(role: str, source: str | None, config: str | None, split: str | None) -> str:
    """A dataset input's name, as every list shows it: its role, its name with the config
    (``default`` left out) and its split, ``train: imdb/plain_text (train split)``; one
    built in memory, whose name nobody knows, ``eval: in-memory data (no split)``. The
    train and eval sets of a run are two names, never two versions of ``dataset``."""
    named = source or "in-memory data"
    if source and config and config != "default":
        named += f"/{config}"
    return f"{role}: {named} ({f'{split} split' if split else 'no split'})"


def _default_name(ref: str, path: Path | None) -> str:
    """A version's name when none is given: a folder's or file's name without a step
    suffix (``checkpoint-500`` is a version of ``checkpoint``); a reference as given."""
    if path is None:
        return ref
    return _VERSION_SUFFIX.sub("", path.absolute().name) or path.absolute().name or ref


class FolderWatch:
    """Subfolders of ``folder`` whose names match ``pattern``, written after ``since``:
    each a version of ``kind`` once complete (`CustomTracker.watch_artifacts`).

    Looked at by the writer thread as it takes the run's metric points. The training
    thread logs nothing while it saves, so a point logged after the folder's last change
    and after its first change (plus `STAMP_SLACK`, the file system clock's lag) came
    after the whole save: the folder was complete then, and is logged at the step of the
    point before. Change times (``st_ctime``), not modification times, which a copy may
    carry over from its source. Folders requested by name otherwise (``log_artifact``)
    are left to that request.
    """

    def __init__(self, folder: str, pattern: str, kind: str, since: float) -> None:
        self.folder = folder
        self.pattern = re.compile(pattern)
        self.kind = kind
        self.since = since
        self.done: set[str] = set()  # paths logged or requested otherwise

    def written(self) -> list[tuple[float, str]]:
        """``(time after which a point was logged once it was saved, path)`` of each new
        matching folder, oldest first."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return []
        found = []
        for name in names:
            path = os.path.join(self.folder, name)
            if path in self.done or not self.pattern.fullmatch(name) or not os.path.isdir(path):
                continue
            first, last = _changed(path)
            if last > self.since:
                found.append((max(last, first + STAMP_SLACK), path))
        return sorted(found)


def _changed(folder: str) -> tuple[float, float]:
    """The earliest and latest change times (Unix seconds) of ``folder`` and what it holds."""
    times = []
    for root, _, names in os.walk(folder):
        for name in [None, *names]:
            try:
                times.append(os.stat(root if name is None else os.path.join(root, name)).st_ctime)
            except OSError:
                continue
    return (min(times), max(times)) if times else (0.0, 0.0)
