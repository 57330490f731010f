"""The public API under arbitrary input: nothing raises into the caller, and every
well-formed point logged afterwards is in the store."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tracker import CustomTracker, TrackerSettings, open_store


class Hostile:
    """An object each of whose dunder methods raises ``error``."""

    def __init__(self, error: type[BaseException]) -> None:
        self._error = error

    def _raise(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error("hostile")

    __float__ = __int__ = __index__ = __repr__ = __str__ = __len__ = __iter__ = _raise
    __hash__ = _raise  # type: ignore[assignment]
    __bool__ = __eq__ = item = numel = to_dict = model_dump = _raise  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        raise self._error(f"no {name}")


errors = st.sampled_from([ValueError, TypeError, RuntimeError, OverflowError, RecursionError])
hostile = errors.map(Hostile)
texts = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20)
scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**1100), max_value=2**1100),
    st.booleans(),
    st.none(),
    texts,
    st.binary(max_size=8),
    hostile,
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(texts, children, max_size=3)
    ),
    max_leaves=8,
)
paths = st.one_of(  # often with a lone surrogate: a file name that is not UTF-8
    st.text(alphabet=st.sampled_from("a-7 .\u00e9\udce9\udcff\x00"), min_size=1, max_size=8),
    texts,
)
keys = st.one_of(texts, st.integers(), st.none(), st.tuples(st.integers()))
steps = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile,
    texts,
)
calls = st.lists(
    st.one_of(
        st.tuples(st.just("metrics"), st.dictionaries(keys, values, max_size=4), steps),
        st.tuples(st.just("config"), values, st.none()),
        st.tuples(st.just("summary"), values, st.none()),
        st.tuples(st.just("event"), st.one_of(texts, st.none(), hostile), values),
        st.tuples(st.just("output"), paths, st.tuples(paths, st.dictionaries(keys, values))),
        st.tuples(st.just("input"), paths, st.tuples(paths, values)),
        st.tuples(st.just("evaluation"), values, st.one_of(texts, hostile, keys)),
    ),
    max_size=6,
)


def _artifact(run: CustomTracker, folder: Path, direction: str, text: str, *more: Any) -> None:
    """An artifact of any name at a folder of any name in ``folder`` (a lone surrogate is a
    name that is not UTF-8), with hostile metrics or meta."""
    name = text.replace("/", "_").replace("\x00", "_")
    path = folder / "artifacts" / (name if name.strip(".") else f"{name}x")
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / "w.bin").write_bytes(b"w")
    except (OSError, ValueError):  # too long, or a name the file system refuses
        pass
    if direction == "output":
        run.log_artifact(str(path), name=more[0] or None, metrics=more[1])
    else:
        run.use_artifact(str(path), name=more[0] or None, meta=more[1])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    name=st.one_of(st.none(), texts),
    tags=st.lists(texts, max_size=3),
    framework=st.one_of(st.none(), paths),
    hostile_calls=calls,
)
@example(  # the folders (a checkpoint, a base model) and a framework not UTF-8
    name=None,
    tags=[],
    framework="x\udce9",
    hostile_calls=[("output", "ckpt-\udce9-7", ("", {})), ("input", "base-\udcff", ("", {}))],
)
def test_nothing_raises_and_later_points_are_stored(
    name: str | None,
    tags: list[str],
    framework: str | None,
    hostile_calls: list[tuple[str, Any, Any]],
) -> None:
    """Hostile names, tags, keys, values, steps, configs, summaries, events, artifacts
    (names and folder names with lone surrogates) and evaluations; then 20 well-formed
    points, all of which must be read back, and nothing left unsent."""
    with tempfile.TemporaryDirectory() as folder:
        uri = f"sqlite:///{Path(folder) / 't.db'}"
        config = TrackerSettings(flush_interval=0.02, system_interval=0, dir=Path(folder))
        run = CustomTracker(
            project="p", run_name=name, tags=tags, framework=framework, store=uri, settings=config
        )
        run.start()
        for kind, payload, extra in hostile_calls:
            if kind == "metrics":
                run.log_metrics(payload, step=extra)
            elif kind == "config":
                run.log_config(payload)
            elif kind == "summary":
                run.log_summary(payload)
            elif kind in ("output", "input"):
                _artifact(run, Path(folder), kind, payload, *extra)
            elif kind == "evaluation":
                hostile_ref = extra if isinstance(extra, Hostile) else None  # no "." hashed
                run.log_evaluation(
                    extra, payload, artifact=hostile_ref, stderr=payload, settings=payload,
                    samples=payload,
                )  # fmt: skip
            else:
                run.log_event(payload, extra)
        first = run.last_step + 1
        for i in range(20):
            run.log_metrics({"well/formed": float(i)}, step=first + i)
        report = run.finish()
        assert report is not None
        assert not (Path(folder) / "unsent").exists()  # every call was delivered
        store = open_store(uri)
        try:
            history = store.history(run.run_id, "well/formed")
            assert [v for _s, v, _t in history] == [float(i) for i in range(20)]
            assert store.get_run(run.run_id).status == "finished"
        finally:
            store.close()
