"""One process logging one run to the store of TRACKER_URI, as a user's script does.

    python log_process.py NAME FIRST_STEP STEPS KEYS [--run-id ID] [--pause-after N --go FILE]
                          [--start-when FILE] [--own]

Logs ``STEPS`` steps from ``FIRST_STEP`` on, ``KEYS`` metrics each (``m0``, ``m1``, ...,
value = step); with ``--pause-after``, stops after that many steps until ``FILE`` exists.
With ``--start-when``, prints ``ready`` and starts the run only once ``FILE`` exists (a
barrier for processes that must start at the same moment); with ``--own``, also logs
``own/NAME``. Prints the run id and what `finish` reported unwritten and dropped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tracker import CustomTracker


def main() -> None:
    """Log the run the arguments describe."""
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("first", type=int)
    parser.add_argument("steps", type=int)
    parser.add_argument("keys", type=int)
    parser.add_argument("--run-id")
    parser.add_argument("--pause-after", type=int)
    parser.add_argument("--go", type=Path)
    parser.add_argument("--start-when", type=Path)
    parser.add_argument("--own", action="store_true")
    args = parser.parse_args()
    keys = [f"m{k}" for k in range(args.keys)] + ([f"own/{args.name}"] if args.own else [])
    run = CustomTracker(project="many", run_name=args.name, run_id=args.run_id)
    if args.start_when is not None:
        print("ready", flush=True)
        while not args.start_when.exists():
            time.sleep(0.0005)
    run.start()
    if args.start_when is not None:  # a race: what its report needs to be explained
        print(f"started_at {run.started_at!r}", file=sys.stderr, flush=True)
    for i in range(args.steps):
        if i == args.pause_after:
            assert args.go is not None
            while not args.go.exists():
                time.sleep(0.02)
        step = args.first + i
        run.log_metrics(dict.fromkeys(keys, float(step)), step=step)
    report = run.finish()
    assert report is not None
    print(run.run_id, flush=True)
    print(f"unwritten {report.unwritten_points} dropped {report.dropped_points}", flush=True)


if __name__ == "__main__":
    main()
