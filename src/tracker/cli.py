"""``tracker`` and ``python -m tracker.cli``: one subcommand per module.

``tracker NAME ARGS...`` imports the module of ``NAME`` only when it runs and calls its
``main(argv) -> int``. Every module of the `tracker.commands` package is a command of its
name (``tracker/commands/runs.py`` is ``tracker runs``); ``train`` is LLaMA-Factory
training (`tracker.integrations.llamafactory`).
Like ``llamafactory-cli``, a first argument that is a config file or an option means
``train``: ``python -m tracker.cli config.yaml key=value``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence

__all__ = ["commands", "main"]

_BUILTIN = {"train": "tracker.integrations.llamafactory"}
_TRAIN_FILES = (".yaml", ".yml", ".json")


def commands() -> dict[str, str]:
    """Command name → the module that runs it."""
    found = dict(_BUILTIN)
    try:
        package = importlib.import_module("tracker.commands")
    except ImportError:
        return found
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            found[module.name.replace("_", "-")] = f"{package.__name__}.{module.name}"
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand named by ``argv`` (default: the command line)."""
    args = list(sys.argv[1:] if argv is None else argv)
    table = commands()
    if args and args[0] in table:
        name, rest = args[0], args[1:]
    elif args and (args[0].endswith(_TRAIN_FILES) or args[0].startswith("--")):
        name, rest = "train", args
    else:
        asked = args[:1] in (["-h"], ["--help"])
        print(_usage(table), file=sys.stdout if asked else sys.stderr)
        return 0 if asked else 2
    module = importlib.import_module(table[name])
    return int(module.main(rest) or 0)


def _usage(table: dict[str, str]) -> str:
    lines = ["usage: tracker COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<10} {table[name]}" for name in sorted(table)]
    lines += ["", "tracker COMMAND --help describes a command."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
