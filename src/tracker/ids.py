"""Run ids and generated run names."""

from __future__ import annotations

import os

__all__ = ["new_run_id", "new_run_name"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ADJECTIVES = (
    "amber",
    "bold",
    "brisk",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "daring",
    "deft",
    "eager",
    "fancy",
    "fierce",
    "gentle",
    "golden",
    "hardy",
    "jolly",
    "keen",
    "lively",
    "lucid",
    "mellow",
    "misty",
    "noble",
    "polar",
    "proud",
    "quiet",
    "rapid",
    "rosy",
    "royal",
    "rustic",
    "serene",
    "silent",
    "snowy",
    "solar",
    "stellar",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wild",
)
_NOUNS = (
    "aurora",
    "badger",
    "breeze",
    "brook",
    "canyon",
    "cedar",
    "comet",
    "coral",
    "dawn",
    "delta",
    "dune",
    "ember",
    "falcon",
    "fern",
    "fjord",
    "forest",
    "galaxy",
    "glacier",
    "harbor",
    "heron",
    "island",
    "lagoon",
    "lotus",
    "maple",
    "meadow",
    "nebula",
    "oasis",
    "orbit",
    "otter",
    "pebble",
    "pine",
    "prairie",
    "quasar",
    "river",
    "sparrow",
    "summit",
    "thunder",
    "tundra",
    "valley",
    "willow",
)


def _below(n: int) -> int:
    """A random number in ``[0, n)`` from the system's randomness, as `secrets` draws one
    (`secrets` itself is not imported: its ``hmac`` and ``hashlib`` cost every run's start
    3 ms). ``n`` is far below 2**64, so the bias of the modulo is below ``n / 2**64``."""
    return int.from_bytes(os.urandom(8), "big") % n


def new_run_id() -> str:
    """A random id of 10 lowercase letters and digits (about 51 bits)."""
    number = _below(len(_ALPHABET) ** 10)
    return "".join(_ALPHABET[number // len(_ALPHABET) ** i % len(_ALPHABET)] for i in range(10))


def new_run_name() -> str:
    """A readable name such as ``swift-otter-42``."""
    adjective, noun = _ADJECTIVES[_below(len(_ADJECTIVES))], _NOUNS[_below(len(_NOUNS))]
    return f"{adjective}-{noun}-{_below(1000)}"
