"""A job on two hosts: torchrun across network namespaces, one PostgreSQL store reached over
that network.

Two hosts (``host-a``, ``host-b``: a network namespace and a host name each, tests/system/
netns.py) and the database's own namespace hang on one private switch. Each host runs one
node of ``torchrun --nnodes 2 --nproc_per_node 1`` (gloo on CPU, c10d rendezvous at host-a),
both with the same ``TRACKER_URI`` naming the server by its address on that network and no
``TRACKER_RUN_ID``: host-b learns the run id from rank 0 through torch.distributed's store.
The test reads the store back over the server's Unix socket, from outside the network.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("psycopg")

from netns import Network, private_network
from netns import Unavailable as NoNetwork

from pg_server import PostgresServer, throwaway_postgres
from pg_server import Unavailable as NoPostgres
from tracker import open_store
from tracker.cli import main
from tracker.store.base import Store
from tracker.views import node_states
from workers import worker_env

WORKER = Path(__file__).with_name("torchrun_worker.py")
DATABASE = "10.213.0.1"
HOSTS = {"host-a": "10.213.0.10", "host-b": "10.213.0.11"}
JOB_TIMEOUT_S = 150


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Network, PostgresServer]]:
    """The two hosts, and the PostgreSQL server in the switch's namespace."""
    try:
        with (
            private_network(HOSTS, switch_address=DATABASE) as network,
            throwaway_postgres(host=DATABASE, netns=network.switch) as server,
        ):
            yield network, server
    except (NoNetwork, NoPostgres) as exc:
        pytest.skip(f"no multi-host setup here: {exc}")


@pytest.fixture
def jobs(cluster: tuple[Network, PostgresServer], tmp_path: Path) -> Iterator[Callable[[int], Job]]:
    """Makes a `Job` of so many steps; what still runs of it is killed afterwards, passed
    or failed, so the next test's job finds its hosts idle."""
    made: list[Job] = []

    def make(steps: int) -> Job:
        made.append(Job(cluster, tmp_path, steps))
        return made[-1]

    yield make
    for job in made:
        job.stop()


class Job:
    """One torchrun job over the cluster: a node per host, each with its own log."""

    def __init__(self, cluster: tuple[Network, PostgresServer], folder: Path, steps: int) -> None:
        self.network, self.server = cluster
        self.server.truncate()
        self.folder = folder
        self.steps = steps
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, host: str, **env: str) -> None:
        """Start ``host``'s node: its torchrun agent and its one worker."""
        base = {k: v for k, v in worker_env().items() if k not in ("TRACKER_RUN_ID", "TRACKER_URI")}
        env = {
            **base,
            "TRACKER_URI": self.server.uri,  # the server's address on the private network
            "TRACKER_DIR": str(self.folder / host),  # a disk of its own, as a host has
            "TRACKER_SYSTEM_INTERVAL": "0.2",
            "REPORT_DIR": str(self.folder),
            "STEPS": str(self.steps),
            "OMP_NUM_THREADS": "1",
            "GLOO_SOCKET_IFNAME": "eth0",
            **env,
        }
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2"]
        command += ["--nproc_per_node", "1", "--max-restarts", "0", "--rdzv-backend", "c10d"]
        command += ["--rdzv-endpoint", f"{HOSTS['host-a']}:29400", "--rdzv-id", "job"]
        command += ["--rdzv-conf", f"is_host={int(host == 'host-a')}"]
        command += ["--local-addr", HOSTS[host], str(WORKER)]
        with (self.folder / f"{host}.log").open("wb") as log:
            self.nodes[host] = self.network.run(host, command, env=env, log=log)

    def stop(self) -> None:
        """Kill whatever still runs on the job's hosts and reap it."""
        for host, node in self.nodes.items():
            self.network.kill(host)
            node.wait(30)

    def logs(self) -> str:
        """Every node's output, for a failure's message."""
        return "\n".join(
            f"--- {host}\n{(self.folder / f'{host}.log').read_text(errors='replace')[-4000:]}"
            for host in self.nodes
        )

    def wait(self, host: str) -> int:
        """Wait for ``host``'s torchrun to end; its exit status."""
        try:
            return self.nodes[host].wait(JOB_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{host}'s node did not end in {JOB_TIMEOUT_S} s\n{self.logs()}")

    def report(self, rank: int) -> dict[str, object]:
        """What rank ``rank`` reported (tests/system/torchrun_worker.py)."""
        report: dict[str, object] = json.loads((self.folder / f"rank{rank}.json").read_text())
        return report

    def until(self, what: str, done: Callable[[], bool], *, hosts: Iterable[str] = HOSTS) -> None:
        """Wait for ``done()`` to be true while the nodes of ``hosts`` run."""
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while not done():
            ended = {h: self.nodes[h].poll() for h in hosts if self.nodes[h].poll() is not None}
            if ended or time.monotonic() > deadline:
                pytest.fail(f"waiting for {what}: nodes ended {ended}\n{self.logs()}")
            time.sleep(0.2)


def reader(server: PostgresServer) -> Store:
    """The store, read from the test's own namespace (over the server's Unix socket)."""
    return open_store(server.socket_uri_of())


def points(store: Store, run_id: str, key: str) -> int:
    """How many points of ``key`` the run holds (0 before it has any)."""
    stats = store.metric_stats(run_id).get(key)
    return 0 if stats is None else stats.count


@pytest.mark.slow
def test_two_hosts_write_one_run_a_node_starting_late(jobs: Callable[[int], Job]) -> None:
    """host-b's node starts 3 s after host-a's: the job still makes one run, its training
    metrics once (rank 0's), each host's system metrics under its host name, host-b's
    found by the run id it learnt over the network; host-b left the run when it ended."""
    job = jobs(40)
    job.start("host-a")
    time.sleep(3)  # the late node: rendezvous waits for it
    job.start("host-b")
    for host in HOSTS:
        assert job.wait(host) == 0, job.logs()
    run_id = str(job.report(0)["run_id"])
    assert job.report(1)["run_id"] is None  # rank 1 has no run of its own, nor an id given
    store = reader(job.server)
    [run] = store.runs()
    assert (run.run_id, run.status) == (run_id, "finished")
    assert len(store.history(run_id, "train/loss", raw=True)) == job.report(0)["steps"] == 40
    keys = store.keys(run_id)
    assert points(store, run_id, "system/host-a/cpu/percent") >= 2
    assert points(store, run_id, "system/host-b/cpu/percent") >= 2
    assert not [key for key in keys if key.startswith("system/cpu/")]
    [node] = node_states(run, store.events(run_id), store.metric_stats(run_id))
    assert (node["node"], node["rank"], node["state"]) == ("host-b", 1, "left")


@pytest.mark.slow
def test_a_node_killed_mid_run_is_shown_silent(
    jobs: Callable[[int], Job], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every process of host-b is SIGKILLed while the job trains: rank 0's all-reduce
    fails, it finishes the run, and the run keeps what host-b delivered before it died
    and says host-b (named by TRACKER_NODE_NAME) went silent; `tracker show` says so."""
    job = jobs(100_000)
    job.start("host-a")
    job.start("host-b", TRACKER_NODE_NAME="gpu-node-b")
    store = reader(job.server)
    run_ids: list[str] = []

    def training_and_sampled() -> bool:
        run_ids[:] = [r.run_id for r in store.runs()]
        return bool(run_ids) and (
            points(store, run_ids[0], "system/gpu-node-b/cpu/percent") >= 3
            and points(store, run_ids[0], "train/loss") >= 10
        )

    job.until("host-b's samples and rank 0's steps in the store", training_and_sampled)
    delivered = points(store, run_ids[0], "system/gpu-node-b/cpu/percent")
    killed_at = time.time()
    assert job.network.kill("host-b")
    job.until(
        "rank 0's report after the lost peer",
        (tmp_path / "rank0.json").exists,
        hosts=["host-a"],
    )
    job.network.kill("host-a")  # its agent would wait 300 s at the exit barrier for host-b's
    report = job.report(0)
    assert report["peer_lost"] is True
    [run] = store.runs()
    assert run.status == "finished"
    assert len(store.history(run.run_id, "train/loss", raw=True)) == report["steps"]
    assert points(store, run.run_id, "system/gpu-node-b/cpu/percent") >= delivered
    assert points(store, run.run_id, "system/host-a/cpu/percent") >= 2
    [node] = node_states(run, store.events(run.run_id), store.metric_stats(run.run_id))
    assert (node["node"], node["state"], node["left_at"]) == ("gpu-node-b", "silent", None)
    assert node["last_seen"] <= killed_at
    assert main(["show", run.run_id, "--store", job.server.socket_uri_of("tracker")]) == 0
    shown = capsys.readouterr().out
    assert "gpu-node-b" in shown and "silent" in shown
