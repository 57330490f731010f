"""tracker's import hook (`tracker.autoattach`): a finder first on ``sys.meta_path`` that
attaches tracker to the modules in `_TARGETS` once they have run; then the
``sitecustomize`` this one hides runs. Kept small, and standard library only: every
Python process of a ``tracker run`` command loads it at start-up."""

import os
import sys

TYPE_CHECKING = False  # neither `typing` nor `__future__` is imported: start-up pays for them
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

_TARGETS = {
    "transformers.trainer": "transformers",  # Trainer, and so TRL's and LLaMA-Factory's
    "accelerate.accelerator": "accelerate",  # Accelerator
    "torchtune.config": "torchtune",  # config.instantiate, which builds the metric logger
    "llamafactory.train.tuner": "llamafactory",  # run_exp, for LLaMA-Factory's own config
    "lm_eval.evaluator": "lm_eval",  # simple_evaluate, whose results are evaluations
    "lighteval.logging.evaluation_tracker": "lighteval",  # EvaluationTracker.save: evaluations
}


class _Finder:
    """Finds nothing itself: for a target module it wraps the spec the other finders give."""

    def find_spec(
        self, name: str, path: "Sequence[str] | None" = None, target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        framework = _TARGETS.get(name)
        if framework is None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: ModuleSpec | None = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            # a duck-typed Loader: importlib.abc would cost this start-up an import
            spec.loader = _Loader(spec.loader, framework)  # type: ignore[assignment]
        return spec


class _Loader:
    """Runs the module with its own loader, then attaches tracker to it."""

    def __init__(self, loader: "Any", framework: str) -> None:
        self._loader = loader
        self._framework = framework

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: "ModuleType") -> None:
        module.__loader__ = self._loader  # the module sees its own loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _attach(self._framework, module)

    def __getattr__(self, name: str) -> "Any":
        return getattr(self._loader, name)


def _attach(framework: str, module: "ModuleType") -> None:
    try:
        from importlib import import_module

        import_module(f"tracker.autoattach.{framework}").attach(module)
    except Exception as exc:  # the command must run as it would without tracker
        import logging

        logging.getLogger("tracker").warning(
            "tracker run: could not attach to %s in %s (%s: %s); this process runs untracked",
            module.__name__,
            sys.executable,
            type(exc).__name__,
            exc,
        )


def _run_hidden_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    ours = sys.modules.pop(__name__)
    try:  # the next sitecustomize on sys.path, now that ours is out of the way
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
    finally:  # the import system wants a module under this name once this one has run
        sys.modules.setdefault(__name__, ours)


sys.meta_path.insert(0, _Finder())
_run_hidden_sitecustomize()
