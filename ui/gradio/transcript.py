"""Agent events -> the chat's messages: streamed text, and each tool step as a collapsible
message (gr.ChatMessage metadata: title, status pending/done, duration).

Kept apart from the layout so the mapping can be tested without a browser, and so the same
rendering serves a new message, an approval decision and a reopened thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.events import AgentEvent

ARGS_CHARS = 400
ID_KEYS = ("kb", "dataset", "run", "eval", "model", "experiment", "export")


def _args_text(args: Any) -> str:
    text = json.dumps(args, ensure_ascii=False, default=str)
    return text if len(text) <= ARGS_CHARS else text[: ARGS_CHARS - 1] + "…"


def _artifact_ids(artifact: Any) -> str:
    """The ids a tool result names (kb:…, ds:…, run:…, eval:…), not its whole payload."""
    if isinstance(artifact, str):
        return f"`{artifact}`"
    if not isinstance(artifact, dict):
        return ""
    ids = [v for k, v in artifact.items() if k in ID_KEYS and isinstance(v, str) and v]
    return ", ".join(f"`{i}`" for i in ids)


@dataclass
class Transcript:
    """The chatbot's message list, updated in place one event at a time."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)  # call_id -> index of its step message
    streaming: int | None = None  # index of the assistant message tokens are appended to
    pending: AgentEvent | None = None  # the approval the turn paused on, if any

    def user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})
        self.streaming = None

    def say(self, text: str, title: str = "") -> None:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if title:
            message["metadata"] = {"title": title}
        self.messages.append(message)
        self.streaming = None

    def apply(self, event: AgentEvent) -> None:
        """Fold one agent event into the messages."""
        data = event.data
        if event.kind == "token":
            if self.streaming is None:
                self.messages.append({"role": "assistant", "content": ""})
                self.streaming = len(self.messages) - 1
            self.messages[self.streaming]["content"] += event.text
        elif event.kind == "message":
            if self.streaming is not None:
                self.messages[self.streaming]["content"] = event.text
                self.streaming = None
            elif event.text:
                self.say(event.text)
        elif event.kind == "tool_start":
            self._step_start(data)
        elif event.kind == "progress":
            self._step_progress(data)
        elif event.kind == "tool_end":
            self._step_end(data)
        elif event.kind == "approval":
            self.pending = event
            self.say(
                f"**{data.get('tool', 'This step')}** needs your approval: "
                f"{data.get('reason') or event.text}\n\n"
                f"Arguments: `{_args_text(data.get('args'))}`",
                title="⏸ Waiting for approval",
            )
        elif event.kind == "error":
            hint = data.get("hint", "")
            self.say(f"{event.text}" + (f"\n\n**What to do:** {hint}" if hint else ""), "⚠ Error")

    def _step(self, data: dict[str, Any]) -> dict[str, Any] | None:
        index = self.steps.get(str(data.get("call_id", "")))
        return self.messages[index] if index is not None else None

    def _step_start(self, data: dict[str, Any]) -> None:
        call_id = str(data.get("call_id") or f"step-{len(self.steps)}")
        self.messages.append(
            {
                "role": "assistant",
                "content": f"Arguments: `{_args_text(data.get('args', {}))}`",
                "metadata": {
                    "title": f"🔧 {data.get('tool', 'tool')}",
                    "status": "pending",
                    "id": call_id,
                },
            }
        )
        self.steps[call_id] = len(self.messages) - 1
        self.streaming = None

    def _step_progress(self, data: dict[str, Any]) -> None:
        step = self._step(data)
        if step is None:
            return
        done, total = data.get("done"), data.get("total")
        count = f" {done}/{total}" if total else ""
        detail = f" — {data['detail']}" if data.get("detail") else ""
        step["metadata"]["log"] = f"{data.get('stage', '')}{count}{detail}"

    def _step_end(self, data: dict[str, Any]) -> None:
        step = self._step(data)
        if step is None:  # an end without a start still shows as a finished step
            self._step_start(data)
            step = self.messages[-1]
        meta = step["metadata"]
        meta["status"] = "done"
        meta.pop("log", None)
        if data.get("duration_s") is not None:
            meta["duration"] = round(float(data["duration_s"]), 2)
        if data.get("ok") is False:
            meta["title"] = meta["title"].replace("🔧", "✗")
        made = _artifact_ids(data.get("artifact"))
        step["content"] = (data.get("text") or "") + (f"\n\nMade: {made}" if made else "")


def from_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A saved thread (AgentSession.history(): user, assistant and tool rows) as chat messages."""
    messages: list[dict[str, Any]] = []
    for item in history:
        content = str(item.get("content") or "")
        if item.get("role") == "tool":
            title = f"{'🔧' if item.get('ok', True) else '✗'} {item.get('tool') or 'tool'}"
            messages.append(
                {
                    "role": "assistant",
                    "content": content,
                    "metadata": {"title": title, "status": "done"},
                }
            )
        elif content:
            role = "user" if item.get("role") == "user" else "assistant"
            messages.append({"role": role, "content": content})
    return messages
