"""The two brains that produce tool calls for the same graph: an LLM, or the offline guide.

A brain is a callable `(state, config) -> state update` (new messages, and for the guide its
draft). `make_brain` picks one from a model ref, a chat model object, or the settings.
"""

from __future__ import annotations

from typing import Any

from tools.registry import ToolRegistry


def make_brain(model: Any, registry: ToolRegistry, ws: Any) -> Any:
    """The LLM brain for a ref or chat model; the offline guide when `model` is empty."""
    if model is None:
        from core.settings import get_settings

        model = get_settings().agent_model.strip()
    if not model or model == "guide":
        from agent.brains.guide import GuideBrain

        return GuideBrain(registry, ws)
    from agent.brains.llm import LLMBrain

    return LLMBrain(model, registry, ws)
