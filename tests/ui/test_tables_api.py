"""The dashboard's table endpoints over real tracked tables: steps, one step's rows, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ui_kit import HOSTILE_TEXTS, TABLE, TABLE_STEPS, Served

pytest.importorskip("bokeh")


def _get(served: Served, path: str, status: int = 200) -> Any:
    reply = served.get(path)
    assert reply.status == status, reply.body
    return json.loads(reply.body)


def test_tables_lists_each_table_with_its_steps(tables_served: Served) -> None:
    """A run's tables come with the steps they have rows at; a run without any, none."""
    run_id = tables_served.runs["tables"]
    assert _get(tables_served, f"/api/runs/{run_id}/tables") == {
        "run": run_id,
        "tables": [{"key": TABLE, "steps": TABLE_STEPS}],
    }
    alpha = tables_served.runs["alpha"]
    assert _get(tables_served, f"/api/runs/{alpha}/tables")["tables"] == []


def test_table_sends_one_steps_rows_with_their_columns(tables_served: Served) -> None:
    """step= picks the step (default the last); cells come back as logged, NaN named."""
    run_id = tables_served.runs["tables"]
    answer = _get(tables_served, f"/api/runs/{run_id}/table?key={TABLE}&step=10")
    assert answer["step"] == 10
    assert answer["columns"] == ["prompt", "completion", "reward", "note"]
    assert [row["completion"] for row in answer["rows"]] == [f"answer 10/{i}" for i in range(4)]
    assert {row["step"] for row in answer["rows"]} == {10}
    assert [row["reward"] for row in answer["rows"]] == [0.5, 10.0, 2.0, "NaN"]
    assert [row["note"] for row in answer["rows"]] == [None] * 4
    assert answer["more"] is False
    last = _get(tables_served, f"/api/runs/{run_id}/table?key={TABLE}")
    assert last["step"] == TABLE_STEPS[-1]
    texts = [row["completion"] for row in last["rows"]]
    assert texts[:2] == HOSTILE_TEXTS[:2]
    assert texts[2].startswith("x" * 262_144) and texts[2].endswith("more characters]")
    assert texts[3:5] == HOSTILE_TEXTS[3:5]
    assert texts[5] == "lone \\ud800 surrogate"


def test_table_limit_says_there_is_more(tables_served: Served) -> None:
    """limit= caps the rows sent and ``more`` says the step holds others."""
    run_id = tables_served.runs["tables"]
    answer = _get(tables_served, f"/api/runs/{run_id}/table?key={TABLE}&step=0&limit=3")
    assert [row["prompt"] for row in answer["rows"]] == [f"prompt 0/{i}" for i in range(3)]
    assert answer["more"] is True


def test_table_errors_say_what_is_wrong(tables_served: Served) -> None:
    """No key, an unknown table, a step that is not a number: 400 or 404 with a message;
    a step without rows is an empty step."""
    run_id = tables_served.runs["tables"]
    assert "key=" in _get(tables_served, f"/api/runs/{run_id}/table", 400)["error"]
    missing = _get(tables_served, f"/api/runs/{run_id}/table?key=eval/none", 404)
    assert "no table 'eval/none'" in missing["error"]
    bad = _get(tables_served, f"/api/runs/{run_id}/table?key={TABLE}&step=last", 400)
    assert "step must be an integer" in bad["error"]
    empty = _get(tables_served, f"/api/runs/{run_id}/table?key={TABLE}&step=5")
    assert (empty["rows"], empty["columns"]) == ([], [])
    assert _get(tables_served, "/api/runs/nosuchrun/tables", 404)["error"]
