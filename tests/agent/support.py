"""Test helpers for the agent: a scripted chat model with bind_tools, and small real ToolSpecs.

The scripted model stands in for a remote LLM only (the one thing that cannot run here): each
turn it returns the next scripted AIMessage, or calls a function of the conversation so a script
can use ids that tools returned. The small tools write real files so tests can count side effects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import BaseModel, Field, PrivateAttr

from tools.registry import ToolContext, ToolRegistry, ToolResult, ToolSpec

Step = AIMessage | Callable[[list[BaseMessage]], AIMessage]


class ScriptedChatModel(BaseChatModel):
    """Returns scripted replies in order; records the messages it was shown each turn."""

    script: list[Any] = Field(default_factory=list)
    _seen: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _bound: list[str] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        self._bound = [t.name for t in tools]
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self._seen.append(list(messages))
        if not self.script:
            raise AssertionError("the scripted model ran out of replies")
        step = self.script.pop(0)
        message = step(list(messages)) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=message)])

    @property
    def seen(self) -> list[list[BaseMessage]]:
        return self._seen

    @property
    def bound(self) -> list[str]:
        return self._bound


def call(tool: str, call_id: str, **args: Any) -> AIMessage:
    """An AI message that calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": tool, "args": args, "id": call_id}])


# -- small tools with real side effects ------------------------------------------------------------


class NoteArgs(BaseModel):
    text: str = Field(min_length=1, description="What to write down.")


class LaunchArgs(BaseModel):
    name: str = Field(min_length=1, max_length=40, description="Name of the job to launch.")
    steps: int = Field(10, ge=1, le=1000, description="How many steps it runs.")


def _note(args: NoteArgs, ctx: ToolContext) -> ToolResult:
    path = ctx.ws.root / "notes.txt"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(args.text + "\n")
    ctx.emit("writing", 1, 1, "")
    return ToolResult(f"Noted: {args.text}", {"path": str(path)})


def launches(ws: Any) -> list[dict[str, Any]]:
    """Every launch the fake launcher made, from its ledger file."""
    path = ws.root / "launches.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _launch(args: LaunchArgs, ctx: ToolContext) -> ToolResult:
    for step in range(1, 4):
        ctx.emit("launching", step, 3, args.name)
    with (ctx.ws.root / "launches.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(args.model_dump()) + "\n")
    job = f"job-{len(launches(ctx.ws))}"
    return ToolResult(
        f"Launched {args.name} ({args.steps} steps) as {job}.", {"job": job}, {"run": job}
    )


NOTE = ToolSpec(
    name="take_note",
    description="Write a short note into the workspace notebook so it is remembered.",
    args_schema=NoteArgs,
    run=_note,
    examples=("write this down", "take a note that the meeting moved", "remember this for me"),
)
LAUNCH = ToolSpec(
    name="launch_job",
    description="Launch a long, costly background job on the machine; needs approval.",
    args_schema=LaunchArgs,
    run=_launch,
    examples=("launch the job", "start the heavy computation", "kick off a background run"),
    needs_approval=lambda args, ctx: f"Launch {args.name} for {args.steps} steps (costly).",
)


def small_registry() -> ToolRegistry:
    registry = ToolRegistry()
    for spec in (NOTE, LAUNCH):
        assert registry.register(spec), registry.refused
    return registry
