"""LLaMA-Factory → tracker: ``tracker train``, which is ``llamafactory-cli train``, tracked.

``tracker train config.yaml [key=value ...]`` reads its arguments the way
``llamafactory-cli train`` does (a YAML or JSON file and OmegaConf ``key=value`` overrides,
or ``--key value`` options) and runs ``llamafactory.train.tuner.run_exp`` with a
`CustomTrackerCallback`. The run's config also holds LLaMA-Factory's own model, data,
fine-tuning and generation arguments. For several processes, start it with
``torchrun ... -m tracker.cli train ...``: ``FORCE_TORCHRUN`` relaunches LLaMA-Factory's
own launcher, without the callback; ``tracker run -- llamafactory-cli train ...``
(`tracker.autoattach.llamafactory`) tracks that launcher's processes.

Artifacts (docs/artifacts.md): besides what the Trainer's callback records (checkpoints,
the adapter or model saved, the base model), the config's ``dataset`` and
``eval_dataset`` names are the run's ``dataset`` inputs, each named as in the config and
found through ``dataset_info.json`` as LLaMA-Factory finds it: a ``file_name`` in
``dataset_dir`` is hashed (a changed file is a new version), a hub dataset is
``hf://datasets/ID`` (``ms://``, ``om://`` for ModelScope, Modelers), a script or cloud
file its path as written.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Unpack

from tracker.integrations import requires_extra
from tracker.integrations.transformers import CustomTrackerCallback
from tracker.run import CustomTracker, TrackerOptions

with requires_extra("llamafactory"):
    from llamafactory.data.parser import get_dataset_list
    from llamafactory.hparams import (
        DataArguments,
        FinetuningArguments,
        GeneratingArguments,
        ModelArguments,
        read_args,
    )
    from llamafactory.train.tuner import run_exp
    from transformers import HfArgumentParser

__all__ = [
    "GENERATIONS_FILE",
    "LlamaFactoryCallback",
    "callback_for",
    "main",
    "record_generations",
    "train",
]

GENERATIONS_FILE = "generated_predictions.jsonl"
"""What LLaMA-Factory's ``do_predict`` with ``predict_with_generate`` writes."""

log = logging.getLogger("tracker")

_HUBS = {"hf_hub": "hf://datasets/", "ms_hub": "ms://datasets/", "om_hub": "om://datasets/"}
_OWN_ARGUMENTS = {
    "model": ModelArguments,
    "data": DataArguments,
    "finetuning": FinetuningArguments,
    "generating": GeneratingArguments,
}


def main(argv: Sequence[str]) -> int:
    """``tracker train``: ``llamafactory-cli train``'s arguments, tracked."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    train(read_cli_args(argv))
    return 0


def train(args: dict[str, Any] | list[str]) -> None:
    """Run LLaMA-Factory's ``run_exp`` on ``args`` with a tracking callback; the
    generations of ``do_predict`` become the run's table ``predict/generations``."""
    callback = callback_for(args)
    run_exp(args, callbacks=[callback])  # a fresh list: run_exp appends its own callbacks
    record_generations_of(callback)


class LlamaFactoryCallback(CustomTrackerCallback):
    """`CustomTrackerCallback` whose run also records the datasets LLaMA-Factory's data
    arguments name (``dataset``, ``eval_dataset``) as its inputs."""

    def __init__(self, data: DataArguments, **options: Unpack[TrackerOptions]) -> None:
        super().__init__(**options)
        self._data = data

    def _started(self, run: CustomTracker) -> None:
        data = self._data
        for role, names in (("train", data.dataset), ("eval", data.eval_dataset)):
            try:
                found = get_dataset_list(names, data.dataset_dir)
            except (OSError, ValueError) as exc:  # LLaMA-Factory itself will say so
                log.warning("tracker: the %s datasets are not recorded: %s", role, exc)
                continue
            for name, attr in zip(names or [], found, strict=True):
                run.use_artifact(
                    _dataset_ref(attr, data.dataset_dir),
                    kind="dataset",
                    name=name,
                    meta={"role": role, "split": attr.split, "subset": attr.subset},
                )


def _dataset_ref(attr: Any, dataset_dir: Any) -> str:
    """Where a LLaMA-Factory dataset's data is: a file in ``dataset_dir``, a hub id."""
    if attr.load_from == "file" and isinstance(dataset_dir, str):
        return str(Path(dataset_dir, attr.dataset_name))
    return _HUBS.get(attr.load_from, "") + str(attr.dataset_name)


def callback_for(args: dict[str, Any] | list[str]) -> CustomTrackerCallback:
    """A callback whose run's config also holds LLaMA-Factory's own arguments of ``args``
    and whose inputs are the datasets they name."""
    own = own_arguments(args)
    return LlamaFactoryCallback(own["data"], config={"llamafactory": own})


def record_generations_of(callback: CustomTrackerCallback) -> None:
    """`record_generations` of the callback's run, in the process that writes it."""
    run = callback.tracker
    if run is not None and run.enabled:
        record_generations(run)


def record_generations(run: CustomTracker) -> None:
    """Log the ``generated_predictions.jsonl`` that ``do_predict`` with
    ``predict_with_generate`` wrote in the run's ``output_dir`` (one row per example:
    prompt, predict, label), as the table ``predict/generations`` at the last step."""
    output_dir = run.config.get("args", {}).get("output_dir")
    if not output_dir:
        return
    path = Path(output_dir) / GENERATIONS_FILE
    try:
        if path.stat().st_mtime < (run.started_at or 0.0):
            return  # an earlier run's file
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError) as exc:
        log.warning("tracker: could not read %s: %s", path, exc)
        return
    run.log_table("predict/generations", rows)


def read_cli_args(argv: Sequence[str]) -> dict[str, Any] | list[str]:
    """``argv`` as ``llamafactory-cli train`` reads it: a dict from a config file and
    ``key=value`` overrides, or the ``--key value`` list as it is."""
    with _argv(argv):
        return read_args()  # type: ignore[no-any-return]


def own_arguments(args: dict[str, Any] | list[str]) -> dict[str, Any]:
    """LLaMA-Factory's own model, data, fine-tuning and generation arguments of ``args``."""
    parser = HfArgumentParser(tuple(_OWN_ARGUMENTS.values()))
    if isinstance(args, dict):
        parsed = parser.parse_dict(args, allow_extra_keys=True)
    else:  # the last item is the list of strings that no class here takes
        parsed = parser.parse_args_into_dataclasses(args=args, return_remaining_strings=True)[:-1]
    return dict(zip(_OWN_ARGUMENTS, parsed, strict=True))


@contextmanager
def _argv(argv: Sequence[str]) -> Iterator[None]:
    """``read_args`` reads ``sys.argv``: give it ours for the call."""
    saved = sys.argv
    sys.argv = [saved[0] if saved else "tracker", *argv]
    try:
        yield
    finally:
        sys.argv = saved
