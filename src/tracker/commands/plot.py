"""``tracker plot RUN... --metric KEY``: a PNG of metrics without a browser (matplotlib)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tracker.commands.app import CommandError, Context, add_common_options

NAME = "plot"
HELP = "draw metrics of one or more runs to a PNG (needs matplotlib)"

_MAX_POINTS = 5_000  # per line; more are thinned with LTTB, which keeps the shape


def configure(parser: argparse.ArgumentParser) -> None:
    """Runs, metrics, axes and the output file."""
    add_common_options(parser)
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run ids, id prefixes or names")
    parser.add_argument(
        "--metric", action="append", required=True, help="metric to draw (repeatable)"
    )
    parser.add_argument("-o", "--output", type=Path, help="PNG to write (default: METRIC.png)")
    parser.add_argument("--x", choices=("step", "time"), default="step", help="x axis")
    parser.add_argument("--log", action="store_true", help="logarithmic y axis")
    parser.add_argument(
        "--smooth", type=float, default=0.0, help="exponential smoothing weight in [0, 1)"
    )


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'tracker[plot]'") from None
    matplotlib.use("Agg")  # draw to files only, never open a window
    import matplotlib.pyplot as plt

    return plt


def run(ctx: Context) -> int:
    """Draw each metric in its own panel, one line per run."""
    args = ctx.args
    if not 0.0 <= args.smooth < 1.0:
        raise CommandError("--smooth must be in [0, 1)")
    plt = _pyplot()
    from tracker.ui.downsample import read_curve

    runs = [ctx.resolve(ref) for ref in args.runs]
    output: Path = args.output or Path(args.metric[0].replace("/", "_") + ".png")
    figure, axes = plt.subplots(
        len(args.metric), 1, figsize=(8, 3.2 * len(args.metric)), squeeze=False
    )
    for axis, key in zip(axes[:, 0], args.metric, strict=True):
        drawn = 0
        for record in runs:
            curve = read_curve(ctx.store, record.run_id, key).thinned(_MAX_POINTS)
            if not len(curve.values):
                continue
            xs = curve.steps if args.x == "step" else curve.times - record.started_at
            axis.plot(xs, smooth(curve.values, args.smooth), label=_text(record.name))
            drawn += 1
        if not drawn:
            plt.close(figure)
            raise CommandError(f"none of the runs has points of metric {key!r}")
        axis.set_title(_text(key))
        axis.set_xlabel("step" if args.x == "step" else "seconds since start")
        axis.set_yscale("log" if args.log else "linear")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)
    print(f"wrote {output}", file=sys.stderr)
    return 0


def smooth(values: Any, weight: float) -> Any:
    """Exponential moving average with start-up bias removed (as TensorBoard draws it)."""
    if weight <= 0:
        return values
    import numpy as np

    out = np.empty_like(values)
    average, correction = 0.0, 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        correction = weight * correction + (1 - weight)
        out[i] = average / correction
    return out


def _text(label: str) -> str:
    """``label`` shown literally (a ``$`` would start matplotlib math)."""
    return label.replace("$", r"\$")
