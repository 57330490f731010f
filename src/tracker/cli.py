"""``tracker`` and ``python -m tracker.cli``: a thin dispatcher to one module per command.

* ``train`` is LLaMA-Factory training, tracked (`tracker.integrations.llamafactory`). Like
  ``llamafactory-cli train`` it takes a config file and ``key=value`` overrides, or
  ``--key value`` options; the word ``train`` may be left out:
  ``python -m tracker.cli config.yaml key=value``.
* Every module of the `tracker.commands` package that defines ``NAME`` is a subcommand:
  it provides ``NAME``, ``HELP``, ``configure(parser)`` and ``run(ctx) -> int``
  (`tracker.commands.app.CommandModule`), and runs through ``tracker.commands.app.handler``.
  Adding a module there adds a command; nothing here changes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import NoReturn

__all__ = ["build_parser", "main"]

_COMMANDS_PACKAGE = "tracker.commands"
_TRAIN_HELP = "fine-tune with LLaMA-Factory, tracked (llamafactory-cli train's arguments)"
_CONFIG_FILES = (".yaml", ".yml", ".json")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named by ``argv`` (default: the command line); its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] == "train" or args[0].endswith(_CONFIG_FILES)):
        return _train(args[1:] if args[0] == "train" else args)
    if args and args[0].startswith("--") and args[0] != "--help":  # llamafactory's --key value
        return _train(args)
    parser = build_parser(args[0] if args else None)
    namespace = parser.parse_args(args)
    if not hasattr(namespace, "func"):
        parser.print_help()
        return 2
    return int(namespace.func(namespace))


def build_parser(name: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command (``train`` only for its help: it is dispatched first);
    with ``name``, of that command alone where a module of its name provides it, so
    that running one command imports only its own module (``tracker best`` in a script)."""
    parser = _Parser(prog="tracker", description="Experiment tracking for LLM fine-tuning.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("train", help=_TRAIN_HELP, add_help=False)
    only = _command_module(name) if name else None
    modules = [only] if only is not None else list(_command_modules())
    if modules:
        from tracker.commands.app import handler
    for module in modules:
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(func=handler(module.NAME, module.run))
    return parser


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line, ``tracker ui: error: argument --port: ...``, and exit
    status 2; the usage is one ``--help`` away. The commands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        """Say what is wrong in one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _command_module(name: str) -> ModuleType | None:
    """The module of command ``name`` when it is named so (``None``: look at them all)."""
    if not name.isidentifier():
        return None
    module_name = f"{_COMMANDS_PACKAGE}.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name in (module_name, _COMMANDS_PACKAGE):
            return None
        raise
    return module if getattr(module, "NAME", None) == name else None


def _command_modules() -> Iterator[ModuleType]:
    try:
        package = importlib.import_module(_COMMANDS_PACKAGE)
    except ImportError:
        return
    import pkgutil  # only to list every command: running one imports its module alone

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_COMMANDS_PACKAGE}.{info.name}")
        if hasattr(module, "NAME"):
            yield module


def _train(argv: list[str]) -> int:
    from tracker.integrations import llamafactory  # LLaMA-Factory loads only for training

    return llamafactory.main(argv)


if __name__ == "__main__":
    sys.exit(main())
