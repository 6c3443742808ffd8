"""The one API every door uses: a conversation thread you send text (and files) to and get events.

    session = AgentSession(owner="alice")              # a new thread; or AgentSession(thread_id)
    for event in session.send("I want short answers about our coffee"):
        render(event)                                  # token, message, tool_*, progress, ...
    if (ask := session.pending()) is not None:         # an approval the turn paused on
        for event in session.resume(Decision("approve")):
            render(event)

The brain is the `model` ref (or TUNESMITH_AGENT_MODEL), else the offline guide; the tools come
from the plugin registry. Threads persist in the workspace, so a new session with the same id
(after a restart, in another door) has the same history, position and pending approval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.types import Command

from agent.approvals import read_decision
from agent.events import AgentEvent, Decision, ThreadInfo
from agent.persistence import (
    check_thread_id,
    new_thread_id,
    open_checkpointer,
    thread_owner,
    touch_thread,
)
from agent.persistence import (
    list_threads as _list_threads,
)
from core.errors import InvalidInput, NotFound, TunesmithError
from core.workspace import Workspace

__all__ = ["AgentSession", "list_threads", "new_thread_id"]

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 20_000
YES_WORDS = {"y", "yes", "ok", "okay", "approve", "approved", "go", "go ahead", "do it", "sure"}
NO_WORDS = {"n", "no", "reject", "rejected", "cancel", "stop", "don't", "do not"}
STREAM_MODES = ["messages", "custom", "updates"]


def list_threads(owner: str | None = None, ws: Workspace | None = None) -> list[ThreadInfo]:
    """Saved conversations, newest first (only `owner`'s when given)."""
    return _list_threads(owner, ws)


class AgentSession:
    """One conversation thread, driven by an LLM or the offline guide, kept in the workspace."""

    def __init__(
        self,
        thread_id: str | None = None,
        *,
        model: Any = None,
        ws: Workspace | None = None,
        owner: str = "",
        registry: Any = None,
    ) -> None:
        from agent.brains import make_brain
        from agent.graph import build_graph
        from tools.registry import load_registry

        self.ws = ws or Workspace.from_settings()
        self.owner = owner
        self.thread_id = check_thread_id(thread_id) if thread_id else new_thread_id()
        if thread_id is not None:
            recorded = thread_owner(self.ws, thread_id)
            if recorded is not None and recorded != owner:
                raise NotFound(
                    f"There is no conversation {thread_id!r} for you.",
                    "Start a new one, or pick one from your threads list.",
                )
        self.registry = registry if registry is not None else load_registry()
        self.brain = make_brain(model, self.registry, self.ws)
        self.checkpointer = open_checkpointer(self.ws)
        self.graph = build_graph(self.brain, self.registry, self.ws, self.checkpointer)
        self.config = {"configurable": {"thread_id": self.thread_id}}
        # Guards the graph and its SQLite connection. It is held only while the turn computes
        # its next event, never while a door holds that event: a door may resume the turn on
        # another thread (Gradio's worker pool does), or answer an approval while the turn that
        # asked for it is still suspended (the terminal chat does).
        self._lock = threading.Lock()

    # -- turns ---------------------------------------------------------------------------------

    def send(self, text: str, files: Iterable[str | Path] = ()) -> Iterator[AgentEvent]:
        """Stream one turn: the person's text, plus any files already saved (uploads).

        A generator: the turn runs as it is iterated, so iterate it to the end (a door that
        drops it half-way leaves the rest of the turn undone, never half a tool call).
        """
        return self._step_locked(self._send(text, files))

    def resume(self, decision: Decision) -> Iterator[AgentEvent]:
        """Answer the pending approval (approve, edit with new args, reject) and stream the rest."""
        return self._step_locked(self._resume(decision))

    def _step_locked(self, events: Iterator[AgentEvent]) -> Iterator[AgentEvent]:
        """Yield `events`, computing each one under the session lock (see __init__)."""
        while True:
            with self._lock:
                event = next(events, None)
            if event is None:
                return
            yield event

    def _send(self, text: str, files: Iterable[str | Path]) -> Iterator[AgentEvent]:
        try:
            text = _clean_text(text)
            files = [Path(f) for f in files]
            if not text and not files:
                raise InvalidInput("The message is empty.", "Type what you want to do.")
        except TunesmithError as error:
            yield _error_event(error)
            return
        if self.pending() is not None:
            answer = text.lower().strip(" .!")
            if not files and answer in YES_WORDS | NO_WORDS:
                kind = "approve" if answer in YES_WORDS else "reject"
                yield from self._resume(Decision(kind))
                return
            yield from self._resume(
                Decision("reject", reason="the person moved on to something else")
            )
        touch_thread(self.ws, self.thread_id, self.owner, text or "uploaded files")
        try:
            messages = [HumanMessage(text or "(uploaded files)")]
            if files:
                from agent.uploads import upload_calls

                note, call = upload_calls(files, self.position(), self.registry, self.ws)
                messages = [HumanMessage((text + "\n\n" if text else "") + note), call]
        except TunesmithError as error:
            yield _error_event(error)
            return
        yield from self._stream({"messages": messages})

    def _resume(self, decision: Decision) -> Iterator[AgentEvent]:
        try:
            kind, args, reason = read_decision(decision)
            if self.pending() is None:
                raise InvalidInput("Nothing is waiting for approval.", "Just send a message.")
        except TunesmithError as error:
            yield _error_event(error)
            return
        touch_thread(self.ws, self.thread_id, self.owner, "")
        resume = {"kind": kind, "args": args, "reason": reason}
        yield from self._stream(Command(resume=resume))

    def _stream(self, payload: Any) -> Iterator[AgentEvent]:
        """Run the graph and translate LangGraph's stream into AgentEvents."""
        try:
            for mode, chunk in self.graph.stream(payload, self.config, stream_mode=STREAM_MODES):
                yield from _translate(mode, chunk)
        except TunesmithError as error:
            yield _error_event(error)
        except Exception as error:  # a door must always get an answer, never a stack trace
            log.exception("agent turn failed")
            yield AgentEvent(
                "error",
                f"Something went wrong: {type(error).__name__}: {error}",
                {"hint": "Try again; if it keeps failing, start a new thread (/new)."},
            )

    # -- reading the thread --------------------------------------------------------------------

    def _snapshot(self) -> Any:
        return self.graph.get_state(self.config)

    def pending(self) -> AgentEvent | None:
        """The approval this thread is paused on, or None."""
        for interrupt in self._snapshot().interrupts or ():
            return _approval_event(interrupt.value)
        return None

    def position(self) -> dict[str, Any]:
        """Where the conversation stands: project, kb, dataset, run, eval..."""
        return dict(self._snapshot().values.get("position") or {})

    def history(self) -> list[dict[str, Any]]:
        """The conversation as plain dicts: role, content; tool steps add the tool and artifact."""
        rows: list[dict[str, Any]] = []
        for message in self._snapshot().values.get("messages", []):
            if isinstance(message, HumanMessage):
                rows.append({"role": "user", "content": str(message.text)})
            elif isinstance(message, ToolMessage):
                rows.append(
                    {
                        "role": "tool",
                        "content": str(message.text),
                        "tool": message.name or "",
                        "artifact": message.artifact or {},
                        "ok": message.status != "error",
                    }
                )
            elif isinstance(message, AIMessage):
                row: dict[str, Any] = {"role": "assistant", "content": str(message.text)}
                if message.tool_calls:
                    row["tool_calls"] = [
                        {"tool": c["name"], "args": c["args"], "call_id": c["id"]}
                        for c in message.tool_calls
                    ]
                if row["content"] or message.tool_calls:
                    rows.append(row)
        return rows

    def close(self) -> None:
        """Close the checkpoint connection (sessions also close when garbage-collected)."""
        self.checkpointer.conn.close()


def _clean_text(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidInput("A message must be text.", "Send a string.")
    text = text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"The message is {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}.",
            "Upload long text as a file instead.",
        )
    return text


def _translate(mode: str, chunk: Any) -> Iterator[AgentEvent]:
    if mode == "messages":
        message, meta = chunk
        from_brain = meta.get("langgraph_node") == "brain"
        if from_brain and isinstance(message, AIMessage) and message.text:
            yield AgentEvent("token", str(message.text))
    elif mode == "custom" and isinstance(chunk, dict) and "kind" in chunk:
        data = {k: v for k, v in chunk.items() if k != "kind"}
        yield AgentEvent(chunk["kind"], str(data.get("text", "")), data)
    elif mode == "updates":
        for interrupt in chunk.get("__interrupt__", ()):
            yield _approval_event(interrupt.value)
        for message in (chunk.get("brain") or {}).get("messages", []):
            complete = isinstance(message, AIMessage) and not isinstance(message, AIMessageChunk)
            if complete and message.text:
                yield AgentEvent("message", str(message.text))


def _approval_event(value: dict[str, Any]) -> AgentEvent:
    return AgentEvent("approval", value.get("reason", ""), dict(value))


def _error_event(error: TunesmithError) -> AgentEvent:
    return AgentEvent("error", error.message, {"hint": error.hint})
