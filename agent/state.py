"""What the graph remembers between steps and across restarts (checkpointed per thread).

`messages` is the conversation (LangChain messages, appended by `add_messages`). `position` is
where the person stands in the workflow, merged key by key from each tool's
`ToolResult.position`, so "the last run" or "this dataset" always has an answer. `draft` is the
offline guide's half-filled tool call while it waits for a missing argument.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

POSITION_KEYS = (
    "project",
    "use_case",
    "kb",
    "dataset",
    "run",
    "eval",
    "evals",
    "experiment",
    "base_model",
)


def merge_position(current: dict[str, Any] | None, update: dict[str, Any] | None) -> dict[str, Any]:
    """Later facts win key by key; a None value clears that key (e.g. a deleted dataset)."""
    merged = dict(current or {})
    for key, value in (update or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def replace_draft(_current: dict | None, update: dict | None) -> dict | None:
    """The guide's draft is replaced whole; an empty dict clears it."""
    return update or None


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    position: Annotated[dict[str, Any], merge_position]
    draft: Annotated[dict[str, Any] | None, replace_draft]
