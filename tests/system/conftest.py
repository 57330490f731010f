"""Fixtures of the system-metrics tests: a stand-in NVML module in ``sys.modules``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from fake_nvml import FakeDevice, make_nvml


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Install a fake ``pynvml`` answering for the given devices; returns the module."""

    def install(devices: list[FakeDevice], **kwargs: Any) -> Any:
        nvml = make_nvml(devices, **kwargs)
        monkeypatch.setitem(sys.modules, "pynvml", nvml)
        return nvml

    return install


@pytest.fixture
def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import pynvml`` fail, as on a machine without nvidia-ml-py."""
    monkeypatch.setitem(sys.modules, "pynvml", None)
