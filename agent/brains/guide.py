"""The offline guide brain: no LLM, the same tool calls.

For a person's message it plans one step (agent/guide): route to a tool by meaning, fill the
arguments by rules, and either call the tool or ask for what is missing (remembered as a draft,
so the answer to the question completes the call). After tools ran it reports their results; a
tool that needs one more fact ("Which dataset?") becomes a question and a draft again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from agent.guide.replies import not_understood, what_next
from agent.guide.router import Router
from agent.guide.slots import TEXT_FIELDS, fill, routing_text
from agent.state import AgentState
from agent.uploads import UPLOAD_CALL_PREFIX, UPLOAD_NOTE
from core.errors import InvalidInput
from tools.registry import ToolRegistry

SWITCH_SCORE = 0.45
"""While a draft waits for an answer, a message this close to another tool starts over instead,
unless it carries something the draft can use (a path, a ref, a number...)."""
STRONG_SCORE = 0.65
"""A message this close to another tool starts over even when it carries such values."""
NEXT_WORDS = ("what next", "what now", "what should i do", "next step", "where am i", "what's next")


@dataclass
class Plan:
    """What the guide would do with a message: call `tool` with `args`, or just `reply`."""

    tool: str | None
    args: dict[str, Any] = field(default_factory=dict)
    reply: str = ""
    score: float = 0.0
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "args": self.args,
            "reply": self.reply,
            "score": self.score,
            "missing": self.missing,
        }


class Guide:
    """Routing + slot filling + questions, usable without the graph (`tunesmith route`)."""

    def __init__(self, registry: ToolRegistry) -> None:
        self.registry = registry
        self.router = Router(registry)

    def plan(
        self, text: str, position: dict[str, Any] | None = None, draft: dict | None = None
    ) -> Plan:
        position = position or {}
        route = self.router.route(routing_text(text))
        if draft and draft.get("tool") in self.registry.tools:
            other = route.tool is not None and route.tool != draft["tool"]
            useful = self._draft_gains(draft, text)
            limit = STRONG_SCORE if useful else SWITCH_SCORE
            if not (other and route.score >= limit):
                return self._attempt(draft["tool"], text, route.score, draft)
        if route.tool is None:
            if any(words in text.lower() for words in NEXT_WORDS):
                return Plan(None, reply=what_next(position), score=route.score)
            return Plan(None, reply=not_understood(self.registry, position), score=route.score)
        return self._attempt(route.tool, text, route.score)

    def _draft_gains(self, draft: dict, text: str) -> bool:
        """Does `text` give the draft something: a new argument, or the text it asked for?"""
        spec = self.registry.get(draft["tool"])
        before = draft.get("args") or {}
        after = fill(spec, text, keep=before)
        new = [k for k, v in after.items() if v is not None and before.get(k) is None]
        asked_text = any(_takes_text(spec, name) for name in draft.get("missing", []))
        return bool(new) or asked_text

    def _attempt(self, tool: str, text: str, score: float, draft: dict | None = None) -> Plan:
        spec = self.registry.get(tool)
        args = fill(spec, text, keep=(draft or {}).get("args"))
        for name in (draft or {}).get("missing", []):
            if args.get(name) is None and _takes_text(spec, name):
                args[name] = text  # the answer to "what should I search for?" is the text itself
        try:
            spec.parse(args)
        except InvalidInput as error:
            missing = _missing_fields(spec, args)
            question = _question(spec, missing, error)
            return Plan(tool, args, question, score, missing)
        return Plan(tool, {k: v for k, v in args.items() if v is not None}, "", score)


class GuideBrain:
    """The graph's brain node when no LLM is configured."""

    def __init__(self, registry: ToolRegistry, ws: Any = None) -> None:
        self.guide = Guide(registry)
        self.label = "offline guide"

    def __call__(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        messages = state.get("messages", [])
        position = dict(state.get("position") or {})
        last = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        if messages and isinstance(messages[-1], ToolMessage):
            report = self._report(messages)
            request = _request_beside_uploads(messages, last)
            if request and not report["draft"]:  # "train on this" sent with the file
                plan = self.guide.plan(request, position)
                if plan.tool and not plan.reply:
                    text = report["messages"][0].content
                    return {"messages": [AIMessage(content=text, tool_calls=[_call(plan)])]}
            return report
        plan = self.guide.plan(str(last.text) if last else "", position, state.get("draft"))
        if plan.reply:
            draft = {"tool": plan.tool, "args": plan.args, "missing": plan.missing}
            return {"messages": [AIMessage(plan.reply)], "draft": draft if plan.tool else {}}
        return {"messages": [AIMessage(content="", tool_calls=[_call(plan)])], "draft": {}}

    def _report(self, messages: list) -> dict[str, Any]:
        """Say what the tools of this turn did; a tool that needs more turns into a question."""
        results: list[ToolMessage] = []
        call_args: dict[str, dict] = {}
        for message in reversed(messages):
            if isinstance(message, ToolMessage):
                results.insert(0, message)
            elif isinstance(message, AIMessage):
                call_args = {c["id"]: c["args"] for c in message.tool_calls}
                break
        lines, draft = [], {}
        for result in results:
            artifact = result.artifact or {}
            if artifact.get("rejected"):
                lines.append(f"OK, I did not run {result.name}.")
            elif artifact.get("error"):
                lines.append(
                    f"I need more to {result.name.replace('_', ' ')}: {artifact['error']}"
                    + (f" {artifact['hint']}" if artifact.get("hint") else "")
                )
                args = call_args.get(result.tool_call_id, {})
                draft = {"tool": result.name, "args": args, "missing": []}
            else:
                lines.append(str(result.text))
        return {"messages": [AIMessage("\n".join(lines))], "draft": draft}


def _call(plan: Plan) -> dict[str, Any]:
    return {"name": plan.tool, "args": plan.args, "id": f"guide-{uuid.uuid4().hex[:12]}"}


def _request_beside_uploads(messages: list, last: HumanMessage | None) -> str:
    """The person's own words sent with uploaded files, once the uploads are done (else '')."""
    caller = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if last is None or caller is None or not caller.tool_calls:
        return ""
    if not all(c["id"].startswith(UPLOAD_CALL_PREFIX) for c in caller.tool_calls):
        return ""
    return str(last.text).split(UPLOAD_NOTE)[0].strip()


def _takes_text(spec: Any, name: str) -> bool:
    return name in TEXT_FIELDS or name in ("where", "dataset", "kb", "name")


def _missing_fields(spec: Any, args: dict[str, Any]) -> list[str]:
    try:
        spec.args_schema.model_validate(args)
    except Exception as error:  # pydantic ValidationError: the fields it names
        return sorted({str(e["loc"][0]) for e in error.errors() if e.get("loc")})
    return []


def _question(spec: Any, missing: list[str], error: InvalidInput) -> str:
    fields = spec.args_schema.model_fields
    asks = [
        f"{name.replace('_', ' ')} ({fields[name].description})"
        if fields.get(name) and fields[name].description
        else name
        for name in missing
    ]
    what = spec.name.replace("_", " ")
    if asks:
        return f"To {what} I need: " + "; ".join(asks) + ". What should I use?"
    return f"To {what} I need more: {error.message} {error.hint}".strip()
