"""LLaMA-Factory → tracker: ``tracker train``, which is ``llamafactory-cli train``, tracked.

``tracker train config.yaml [key=value ...]`` reads its arguments the way
``llamafactory-cli train`` does (a YAML or JSON file and OmegaConf ``key=value`` overrides,
or ``--key value`` options) and runs ``llamafactory.train.tuner.run_exp`` with a
`CustomTrackerCallback`. The run's config also holds LLaMA-Factory's own model, data,
fine-tuning and generation arguments. For several processes, start it with
``torchrun ... -m tracker.cli train ...``: ``FORCE_TORCHRUN`` relaunches LLaMA-Factory's
own launcher, without the callback; ``tracker run -- llamafactory-cli train ...``
(`tracker.autoattach.llamafactory`) tracks that launcher's processes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tracker.integrations import requires_extra
from tracker.integrations.transformers import CustomTrackerCallback

with requires_extra("llamafactory"):
    from llamafactory.hparams import (
        DataArguments,
        FinetuningArguments,
        GeneratingArguments,
        ModelArguments,
        read_args,
    )
    from llamafactory.train.tuner import run_exp
    from transformers import HfArgumentParser

__all__ = ["callback_for", "main", "train"]

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
    """Run LLaMA-Factory's ``run_exp`` on ``args`` with a tracking callback."""
    run_exp(args, callbacks=[callback_for(args)])  # a fresh list: run_exp appends its own


def callback_for(args: dict[str, Any] | list[str]) -> CustomTrackerCallback:
    """A callback whose run's config also holds LLaMA-Factory's own arguments of ``args``."""
    return CustomTrackerCallback(config={"llamafactory": own_arguments(args)})


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
