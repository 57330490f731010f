"""Sanitising configs and metric values: documented rules, never a crash, no secret kept."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import itertools
import json
import math
import os
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from secret_shapes import HF, SHAPES
from tracker.settings import SettingsError, TrackerSettings
from tracker.values import (
    REDACTED,
    KeyProblem,
    NotAScalar,
    Redactor,
    clean_text,
    flatten_metrics,
    is_plain_json,
    is_secret_key,
    redact,
    redact_argv,
    redact_text,
    to_json,
    to_scalar,
)


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
        ("passphrase", True),
        ("access_key", True),
        ("secret_access_key", True),
        ("wandb.key", True),
        ("WANDB_API_KEY", True),
        ("auth_token", True),
        ("credentials", True),
        ("private_key", True),
        ("ssh_key", True),
        ("session_cookie", True),
        ("client_secret", True),
        ("HF_TOKEN", True),
        ("api-key", True),
        ("db.password", True),
        ("dsn", True),
        ("pad_token", False),
        ("eos_token", False),
        ("bos_token", False),
        ("max_new_tokens", False),
        ("num_input_tokens_seen", False),
        ("pad_token_id", False),
        ("tokenizer", False),
        ("tokens_per_second", False),
        ("sort_key", False),
        ("key", False),
        ("hub_model_id", False),
        ("hub_private_repo", False),
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
        "note": "hf_" + REDACTED,
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
    flat, problems = flatten_metrics({"eval": {"loss": 1, "acc": {"top1": 2}}, "x": 3})
    assert flat == {"eval/loss": 1, "eval/acc/top1": 2, "x": 3} and problems == []


# -- text ----------------------------------------------------------------------------------
def test_lone_surrogates_and_nul_become_escapes_every_store_can_hold() -> None:
    """A key decoded from non-UTF-8 bytes and a NUL are escaped; other text is kept."""
    assert clean_text(os.fsdecode(b"eval/\xff")) == "eval/\\udcff"
    assert clean_text("run-\udcff") == "run-\\udcff"
    assert clean_text("a\x00b") == "a\\x00b"
    assert clean_text("résumé ✓ 日本") == "résumé ✓ 日本"
    clean_text(os.fsdecode(b"\xff\x00")).encode("utf-8")  # no UnicodeEncodeError


def test_a_str_subclass_is_copied_without_calling_its_methods() -> None:
    """clean_text of a str subclass whose methods raise is its plain text."""

    class Hostile(str):
        def __str__(self) -> str:
            raise RuntimeError("no")

        def __contains__(self, item: object) -> bool:
            raise RuntimeError("no")

    assert type(clean_text(Hostile("name"))) is str
    assert clean_text(Hostile("name")) == "name"


# -- metric values -------------------------------------------------------------------------
def _raiser(exc: BaseException) -> Any:
    def method(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return method


class _ItemRaises:
    item = _raiser(ValueError("boom"))


class _ItemRecursion:
    item = _raiser(RecursionError("deep"))


class _FloatRaises:
    __float__ = _raiser(ZeroDivisionError("x"))


class _IndexRaises:
    __index__ = _raiser(KeyError("x"))


class _NumelRaises:
    item = staticmethod(lambda: 1.0)
    numel = _raiser(RuntimeError("x"))

    @property
    def size(self) -> int:
        raise RuntimeError("x")


class _GetattrRaises:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(name)


class _ClassRaises:
    @property  # type: ignore[misc]  # a hostile object: isinstance() reads __class__
    def __class__(self) -> type:
        raise RuntimeError("no class")


class _HostileError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message either")


class _ItemRaisesHostile:
    item = _raiser(_HostileError())


class _ItemGivesHuge:
    item = staticmethod(lambda: 10**400)


UNREADABLE = {  # made when the test runs: pytest itself would trip over _ClassRaises
    "huge_int": lambda: 10**400,
    "huge_negative_int": lambda: -(10**400),
    "huge_fraction": lambda: Fraction(10**400, 3),
    "item_raises": _ItemRaises,
    "item_recursion": _ItemRecursion,
    "float_raises": _FloatRaises,
    "index_raises": _IndexRaises,
    "getattr_raises": _GetattrRaises,
    "class_raises": _ClassRaises,
    "exception_without_text": _ItemRaisesHostile,
    "item_too_large": _ItemGivesHuge,
    "complex": lambda: complex(1, 2),
    "bytes": lambda: b"1",
}


@pytest.mark.parametrize("make", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_values_that_cannot_be_read_as_numbers_raise_only_not_a_scalar(make: Any) -> None:
    """Ints too large for a float and objects whose methods raise anything: NotAScalar."""
    with pytest.raises(NotAScalar) as caught:
        to_scalar(make())
    assert str(caught.value)  # a reason the run can print


def test_numbers_by_duck_typing_beyond_numpy() -> None:
    """__float__, __index__, Fraction and a one-element tensor-like object are numbers."""

    class HasFloat:
        def __float__(self) -> float:
            return 0.25

    class HasIndex:
        def __index__(self) -> int:
            return 7

    class TensorLike:
        def item(self) -> float:
            return 1.5

        def numel(self) -> int:
            return 1

    assert to_scalar(HasFloat()) == 0.25
    assert to_scalar(HasIndex()) == 7.0
    assert to_scalar(Fraction(1, 4)) == 0.25
    assert to_scalar(TensorLike()) == 1.5
    assert to_scalar(2**1000) == float(2**1000)
    assert to_scalar(_NumelRaises()) == 1.0  # an unknown size is read with item()


# -- metric keys ---------------------------------------------------------------------------
def _nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["d"] = {}
        node = node["d"]
    node["loss"] = 1.0
    return root


def test_flattening_a_dict_2000_deep_skips_it_with_one_problem() -> None:
    """No RecursionError: entries nested deeper than 32 mappings are skipped and reported."""
    flat, problems = flatten_metrics({"ok": 1.0, "deep": _nested(2000)})
    assert flat == {"ok": 1.0}
    assert len(problems) == 1 and "deeper than 32" in problems[0].why
    assert problems[0].key == "deep/" + "/".join(["d"] * 31)
    flat, problems = flatten_metrics(_nested(30))
    assert list(flat) == ["/".join(["d"] * 30) + "/loss"] and problems == []


def test_keys_that_collide_once_flattened_are_reported_and_the_last_kept() -> None:
    """{"a/b": 1, "a": {"b": 2}} stores a/b = 2 and says so."""
    flat, problems = flatten_metrics({"a/b": 1, "a": {"b": 2}})
    assert flat == {"a/b": 2}
    assert [p.key for p in problems] == ["a/b"] and "last" in problems[0].why


def test_keys_of_any_type_are_named_cleaned_or_skipped_with_a_problem() -> None:
    """int and enum keys by their text, surrogates and NUL escaped, "/" stripped, a key
    whose str() raises and an empty key skipped, each with a problem."""

    class NoText:
        def __str__(self) -> str:
            raise RuntimeError("no")

        def __hash__(self) -> int:
            return 1

    flat, problems = flatten_metrics(
        {
            0: 1.0,
            Color.RED: 2.0,
            os.fsdecode(b"eval/\xff"): 3.0,
            "nul\x00": 4.0,
            "/train/loss/": 5.0,
            NoText(): 6.0,
            "/": 7.0,
            "": {"inner": 8.0},
        }
    )
    assert flat == {
        "0": 1.0,
        "red": 2.0,
        "eval/\\udcff": 3.0,
        "nul\\x00": 4.0,
        "train/loss": 5.0,
        "inner": 8.0,
    }
    assert [p.key for p in problems] == ["<NoText>", "'/'"]
    assert all(isinstance(p, KeyProblem) and p.why for p in problems)


def test_a_mapping_that_raises_while_read_keeps_what_was_read() -> None:
    """A mapping whose items() raises, or whose iteration fails midway, is a problem."""

    class Broken(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            raise RuntimeError("no items")

    def half() -> Iterator[tuple[str, float]]:
        yield "first", 1.0
        raise ValueError("then broken")

    class Midway(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            return half()

    flat, problems = flatten_metrics({"a": Broken(x=1), "b": Midway(), "c": 3.0})
    assert flat == {"b/first": 1.0, "c": 3.0}
    assert [p.key for p in problems] == ["a", "b"]


def test_flatten_metrics_of_a_self_containing_dict_ends() -> None:
    """A dict inside itself is cut by the depth rule, not followed forever."""
    loop: dict[str, Any] = {"x": 1.0}
    loop["self"] = loop
    flat, problems = flatten_metrics(loop)
    assert flat["x"] == 1.0 and len(problems) == 1


# -- config values -------------------------------------------------------------------------
class _ReprRaises:
    __repr__ = _raiser(RuntimeError("no repr"))


class _ToDictRaises:
    to_dict = _raiser(KeyError("x"))

    def __repr__(self) -> str:
        return "ToDictRaises()"


class _ToDictGarbage:
    def to_dict(self) -> Any:
        return _ReprRaises()


class _DumpsItself:
    def model_dump(self) -> Any:
        return self


class _IterRaises:
    __iter__ = _raiser(RuntimeError("no iter"))

    def __len__(self) -> int:
        return 3

    __repr__ = _raiser(RuntimeError("no repr"))


class _LenRaises:
    def __iter__(self) -> Iterator[int]:
        return iter([1])

    __len__ = _raiser(RuntimeError("no len"))

    def __repr__(self) -> str:
        return "LenRaises()"


class _EndlessWithLength:
    def __iter__(self) -> Iterator[int]:
        return itertools.count()

    def __len__(self) -> int:
        return 1


def test_objects_whose_methods_raise_become_text_not_errors() -> None:
    """__repr__, __getattr__, to_dict, model_dump, __iter__, __len__ raising: a string."""
    out = to_json(
        {
            "repr": _ReprRaises(),
            "getattr": _GetattrRaises(),
            "class": _ClassRaises(),
            "to_dict": _ToDictRaises(),
            "garbage": _ToDictGarbage(),
            "itself": _DumpsItself(),
            "iter": _IterRaises(),
            "len": _LenRaises(),
            "endless": _EndlessWithLength(),
        }
    )
    assert out["repr"] == "<unrepresentable _ReprRaises>"
    assert out["getattr"].startswith("<") and isinstance(out["class"], str)
    assert out["to_dict"] == "ToDictRaises()"
    assert out["garbage"] == "<unrepresentable _ReprRaises>"
    assert out["itself"] == "<cycle>"
    assert out["iter"] == "<unrepresentable _IterRaises>"
    assert out["len"] == [1]  # its length is not needed to read it
    assert len(out["endless"]) == 10_000
    json.dumps(out, allow_nan=True).encode("utf-8")


def test_a_config_2000_deep_is_cut_not_crashed() -> None:
    """No RecursionError: nesting past 32 levels is "<too deep>", and redact keeps it."""
    out = redact(to_json(_nested(2000)))
    assert "<too deep>" in json.dumps(out)


def test_integers_beyond_int64_become_their_decimal_text() -> None:
    """SQLite and PostgreSQL read JSON numbers as 64-bit: larger ints are strings."""
    out = to_json({"max": 2**63 - 1, "min": -(2**63), "over": 2**63, "huge": 10**5000})
    assert out["max"] == 2**63 - 1 and out["min"] == -(2**63)
    assert out["over"] == "9223372036854775808"
    assert out["huge"] == f"<int of {(10**5000).bit_length()} bits>"


def test_text_in_configs_is_cleaned_keys_too() -> None:
    """Surrogates and NUL in values, keys and reprs are escaped; the JSON encodes to UTF-8."""

    class OddRepr:
        def __repr__(self) -> str:
            return "odd\udcff"

    out = to_json({os.fsdecode(b"k\xff"): ["v\x00", OddRepr()], "plain": "ü"})
    assert out == {"k\\udcff": ["v\\x00", "odd\\udcff"], "plain": "ü"}
    json.dumps(out).encode("utf-8")


def test_subclasses_of_builtins_are_copied_as_plain_values() -> None:
    """An int or str subclass with raising methods is stored as a plain int or str."""

    class Loud(int):
        __repr__ = _raiser(RuntimeError("x"))
        __str__ = _raiser(RuntimeError("x"))

    class Quiet(str):
        __str__ = _raiser(RuntimeError("x"))

    out = to_json({"i": Loud(3), "s": Quiet("t"), "big": Loud(2**70)})
    assert out == {"i": 3, "s": "t", "big": str(2**70)}
    assert type(out["i"]) is int and type(out["s"]) is str


# -- secrets -------------------------------------------------------------------------------
@pytest.mark.parametrize(("secret", "part"), SHAPES.values(), ids=SHAPES.keys())
def test_value_shapes_are_redacted_inside_longer_strings(secret: str, part: str) -> None:
    """Each known shape is found alone and inside text, and only its secret part replaced."""
    alone = redact_text(secret)
    assert part not in alone and REDACTED.strip("*") in alone.replace("***@", REDACTED + "@")
    embedded = redact_text(f"the value is {secret} here")
    assert part not in embedded
    assert embedded.startswith("the value is ") and embedded.endswith(" here")


@pytest.mark.parametrize(
    "text",
    [
        "meta-llama/Llama-3.1-8B-Instruct",
        "/data/runs/exp-12/checkpoint-500",
        "pad_token=<pad> eos_token=</s>",
        "max_new_tokens=512",
        "time: 12:30:45",
        "https://example.test:8443/path/to@file",
        "lr=3e-4, key=value, sort_key=loss",
        "task-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "0123456789abcdef0123456789abcdef01234567",  # a git commit
        "AKIA",
        "",
    ],
)
def test_ordinary_text_is_not_redacted(text: str) -> None:
    """Model ids, paths, tokenizer settings, times, commits and plain URIs are kept."""
    assert redact_text(text) == text


def test_dict_valued_and_nested_secret_keys_are_replaced_whole() -> None:
    """auth_token: {...}, credentials: {...} and wandb: {key: ...} go; tokenizer names stay."""
    kept = {
        "use_auth_token": True,
        "hub_token": None,
        "pad_token": "<pad>",
        "eos_token": "</s>",
        "max_new_tokens": 512,
        "num_input_tokens_seen": 1000,
        "pin": 1234,
    }
    secret = {
        "auth_token": {"value": "s3cr3t"},
        "credentials": {"user": "u", "password": "p"},
        "api_keys": ["a", "b"],
        "passphrase": 1234,
    }
    out = redact({**kept, **secret, "wandb": {"key": "w4ndb", "project": "p"}})
    assert out == {
        **kept,
        **dict.fromkeys(secret, REDACTED),
        "wandb": {"key": REDACTED, "project": "p"},
    }


def test_keys_holding_a_token_are_redacted_as_text() -> None:
    """A token used as a key is no less a secret."""
    assert redact({HF: 1}) == {"hf_" + REDACTED: 1}


def test_command_lines_lose_flag_values_and_shapes() -> None:
    """--flag VALUE, --flag=VALUE, name=VALUE and tokens anywhere; other flags kept."""
    argv = [
        "train.py",
        "--hub_token",
        "X1",
        "--api-key=Y2",
        "--password",
        "Z3",
        "wandb.api_key=W4",
        "--use_auth_token",
        "--output_dir",
        "out",
        "--lr=1e-4",
        f"--note={HF}",
        "--pad_token",
        "<pad>",
        "postgresql://u:P5@h/db",
    ]
    assert redact_argv(argv) == [
        "train.py",
        "--hub_token",
        REDACTED,
        f"--api-key={REDACTED}",
        "--password",
        REDACTED,
        f"wandb.api_key={REDACTED}",
        "--use_auth_token",
        "--output_dir",
        "out",
        "--lr=1e-4",
        f"--note=hf_{REDACTED}",
        "--pad_token",
        "<pad>",
        "postgresql://u:***@h/db",
    ]


def test_users_add_key_names_and_value_patterns_through_settings() -> None:
    """TRACKER_REDACT_KEYS and TRACKER_REDACT_PATTERNS extend the built-in rules."""
    redactor = Redactor.from_settings(
        TrackerSettings(redact_keys=["^corp_pin$"], redact_patterns=["acme-[0-9a-f]{8}"])
    )
    out = redactor.redact({"corp_pin": "1", "note": "id acme-0123abcd ok", "hub_token": "t"})
    assert out == {"corp_pin": REDACTED, "note": f"id {REDACTED} ok", "hub_token": REDACTED}
    assert redactor.redact_argv(["--corp-pin", "2"]) == ["--corp-pin", REDACTED]


def test_a_bad_user_pattern_is_refused_with_its_reason() -> None:
    """A pattern that is not a regular expression, or matches empty text (it would redact
    everything), fails at settings time, naming it."""
    with pytest.raises(SettingsError, match="'acme-\\[' is not a regular expression"):
        TrackerSettings(redact_patterns=["acme-["])
    with pytest.raises(SettingsError, match="'x\\*' matches empty text"):
        TrackerSettings(redact_keys=["x*"])


def test_a_disabled_redactor_keeps_everything() -> None:
    """TRACKER_REDACT=0 keeps values, text and command lines as given."""
    redactor = Redactor.from_settings(TrackerSettings(redact=False))
    assert redactor.redact({"hub_token": HF}) == {"hub_token": HF}
    assert redactor.redact_argv(["--hub_token", HF]) == ["--hub_token", HF]


# -- hostile objects, by hypothesis ----------------------------------------------------------
HOSTILE_METHODS = (
    "__repr__",
    "__str__",
    "__float__",
    "__index__",
    "__int__",
    "__len__",
    "__iter__",
    "__getattr__",
    "__getattribute__",
    "__bool__",
    "__eq__",
    "item",
    "numel",
    "to_dict",
    "model_dump",
    "items",
    "keys",
    "isoformat",
)
HOSTILE_EXCEPTIONS = (
    ValueError("v"),
    TypeError("t"),
    RuntimeError("r"),
    KeyError("k"),
    AttributeError("a"),
    RecursionError("deep"),
    OverflowError("o"),
    ZeroDivisionError("z"),
    _HostileError(),
)


def _hostile_class(methods: frozenset[str], exc: BaseException, base: type) -> type:
    namespace: dict[str, Any] = {name: _raiser(exc) for name in methods}
    if "size" in methods:
        namespace["size"] = property(_raiser(exc))
    namespace["__hash__"] = object.__hash__ if base is object else base.__hash__
    return type("Hostile", (base,), namespace)


@st.composite
def hostile_objects(draw: st.DrawFn) -> Any:
    """An instance of a class whose chosen methods raise a chosen exception."""
    methods = draw(st.frozensets(st.sampled_from((*HOSTILE_METHODS, "size")), max_size=6))
    exc = draw(st.sampled_from(HOSTILE_EXCEPTIONS))
    base = draw(st.sampled_from((object, dict, list, float, int, str)))
    if base in (float, int, str) and methods & {"__getattribute__", "__eq__"}:
        methods = methods - {"__getattribute__", "__eq__"}  # hash() of a key needs them
    cls = _hostile_class(methods, exc, base)
    if base is dict:
        return cls({"loss": 1.0, "inner": {"hub_token": "t"}})
    if base is list:
        return cls([1.0, "x"])
    if base in (float, int):
        return cls(draw(st.integers(-(2**70), 2**70)))
    if base is str:
        return cls(draw(st.text(max_size=8)))
    return cls()


hostile_leaves = st.one_of(
    hostile_objects(),
    json_leaves,
    st.integers(min_value=-(10**400), max_value=10**400),
    st.text(alphabet=st.characters(codec=None), max_size=12),  # surrogates and NUL too
    st.sampled_from([HF, "postgresql://u:p@h/db", math.nan, -math.inf]),
    st.builds(pow, st.just(10), st.just(5000)),  # past str()'s limit (so not in a repr)
)
hostile_keys = st.one_of(
    st.text(alphabet=st.characters(codec=None), max_size=8),
    st.integers(),
    st.sampled_from(["a/b", "a", "/", "", "hub_token", "pad_token", "wandb"]),
)
hostile_trees = st.recursive(
    hostile_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(hostile_keys, children, max_size=4),
        st.tuples(children, children),
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(hostile_trees)
def test_to_scalar_raises_nothing_but_not_a_scalar(value: Any) -> None:
    """Whatever the object, to_scalar gives a float or raises NotAScalar."""
    with contextlib.suppress(NotAScalar):
        assert isinstance(to_scalar(value), float)


@settings(deadline=None)
@given(st.dictionaries(hostile_keys, hostile_trees, max_size=5))
def test_flatten_metrics_never_raises(metrics: dict[Any, Any]) -> None:
    """Whatever the mapping, flatten_metrics returns clean str keys and problems."""
    flat, problems = flatten_metrics(metrics)
    for key in flat:
        assert type(key) is str and key and not key.startswith("/") and not key.endswith("/")
        key.encode("utf-8")
    assert all(isinstance(p, KeyProblem) for p in problems)


@settings(deadline=None)
@given(hostile_trees)
def test_to_json_and_redact_of_anything_dump_to_utf8_json(value: Any) -> None:
    """to_json never raises; its output (and redact's) dumps to JSON that encodes to UTF-8."""
    out = to_json({"c": value})
    for clean in (out, redact(out)):
        json.dumps(clean, allow_nan=True).encode("utf-8")
    redact_text(json.dumps(out, allow_nan=True))


def _deep(depth: int) -> Any:
    value: Any = 1.0
    for _ in range(depth):
        value = [value]
    return value


plain_trees = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**64), max_value=2**64),  # int64's edges both sides
        st.floats(),
        st.text(alphabet=st.characters(codec=None), max_size=8),
        st.sampled_from(["a\x00b", "\udce9", "é", "\ud83d\ude00", ""]),  # NUL, surrogates
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(
            st.one_of(st.text(max_size=4), st.sampled_from(["k\x00", "\udce9"]), st.booleans()),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(st.one_of(plain_trees, hostile_trees, st.sampled_from([_deep(31), _deep(32), _deep(40)])))
def test_a_plain_value_dumps_as_its_to_json_does(value: Any) -> None:
    """Where is_plain_json says so, json.dumps of the value itself is the text of its
    to_json copy (tables write such cells without the copy)."""
    if is_plain_json(value):
        direct = json.dumps(value, ensure_ascii=False, allow_nan=True)
        assert direct == json.dumps(to_json(value), ensure_ascii=False, allow_nan=True)


def test_is_plain_json_says_no_where_to_json_changes_the_value() -> None:
    """Text to clean, an int past int64, a key that is not text, a subclass, nesting past
    the limit, a cycle: not plain."""
    cycle: list[Any] = []
    cycle.append(cycle)
    for value in (["a\x00"], ["\udce9"], [2**63], {True: 1}, [Color.RED], _deep(33), cycle):
        assert not is_plain_json(value), value
    assert is_plain_json({"a": [1, 2.5, None, True, "é", (3, {"b": _deep(20)})]})


@settings(deadline=None)
@given(
    st.text(alphabet=st.characters(codec=None)), st.sampled_from([s for s, _ in SHAPES.values()])
)
def test_redact_text_of_any_text_is_text_and_redacting_twice_changes_nothing(
    text: str, secret: str
) -> None:
    """Any string (surrogates too) is redacted without error, and redaction is idempotent."""
    once = redact_text(text + secret + text)
    assert redact_text(once) == once


_COLUMNS = st.sampled_from(
    ["prompt", "hub_token", "api-key", "password", "acc", "step_", "doc_id", HF, "x" * 40]
)
_CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.just(""),
    st.text(),
    st.sampled_from([s for s, _ in SHAPES.values()]),
    st.builds(
        lambda a, s, b: a + s + b,
        st.text(max_size=5),
        st.sampled_from([s for s, _ in SHAPES.values()]),
        st.text(max_size=5),
    ),
)


@settings(deadline=None, max_examples=300)
@given(
    st.lists(st.dictionaries(_COLUMNS, _CELLS, max_size=6), max_size=6),
    st.sampled_from(
        [
            Redactor(),
            Redactor(keys=(re.compile("acc"),), patterns=(re.compile("doc"),)),
            Redactor(enabled=False),
        ]
    ),
)
def test_redact_rows_makes_what_redact_makes_of_each_flat_row(
    rows: list[dict[str, Any]], redactor: Redactor
) -> None:
    """A table's rows redacted together (each column's name judged once) are what each
    redacted alone is: secret columns replaced, secret shapes in text cells, key names."""
    assert redactor.redact_rows(rows) == [redactor.redact(row) for row in rows]
