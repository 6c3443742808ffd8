"""The agent's wiring, on one screen.

    START ─(calls already made? uploads)─> tools
    START ──────────────────────────────> brain
    brain ─(tool calls?)─> tools ─(more calls?)─> tools
                 └─ no ─> END      └─ done ─> brain

The brain is an LLM or the offline guide (agent/brains); the tools node validates, asks for
approval (interrupt) and runs one call per visit (agent/nodes.py).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.nodes import ToolsNode, route_after_brain, route_after_tools, route_start
from agent.state import AgentState
from tools.registry import ToolRegistry


def build_graph(brain: Any, registry: ToolRegistry, ws: Any, checkpointer: Any = None) -> Any:
    """Compile the conversation graph; `checkpointer` (a SqliteSaver) keeps every thread."""
    graph = StateGraph(AgentState)
    graph.add_node("brain", brain)
    graph.add_node("tools", ToolsNode(registry, ws))
    graph.add_conditional_edges(START, route_start, ["tools", "brain"])
    graph.add_conditional_edges("brain", route_after_brain, ["tools", END])
    graph.add_conditional_edges("tools", route_after_tools, ["tools", "brain"])
    return graph.compile(checkpointer=checkpointer, name="tunesmith")
