"""tracker.frames on every built-in store: runs and metric points as data frames, equal to
what the store reads back, also while a run is being written and as PostgreSQL's reader."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator

import pytest

from pg_server import PostgresServer
from tracker import CustomTracker, TrackerSettings, open_store
from tracker.records import MetricBatch, RunRecord, Series
from tracker.store import RunNotFoundError, Store
from tracker.store.memory import MemoryStore

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
np = pytest.importorskip("numpy")

import tracker.frames as tf  # noqa: E402  (after the skips: it needs pandas to be useful)

LONG = 3_000  # points of a metric spanning several stored chunks


@pytest.fixture
def any_store(store_uri: str) -> Iterator[Store]:
    """Each built-in store, empty."""
    store = open_store(store_uri)
    yield store
    store.close()


def _start(store: Store, run_id: str, *, started: float, **fields: object) -> None:
    record = RunRecord(
        run_id, "p", run_id, started_at=started, heartbeat_at=started, heartbeat_interval=60.0
    )
    store.start_run(record.replace(**fields), resume=False)


def _log(store: Store, run_id: str, key: str, steps: list[int], values: list[float]) -> None:
    times = array("d", [2000.0 + s / 8 for s in steps])
    series = Series(array("q", steps), array("d", values), times)
    store.log_metrics(run_id, MetricBatch({key: series}))


def _three_runs(store: Store) -> None:
    """a (lr 0.1, a list, an int), b (lr 0.2, text where a had an int), c (no config)."""
    _start(store, "a", started=1000.0, sweep="lr", tags=["x"])
    store.log_config("a", {"optim": {"lr": 0.1, "betas": [0.9, 0.99]}, "mix": 1, "seed": 1})
    store.log_summary("a", {"eval/loss": 0.5, "best": True})
    store.finish_run("a", "finished", 1010.0, None)
    _start(store, "b", started=1001.0, sweep="lr")
    store.log_config("b", {"optim": {"lr": 0.2, "betas": [0.9, 0.95]}, "mix": "two", "seed": 2})
    store.log_summary("b", {"eval/loss": 0.25, "best": False})
    store.finish_run("b", "failed", 1021.0, "boom")
    _start(store, "c", started=1002.0)


def test_runs_are_one_row_each_with_typed_columns(any_store: Store) -> None:
    """Run fields, flattened config and summary: numbers as numbers, lists and mixed
    types as objects, a key a run lacks as missing; filters as the store's."""
    _three_runs(any_store)
    frame = tf.runs(store=any_store)
    assert list(frame.run_id) == ["c", "b", "a"]
    assert list(frame.columns[:7]) == ["run_id", "name", "project", "status", "framework",
                                       "sweep", "tags"]  # fmt: skip
    by_id = frame.set_index("run_id")
    assert frame["config.optim.lr"].dtype == np.float64
    assert (
        math.isnan(by_id.loc["c", "config.optim.lr"]) and by_id.loc["a", "config.optim.lr"] == 0.1
    )
    assert str(frame["config.seed"].dtype) == "Int64" and by_id.loc["b", "config.seed"] == 2
    assert frame["config.optim.betas"].dtype == object
    assert by_id.loc["a", "config.optim.betas"] == [0.9, 0.99]
    assert frame["config.mix"].dtype == object
    assert (by_id.loc["a", "config.mix"], by_id.loc["b", "config.mix"]) == (1, "two")
    assert list(frame["summary.eval/loss"].iloc[1:]) == [0.25, 0.5]
    assert list(frame["summary.best"].iloc[1:]) == [False, True]
    assert by_id.loc["b", "duration_s"] == 20.0 and by_id.loc["a", "tags"] == ["x"]
    assert by_id.loc["a", "started_at"] == pd.Timestamp(1000.0, unit="s", tz="UTC")
    assert list(tf.runs(sweep="lr", store=any_store).run_id) == ["b", "a"]
    assert list(tf.runs(status="failed", store=any_store).run_id) == ["b"]
    assert len(tf.runs(project="none-such", store=any_store)) == 0


def _points(store: Store) -> None:
    """Run a: a long metric and one resumed back over its steps (with NaN and inf); b: a
    short metric only."""
    _start(store, "a", started=1000.0)
    _log(store, "a", "train/loss", list(range(LONG)), [1.0 / (s + 1) for s in range(LONG)])
    _log(store, "a", "eval/loss", [0, 10, 20, 30], [4.0, math.nan, 2.0, math.inf])
    _log(store, "a", "eval/loss", [10, 20], [3.5, 2.5])  # a resume from step 10
    _start(store, "b", started=1001.0)
    _log(store, "b", "eval/loss", [5, 6], [1.0, 0.5])


def test_history_holds_every_point_of_store_history(any_store: Store) -> None:
    """The long frame is, run by run and key by key, exactly store.history, in step order."""
    _points(any_store)
    frame = tf.history(["a", "b"], ["train/loss", "eval/loss"], store=any_store)
    assert list(frame.columns) == ["run_id", "key", "step", "value", "time"]
    assert frame.step.dtype == np.int64 and frame.value.dtype == np.float64
    assert len(frame) == LONG + 4 + 2
    for (run_id, key), part in frame.groupby(["run_id", "key"], observed=True, sort=False):
        expected = any_store.history(run_id, key)
        assert list(part.step) == list(expected.steps)
        np.testing.assert_array_equal(part.value.to_numpy(), np.asarray(expected.values))
        np.testing.assert_array_equal(part.time.to_numpy(), np.asarray(expected.times))
    resumed = frame[(frame.run_id == "a") & (frame.key == "eval/loss")]
    assert list(resumed.step) == [0, 10, 20, 30]
    assert list(resumed.value) == [4.0, 3.5, 2.5, math.inf]
    assert list(frame.drop_duplicates(["run_id", "key"]).key) == [
        "train/loss", "eval/loss", "eval/loss",
    ]  # fmt: skip


def test_wide_polars_and_arrow_hold_the_same_points(any_store: Store) -> None:
    """wide pivots to a column per metric; polars and pyarrow carry the long frame's data."""
    _points(any_store)
    keys = ["train/loss", "eval/loss"]
    long = tf.history(["a", "b"], keys, store=any_store)
    polars = tf.history(["a", "b"], keys, backend="polars", store=any_store)
    table = tf.history(["a", "b"], keys, arrow=True, store=any_store)
    assert isinstance(polars, pl.DataFrame) and isinstance(table, pa.Table)
    for other in (polars.to_pandas(), table.to_pandas()):
        assert list(other.run_id.astype(str)) == list(long.run_id.astype(str))
        assert list(other.key.astype(str)) == list(long.key.astype(str))
        for column in ("step", "value", "time"):
            np.testing.assert_array_equal(other[column].to_numpy(), long[column].to_numpy())
    wide = tf.history(["a", "b"], keys, wide=True, store=any_store)
    assert list(wide.columns) == ["run_id", "step", "train/loss", "eval/loss"]
    assert len(wide) == LONG + 2  # a's steps (eval's are among them) and b's two
    row = wide[(wide.run_id == "a") & (wide.step == 10)].iloc[0]
    assert (row["train/loss"], row["eval/loss"]) == (1.0 / 11, 3.5)
    assert math.isnan(wide[wide.run_id == "b"]["train/loss"].iloc[0])
    wide_polars = tf.history(["a", "b"], keys, wide=True, backend="polars", store=any_store)
    assert wide_polars.shape == wide.shape
    assert tf.history("b", "eval/loss", wide=True, arrow=True, store=any_store).num_rows == 2


def test_unknown_keys_and_runs_are_clear_errors(any_store: Store) -> None:
    """A key no run has names the keys there are; an unknown run is RunNotFoundError; a
    key only some runs have gives rows for those; refs may be prefixes or names."""
    _points(any_store)
    with pytest.raises(tf.MetricNotFoundError, match=r"'eval/acc'.*'eval/loss', 'train/loss'"):
        tf.history(["a", "b"], ["eval/loss", "eval/acc"], store=any_store)
    with pytest.raises(RunNotFoundError, match="'nope'"):
        tf.history(["a", "nope"], "eval/loss", store=any_store)
    assert len(tf.history([], "eval/loss", store=any_store)) == 0  # an empty selection
    only_a = tf.history(["a", "b"], "train/loss", store=any_store)
    assert set(only_a.run_id) == {"a"} and len(only_a) == LONG
    with pytest.raises(ValueError, match="at least one metric"):
        tf.history("a", [], store=any_store)
    with pytest.raises(ValueError, match="'pandas' or 'polars'"):
        tf.history("a", "eval/loss", backend="arrow", store=any_store)  # type: ignore[arg-type]


def test_a_run_still_being_written_reads_as_stored_now(store_uri: str, any_store: Store) -> None:
    """While a run logs, frames show it running with the points written so far."""
    settings = TrackerSettings(system_interval=0, flush_interval=0.05)
    run = CustomTracker("p", "live", store=store_uri, sweep="live", settings=settings).start()
    try:
        for step in range(100):
            run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        assert list(tf.runs(sweep="live", store=store_uri).status) == ["running"]
        first = tf.history("live", "train/loss", store=store_uri)
        assert list(first.step) == list(range(100))
        for step in range(100, 150):
            run.log_metrics({"train/loss": 0.0}, step=step)
        run.flush()
        assert len(tf.history("live", "train/loss", store=store_uri)) == 150
    finally:
        run.finish()


def test_postgres_frames_read_as_the_reader_role(pg: PostgresServer) -> None:
    """tf.runs and tf.history need nothing but SELECT: PostgreSQL's read-only role works."""
    pg.truncate()
    writer = open_store(pg.uri)
    _three_runs(writer)
    _log(writer, "c", "train/loss", [0, 1, 2], [3.0, 2.0, 1.0])
    writer.close()
    pg.grant_reader()
    reader = pg.reader_uri
    assert list(tf.runs(sweep="lr", store=reader).run_id) == ["b", "a"]
    assert list(tf.history("c", "train/loss", store=reader).value) == [3.0, 2.0, 1.0]


def test_a_run_and_a_runs_frame_show_as_html(any_store: Store) -> None:
    """In Jupyter a run is a table of its fields, config and summary, text escaped."""
    _three_runs(any_store)
    any_store.log_config("c", {"note": "<script>alert(1)</script>"})
    shown = any_store.get_run("c")._repr_html_()
    assert "<table>" in shown and "config" in shown and "&lt;script&gt;" in shown
    assert "<script>" not in shown
    assert "boom" in any_store.get_run("b")._repr_html_()
    frame_html = tf.runs(store=any_store)._repr_html_()
    assert "config.optim.lr" in frame_html and ">b<" in frame_html


class _WrittenWhileRead(MemoryStore):
    """A memory store whose run gains points between frames' counting and reading them,
    as a run being written does."""

    def iter_history(self, run_id: str, key: str, *, raw: bool = False) -> Iterator[Series]:
        last = self.metric_stats(run_id)[key].last_step
        _log(self, run_id, key, list(range(last + 1, last + 5001)), [0.5] * 5000)
        yield from super().iter_history(run_id, key, raw=raw)


def test_points_written_while_reading_are_all_kept() -> None:
    """Points that arrive after frames counted them still land in the frame, in order."""
    store = _WrittenWhileRead()
    _start(store, "a", started=1000.0)
    _log(store, "a", "m", [0, 1, 2], [3.0, 2.0, 1.0])
    frame = tf.history("a", "m", store=store)
    assert list(frame.step) == list(range(5003))
    assert list(frame.value[:4]) == [3.0, 2.0, 1.0, 0.5]


def test_evaluations_are_one_row_a_score_with_its_checkpoint(any_store: Store) -> None:
    """tf.evaluations: a score of a's checkpoint (matched by digest) carries its run and
    step; a score of an unknown version has none; settings leaves are columns; NaN kept."""
    from tracker.records import Artifact, Evaluation

    _start(any_store, "a", started=1.0, project="sft")
    _start(any_store, "ev", started=2.0, project="sft")
    any_store.log_artifact(
        "a", Artifact("a", "checkpoint", uri="/a/ck-5", digest="sha256:5", step=5)
    )
    any_store.log_evaluations("ev", [
        Evaluation("ev", "e1", "arc", "acc", 0.7, 0.01, "/b/ck", "sha256:5",
                   {"num_fewshot": 5, "harness": {"name": "lm-eval"}}, None, 3.0),
        Evaluation("ev", "e1", "arc", "f1", math.nan, None, "/b/ck", "sha256:5",
                   {"num_fewshot": 5, "harness": {"name": "lm-eval"}}, None, 3.0),
    ])  # fmt: skip
    any_store.log_evaluations(
        "ev", [Evaluation("ev", "e2", "wiki", "loss", 2.5, None, "/lost", None, {}, None, 4.0)]
    )
    frame = tf.evaluations("sft", store=any_store)
    assert list(frame["eval_id"]) == ["e1", "e1", "e2"]
    assert list(frame["run_id"])[:2] == ["a", "a"] and frame["run_id"].isna()[2]
    assert list(frame["step"])[:2] == [5, 5] and frame["step"].isna()[2]
    assert list(frame["uri"]) == ["/a/ck-5", "/a/ck-5", "/lost"]
    assert frame["value"][0] == 0.7 and math.isnan(frame["value"][1])
    assert list(frame["column"]) == ["arc/acc", "arc/f1", "wiki/loss"]
    assert frame["settings.num_fewshot"][0] == 5 and frame["settings.harness.name"][1] == "lm-eval"


def test_history_reads_bench_keys_from_the_checkpoints_evaluations(any_store: Store) -> None:
    """tf.history(run, 'bench/arc/acc'): the scores of the run's checkpoints at their
    steps, beside a stored metric; the run stores no such key."""
    from tracker.records import Artifact, Evaluation

    _start(any_store, "a", started=1.0)
    _start(any_store, "ev", started=2.0)
    _log(any_store, "a", "train/loss", [10, 20], [2.0, 1.0])
    for step in (10, 20):
        any_store.log_artifact(
            "a", Artifact("a", "checkpoint", uri=f"/ck-{step}", digest=f"d{step}", step=step)
        )
        score = Evaluation("ev", f"e{step}", "arc", "acc", step / 100, digest=f"d{step}")
        any_store.log_evaluations("ev", [score.replace(created_at=5.0)])
    frame = tf.history("a", ["train/loss", "bench/arc/acc"], store=any_store)
    rows = [(k, s, v) for k, s, v in zip(frame["key"], frame["step"], frame["value"], strict=True)]
    assert rows == [("train/loss", 10, 2.0), ("train/loss", 20, 1.0),
                    ("bench/arc/acc", 10, 0.1), ("bench/arc/acc", 20, 0.2)]  # fmt: skip
    assert "bench/arc/acc" not in any_store.keys("a")
