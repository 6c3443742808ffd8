"""The graph's nodes: the brain (LLM or guide) and the tools node, plus the edges' routing rules.

The tools node runs ONE pending tool call per visit and loops back to itself while calls remain.
That keeps every `interrupt()` ahead of every side effect in its visit: when LangGraph re-runs the
node after an approval, no earlier call in the same turn runs again. Costly calls are also keyed
by thread + call id in the workspace event log, so a resumed or repeated visit never launches twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer

from agent.approvals import args_dict, decide
from agent.state import AgentState
from core.errors import TunesmithError
from tools.registry import ToolContext, ToolRegistry, ToolResult


def jsonable(value: Any) -> Any:
    """Plain JSON data (paths and other objects become strings) for checkpoints and doors."""
    return json.loads(json.dumps(value, default=str))


def pending_calls(messages: list[AnyMessage]) -> list[dict[str, Any]]:
    """Tool calls of the latest AI message that have no ToolMessage answer yet."""
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
        elif isinstance(message, AIMessage):
            return [c for c in message.tool_calls if c["id"] not in answered]
        else:
            return []
    return []


def route_start(state: AgentState) -> Literal["tools", "brain"]:
    """A turn opens on the tools when it arrives with calls already made (uploads)."""
    return "tools" if pending_calls(state.get("messages", [])) else "brain"


def route_after_brain(state: AgentState) -> Literal["tools", "__end__"]:
    return "tools" if pending_calls(state.get("messages", [])) else "__end__"


def route_after_tools(state: AgentState) -> Literal["tools", "brain"]:
    return "tools" if pending_calls(state.get("messages", [])) else "brain"


def latest_user_text(messages: list[AnyMessage]) -> str:
    """The person's own latest words: the only text allowed to name folders for tools to read."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return str(message.text)
    return ""


def thread_of(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("thread_id", ""))


class ToolsNode:
    """Validate, approve and run the next pending tool call; stream its start, progress and end."""

    def __init__(self, registry: ToolRegistry, ws: Any) -> None:
        self.registry = registry
        self.ws = ws

    def __call__(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        call = pending_calls(state.get("messages", []))[0]
        write = get_stream_writer()
        position = dict(state.get("position") or {})
        name, call_id = call["name"], call["id"]
        ctx = ToolContext(
            ws=self.ws,
            position=position,
            emit=_progress_writer(write, name, call_id),
            thread_id=thread_of(config),
            user_text=latest_user_text(state.get("messages", [])),
            registry=self.registry,
        )
        try:
            spec = self.registry.get(name)
            args = spec.parse(call.get("args") or {})
            verdict = decide(spec, args, ctx, call_id)  # may pause here for the person
        except TunesmithError as error:  # bad arguments, or a plan refused before asking
            return _answer(call, _error_result(error), ok=False)
        if verdict.args is None:
            return _answer(call, ToolResult(verdict.refusal, {"rejected": True}), ok=False)
        shown = args_dict(verdict.args)
        write({"kind": "tool_start", "tool": name, "args": shown, "call_id": call_id})
        started = time.monotonic()
        result = self._run_once(spec, verdict.args, ctx, call_id, verdict.approved)
        ok = "error" not in result.artifact
        write(
            {
                "kind": "tool_end",
                "tool": name,
                "call_id": call_id,
                "text": result.text,
                "artifact": jsonable(result.artifact),
                "duration_s": round(time.monotonic() - started, 3),
                "ok": ok,
            }
        )
        return _answer(call, result, ok=ok)

    def _run_once(self, spec, args, ctx: ToolContext, call_id: str, keyed: bool) -> ToolResult:
        """Run the tool; an approved call is recorded by thread + call id and never run twice."""
        if not keyed or self.ws is None:
            return _run(spec, args, ctx)
        key = f"call:{ctx.thread_id}:{call_id}"
        earlier = {e["kind"]: e["payload"] for e in self.ws.events(artifact=key, limit=5)}
        if "agent.call.done" in earlier:
            done = earlier["agent.call.done"]
            return ToolResult(done["text"], done.get("artifact", {}), done.get("position", {}))
        if "agent.call.start" in earlier:
            return ToolResult(
                f"{spec.name} was already started for this request and did not report back; "
                "it was not started again. Check its status before retrying.",
                {"error": "already started", "hint": "Ask for the status."},
            )
        self.ws.record_event("agent.call.start", key, {"tool": spec.name})
        result = _run(spec, args, ctx)
        self.ws.record_event(
            "agent.call.done",
            key,
            jsonable(
                {"text": result.text, "artifact": result.artifact, "position": result.position}
            ),
        )
        return result


def _run(spec, args, ctx: ToolContext) -> ToolResult:
    try:
        return spec.run(args, ctx)
    except TunesmithError as error:
        return _error_result(error)


def _error_result(error: TunesmithError) -> ToolResult:
    text = f"Error: {error.message}" + (f" What to do: {error.hint}" if error.hint else "")
    return ToolResult(text, {"error": error.message, "hint": error.hint})


def _progress_writer(write: Callable[[Any], None], tool: str, call_id: str):
    def emit(stage: str, done: int, total: int, detail: str = "") -> None:
        write(
            {
                "kind": "progress",
                "tool": tool,
                "call_id": call_id,
                "stage": stage,
                "done": done,
                "total": total,
                "detail": detail,
            }
        )

    return emit


def _answer(call: dict[str, Any], result: ToolResult, ok: bool) -> dict[str, Any]:
    message = ToolMessage(
        content=result.text,
        tool_call_id=call["id"],
        name=call["name"],
        artifact=jsonable(result.artifact),
        status="success" if ok else "error",
    )
    return {"messages": [message], "position": jsonable(result.position)}
