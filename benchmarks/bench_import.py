"""``tracker import`` against reading the same data with each tool's own reader.

    python benchmarks/bench_import.py [--points N] [--sources tensorboard,mlflow,...]

In the ``import`` environment. For each source, the real library writes one run of
``--points`` points (10 metrics a step) into a temporary folder; then, each in a fresh
process (so each peak RSS is its own):

* **read**: the tool's own reader goes over every point (TensorBoard's
  ``EventFileLoader``, ``MlflowClient.get_metric_history``, W&B's ``Record`` protobufs
  over the record log, Trackio's tables with its ``deserialize_values``), keeping a sum;
* **import**: ``tracker import`` of the same run into a new SQLite store.

Each pair is run ``--repeat`` times, alternating, and the best of each is printed side by
side: points/s, import time over read time, and peak RSS (VmHWM). Both sides read every
point's step, value and time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYS = 10
SOURCES = ("tensorboard", "mlflow", "wandb", "trackio")


def generate(tool: str, where: Path, steps: int) -> str:
    """Write one run of ``steps`` steps of ``KEYS`` metrics; the location to import."""
    keys = [f"m{k}" for k in range(KEYS)]
    if tool == "tensorboard":
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(where / "tb" / "run"), max_queue=10_000)
        for step in range(steps):
            for k, key in enumerate(keys):
                writer.add_scalar(key, step * 0.001 + k, step)
        writer.close()
        return str(where / "tb")
    if tool == "mlflow":
        import mlflow
        from mlflow.entities import Metric

        uri = f"sqlite:///{where}/mlflow.db"
        client = mlflow.MlflowClient(uri)
        exp = client.create_experiment("bench")
        run = client.create_run(exp)
        now = int(time.time() * 1000)
        batch: list[Metric] = []
        for step in range(steps):
            for k, key in enumerate(keys):
                batch.append(Metric(key, step * 0.001 + k, now + step, step))
            if len(batch) >= 1000:
                client.log_batch(run.info.run_id, metrics=batch)
                batch = []
        if batch:
            client.log_batch(run.info.run_id, metrics=batch)
        client.set_terminated(run.info.run_id)
        return uri
    if tool == "wandb":
        import wandb

        run = wandb.init(project="bench", dir=str(where), mode="offline")
        for step in range(steps):
            run.log({key: step * 0.001 + k for k, key in enumerate(keys)}, step=step)
        run.finish()
        return str(where / "wandb")
    if tool == "trackio":
        os.environ["TRACKIO_DIR"] = str(where / "trackio")
        import trackio

        trackio.init(project="bench", name="run")
        for step in range(steps):
            trackio.log({key: step * 0.001 + k for k, key in enumerate(keys)}, step=step)
        trackio.finish()
        return str(where / "trackio")
    raise ValueError(tool)


def read(tool: str, location: str) -> int:
    """Go over every point with the tool's own reader; the number of points."""
    n = 0
    total = 0.0
    if tool == "tensorboard":
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        for path in sorted(Path(location).rglob("*tfevents*")):
            for event in EventFileLoader(str(path)).Load():
                for value in event.summary.value:
                    if value.metadata.plugin_data.plugin_name == "scalars":
                        total += value.tensor.float_val[0] + event.step + event.wall_time
                        n += 1
    elif tool == "mlflow":
        from mlflow import MlflowClient

        client = MlflowClient(location)
        for exp in client.search_experiments():
            for run in client.search_runs([exp.experiment_id]):
                for key in run.data.metrics:
                    for m in client.get_metric_history(run.info.run_id, key):
                        total += m.value + m.step + m.timestamp
                        n += 1
    elif tool == "wandb":
        from wandb.proto.wandb_internal_pb2 import Record

        from tracker.importers.wandb import read_records

        for path in sorted(Path(location).rglob("*.wandb")):
            with path.open("rb") as handle:
                for data in read_records(handle):
                    record = Record.FromString(data)
                    if record.WhichOneof("record_type") == "history":
                        for item in record.history.item:  # _step and _timestamp too
                            key = item.key or "/".join(item.nested_key)
                            total += json.loads(item.value_json)
                            n += not key.startswith("_")
    elif tool == "trackio":
        import sqlite3
        from datetime import datetime

        from trackio.utils import deserialize_values

        for path in sorted(Path(location).glob("*.db")):
            conn = sqlite3.connect(path)
            for step, stamp, text in conn.execute(
                "SELECT step, timestamp, metrics FROM metrics ORDER BY id"
            ):
                at = datetime.fromisoformat(stamp).timestamp()
                for value in deserialize_values(json.loads(text)).values():
                    total += value + step + at
                    n += 1
    return n


def child(mode: str, tool: str, location: str, store: str) -> None:
    """One measurement in this process: print JSON of points, seconds, peak RSS."""
    start = time.perf_counter()
    if mode == "read":
        n = read(tool, location)
    else:
        from tracker.importers import load_source
        from tracker.importers.core import ImportOptions, import_runs
        from tracker.store.registry import open_store

        target = open_store(store)
        report = import_runs(
            load_source(tool).discover(location), target, ImportOptions(keep_names=True)
        )
        target.close()
        n = report.points
    seconds = time.perf_counter() - start
    print(json.dumps({"points": n, "seconds": seconds, "rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ``ru_maxrss``, not inherited
    from the parent across ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(mode: str, tool: str, location: str, store: str) -> dict[str, float]:
    """`child` in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, tool, location, store],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    """Generate, read, import, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "TOOL", "LOCATION", "STORE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", MLFLOW_DISABLE_TELEMETRY="true")
    print(
        f"{'source':<12} {'points':>10} {'read pts/s':>12} {'import pts/s':>13} "
        f"{'import/read':>12} {'read RSS':>9} {'import RSS':>11}"
    )
    for tool in args.sources.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            where = Path(tmp)
            location = generate(tool, where, args.points // KEYS)
            store = f"sqlite:///{where}/tracker.db"
            reads, imports = [], []
            for _ in range(args.repeat):  # alternated, best of each: the machine is shared
                reads.append(measure("read", tool, location, store))
                Path(store.removeprefix("sqlite:///")).unlink(missing_ok=True)
                imports.append(measure("import", tool, location, store))
            r = min(reads, key=lambda m: m["seconds"])
            i = min(imports, key=lambda m: m["seconds"])
            print(
                f"{tool:<12} {int(i['points']):>10,} {r['points'] / r['seconds']:>12,.0f} "
                f"{i['points'] / i['seconds']:>13,.0f} {i['seconds'] / r['seconds']:>12.2f} "
                f"{r['rss_mb']:>7.0f}MB {i['rss_mb']:>9.0f}MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
