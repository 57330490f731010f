"""Run ids and generated run names."""

from __future__ import annotations

import secrets

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


def new_run_id() -> str:
    """A random id of 10 lowercase letters and digits (about 51 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def new_run_name() -> str:
    """A readable name such as ``swift-otter-42``."""
    number = secrets.randbelow(1000)
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{number}"
