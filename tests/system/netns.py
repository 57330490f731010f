"""Hosts as Linux network namespaces, for tests of jobs that span machines.

`private_network` makes one namespace per host plus one for a switch: a bridge in the
switch's namespace, and a veth pair from each host to it (the host's end is ``eth0``,
with the address given). Every device and address is made inside those namespaces, never
in the one the tests run in, so nothing leaves them. When the block ends, passed or not,
every process still in a host's namespace is killed and the namespaces are deleted (which
deletes their devices). As root, with iproute2; `Unavailable` says why where it cannot be.

`Network.run` starts a command on a host with its own host name (a UTS namespace of its
own, as ``unshare --uts`` makes): a host is a network and a name, the file system is shared.
Names resolve as on a cluster with its own DNS: each namespace gets an ``/etc/hosts`` that
names every host, and no name server (``ip netns exec`` mounts ``/etc/netns/NAME/*`` over
``/etc``; those folders are removed with the namespaces). Without it, every lookup of a host
name waits for a name server that cannot be reached.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Network", "Unavailable", "private_network"]

PREFIX = 24
ETC_NETNS = Path("/etc/netns")


class Unavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, no iproute2, not permitted)."""


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


def _pids(netns: str) -> list[int]:
    done = subprocess.run(
        ["ip", "netns", "pids", netns], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in done.stdout.split()]


@dataclass
class Network:
    """Hosts by name (each a namespace with an address) and the switch's namespace."""

    switch: str
    switch_address: str
    namespaces: dict[str, str]
    addresses: dict[str, str]

    def run(
        self, host: str, command: list[str], *, env: Mapping[str, str], log: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` on ``host``, named ``host``, its output into ``log``."""
        named = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host]
        return subprocess.Popen(
            ["ip", "netns", "exec", self.namespaces[host], *named, *command],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, host: str) -> list[int]:
        """SIGKILL every process on ``host`` (as a machine that loses power); their pids."""
        return _kill_all(self.namespaces[host])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a killed child its parent has not reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _kill_all(netns: str) -> list[int]:
    pids = _pids(netns)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def _check() -> None:
    if os.geteuid() != 0:
        raise Unavailable("network namespaces need root (CI runs the tests as root)")
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        raise Unavailable("iproute2 or util-linux is missing: run scripts/multihost.sh")


@contextlib.contextmanager
def private_network(
    hosts: Mapping[str, str], *, switch_address: str, tag: str = ""
) -> Iterator[Network]:
    """Hosts (name -> address in ``switch_address``'s /24) on one switch, for the block."""
    _check()
    stem = f"trk{tag}{os.getpid()}"
    switch = f"{stem}-sw"
    try:
        _ip("netns", "add", switch)
    except RuntimeError as exc:
        raise Unavailable(f"ip netns is not permitted here ({exc})") from exc
    network = Network(switch, switch_address, {}, dict(hosts))
    names = "".join(f"{address} {host}\n" for host, address in hosts.items())
    try:
        _ip("link", "set", "lo", "up", netns=switch)
        _ip("link", "add", "br0", "type", "bridge", netns=switch)
        _ip("addr", "add", f"{switch_address}/{PREFIX}", "dev", "br0", netns=switch)
        _ip("link", "set", "br0", "up", netns=switch)
        for index, (host, address) in enumerate(hosts.items()):
            namespace = f"{stem}-{index}"
            _ip("netns", "add", namespace)
            network.namespaces[host] = namespace
            etc = ETC_NETNS / namespace
            etc.mkdir(parents=True)
            (etc / "hosts").write_text(f"127.0.0.1 localhost\n{names}")
            (etc / "resolv.conf").write_text("")
            port = f"port{index}"
            _ip("link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", switch,
                netns=namespace)  # fmt: skip
            _ip("link", "set", port, "master", "br0", "up", netns=switch)
            _ip("addr", "add", f"{address}/{PREFIX}", "dev", "eth0", netns=namespace)
            _ip("link", "set", "eth0", "up", netns=namespace)
            _ip("link", "set", "lo", "up", netns=namespace)
        yield network
    finally:  # a namespace lives on while a process is in it: none may be left
        for namespace in [*network.namespaces.values(), switch]:
            _kill_all(namespace)
            with contextlib.suppress(RuntimeError):
                _ip("netns", "delete", namespace)
            shutil.rmtree(ETC_NETNS / namespace, ignore_errors=True)
