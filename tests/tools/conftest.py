"""Fixtures shared by the tool tests."""

from __future__ import annotations

import pytest

from tools.builtin import builtin_tools
from tools.registry import ToolRegistry


@pytest.fixture
def tools() -> ToolRegistry:
    """A registry holding every builtin agent tool, each registered once."""
    registry = ToolRegistry()
    for spec in builtin_tools():
        assert registry.register(spec)
    return registry
