"""Sanitising configs and metric values: documented rules, never a crash."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from tracker.values import REDACTED, NotAScalar, flatten, is_secret_key, redact, to_json, to_scalar


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    where: Path


class Model(BaseModel):
    name: str
    sizes: list[int]


class HasToDict:
    def to_dict(self) -> dict[str, Any]:
        return {"target_modules": {"q_proj", "v_proj"}}


def test_config_values_json_cannot_hold_are_converted_by_the_rules() -> None:
    """Sets, enums, paths, dataclasses, pydantic models, to_dict objects, types, dtypes."""
    config = {
        "set": {3, 1, 2},
        "enum": Color.RED,
        "path": Path("/data/x"),
        "dc": Point(1, Path("p")),
        "model": Model(name="m", sizes=[1, 2]),
        "peft": HasToDict(),
        "type": int,
        "dtype": np.dtype("float32"),
        "np": np.float32(0.5),
        "bytes": b"abc",
        1: "int key",
    }
    out = to_json(config)
    assert json.loads(json.dumps(out)) == out
    assert out["set"] == [1, 2, 3]
    assert out["enum"] == "red"
    assert out["path"] == "/data/x"
    assert out["dc"] == {"x": 1, "where": "p"}
    assert out["model"] == {"name": "m", "sizes": [1, 2]}
    assert out["peft"] == {"target_modules": ["q_proj", "v_proj"]}
    assert out["type"] == "builtins.int"
    assert out["dtype"] == "float32"
    assert out["np"] == 0.5
    assert out["bytes"] == "<3 bytes>"
    assert out["1"] == "int key"


def test_cycles_and_depth_are_cut_not_crashed() -> None:
    """A self-referencing config becomes "<cycle>"; very deep nesting "<too deep>"."""
    loop: dict[str, Any] = {"a": 1}
    loop["self"] = loop
    assert to_json(loop) == {"a": 1, "self": "<cycle>"}
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["d"] = {}
        node = node["d"]
    assert "<too deep>" in json.dumps(to_json(deep))


def test_nan_in_config_is_kept() -> None:
    """Floats JSON lacks are stored faithfully."""
    out = to_json({"x": math.inf, "y": math.nan})
    assert out["x"] == math.inf and math.isnan(out["y"])


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(max_size=8),
    st.sampled_from([Color.RED, Path("/x"), int, np.int64(3), np.float64(2.5)]),
)
configs = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(), st.integers()), children, max_size=4),
        st.frozensets(st.integers(), max_size=4),
        st.tuples(children, children),
    ),
    max_leaves=25,
)


@given(configs)
def test_any_config_becomes_json(config: Any) -> None:
    """Whatever goes in, to_json returns something json.dumps accepts, and redact keeps it."""
    out = to_json({"c": config})
    text = json.dumps(redact(out))
    assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("hub_token", True),
        ("hf_hub_token", True),
        ("token", True),
        ("api_key", True),
        ("password", True),
        ("aws_secret_access_key", True),
        ("push_to_hub_token", True),
        ("pad_token", False),
        ("eos_token", False),
        ("max_new_tokens", False),
        ("num_input_tokens_seen", False),
        ("pad_token_id", False),
        ("tokenizer", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    """Keys naming credentials are secret; tokenizer settings are not."""
    assert is_secret_key(key) is secret


def test_redaction_keeps_unset_secrets_and_finds_token_values() -> None:
    """Set secrets are masked, None ones kept; a value shaped like an access token is masked."""
    config = {"hub_token": "abc", "api_key": None, "x": {"password": "p"}, "note": "hf_" + "a" * 34}
    assert redact(config) == {
        "hub_token": REDACTED,
        "api_key": None,
        "x": {"password": REDACTED},
        "note": REDACTED,
    }


def test_scalars_by_duck_typing() -> None:
    """Numbers, numpy scalars and 0-d or one-element arrays become floats."""
    assert to_scalar(True) == 1.0
    assert to_scalar(np.float16(0.5)) == 0.5
    assert to_scalar(np.array(3)) == 3.0
    assert to_scalar(np.array([2.0])) == 2.0
    assert math.isnan(to_scalar(float("nan")))


@pytest.mark.parametrize("value", [None, "text", [1, 2], np.zeros(3), {"a": 1}])
def test_non_scalars_say_why(value: Any) -> None:
    """Values that are not numbers raise NotAScalar with a reason."""
    with pytest.raises(NotAScalar):
        to_scalar(value)


@given(
    st.one_of(
        st.integers(), st.floats(), st.booleans(), st.none(), st.text(), st.lists(st.floats())
    )
)
def test_to_scalar_returns_a_float_or_says_why(value: Any) -> None:
    """to_scalar never raises anything but NotAScalar."""
    with contextlib.suppress(NotAScalar):
        assert isinstance(to_scalar(value), float)


def test_flatten_joins_nested_keys_with_slash() -> None:
    """Nested metric dicts flatten to slash-separated names."""
    assert dict(flatten({"eval": {"loss": 1, "acc": {"top1": 2}}, "x": 3})) == {
        "eval/loss": 1,
        "eval/acc/top1": 2,
        "x": 3,
    }
