"""What a conversation turn streams to the doors (terminal, Gradio, Slack), in one small vocabulary.

Every door renders the same events, so none of them needs to know LangGraph's stream format:

    token       a piece of the assistant's reply (text)
    message     the assistant's whole reply, once it is complete (text)
    tool_start  a tool call begins (tool, args, call_id)
    progress    long work advanced (tool, stage, done, total, detail)
    tool_end    a tool call finished (tool, call_id, text, artifact, duration_s, ok)
    approval    the turn paused for the person (tool, args, reason, call_id); resume with
                AgentSession.resume(Decision(...))
    error       something failed; text says what, hint says what to do
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["token", "message", "tool_start", "progress", "tool_end", "approval", "error"]
DecisionKind = Literal["approve", "edit", "reject"]


@dataclass
class AgentEvent:
    """One thing that happened in a turn; `data` holds the kind-specific fields listed above."""

    kind: EventKind
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    """The person's answer to an approval: approve, edit (with new arguments) or reject."""

    kind: DecisionKind
    args: dict[str, Any] | None = None
    reason: str = ""


@dataclass
class ThreadInfo:
    """One saved conversation, for a threads list."""

    id: str
    title: str
    updated_at: str
