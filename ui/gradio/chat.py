"""Chat tab: the conversation with the agent, its threads, approvals and uploads.

Replies stream token by token; every tool step shows as a collapsible message; a turn that
pauses for approval shows the action with Approve / Edit / Reject buttons. Threads belong to
an owner id kept in the browser (gr.BrowserState), so two browsers never list each other's
conversations. Uploaded files are copied into the workspace first (ui.gradio.uploads).
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from core.errors import TunesmithError
from ui.gradio.common import explain, workspace
from ui.gradio.transcript import Transcript, from_history
from ui.gradio.uploads import DEFAULT_LIMIT_MB, store_uploads

DEMO_LABEL = "Try the demo: the sample coffee company's documents"
CONCURRENT_TURNS = 32
_DONE = object()


def new_owner_id() -> str:
    return f"b-{secrets.token_hex(8)}"


def first_screen() -> str:
    """What greets a person: what Tunesmith does, the models in use, how to pick stronger ones."""
    from core.settings import get_settings

    settings = get_settings()
    agent = f"`{settings.agent_model}`" if settings.agent_model else "the offline guide (no LLM)"
    return (
        "### Tunesmith: from *I want a model that does X* to a tested fine-tuned model\n"
        "Describe the model you want, drop your documents or a JSONL/CSV dataset into the box, "
        "or press **Try the demo** to start from the sample coffee company's documents "
        "(`tunesmith demo` runs the whole workflow on them from the terminal).\n\n"
        f"**Models in use:** chat agent {agent}; base, synthesis and judge model "
        f"`{settings.base_model}`; embeddings `{settings.embedding_model}`.\n\n"
        "The embedded models run offline but are small and weak. For a stronger agent set "
        "`TUNESMITH_AGENT_MODEL=openai:gpt-4o-mini` (with `OPENAI_API_KEY`, or "
        "`TUNESMITH_OPENAI_BASE_URL` for vLLM/Ollama); for a stronger base model set "
        "`TUNESMITH_BASE_MODEL`. `tunesmith config` shows every setting."
    )


def on_one_thread(events: Iterator[Any]) -> Iterator[Any]:
    """Run a turn's event generator on one worker thread and hand the events over a queue.

    Gradio resumes a streaming handler on whichever pool thread is free, but AgentSession holds
    a lock across its yields, and a lock must be released by the thread that took it. A turn
    whose page was closed still runs to its end, so the thread's saved state stays whole.
    """
    handover: queue.Queue = queue.Queue()

    def pump() -> None:
        try:
            for event in events:
                handover.put(event)
        except BaseException as error:  # re-raised on the handler's side
            handover.put(error)
        finally:
            handover.put(_DONE)

    threading.Thread(target=pump, name="agent-turn", daemon=True).start()
    while (item := handover.get()) is not _DONE:
        if isinstance(item, BaseException):
            raise item
        yield item


class ChatHandlers:
    """The chat's event handlers, bound to the app's options (agent model, upload cap)."""

    def __init__(self, agent_model: str | None = None, upload_limit_mb: float = DEFAULT_LIMIT_MB):
        self.agent_model = agent_model
        self.upload_limit_mb = upload_limit_mb

    # -- sessions and threads ---------------------------------------------------------------

    def _session(self, thread_id: str | None, owner: str) -> Any:
        from agent.session import AgentSession

        try:  # a thread of another owner is refused here (NotFound)
            return AgentSession(thread_id or None, model=self.agent_model, owner=owner)
        except TunesmithError as error:
            raise gr.Error(explain(error)) from error

    @staticmethod
    def threads(owner: str) -> list[tuple[str, str]]:
        """The owner's conversations as (title, id), most recent first."""
        from agent.session import list_threads

        found = list_threads(owner=owner) if owner else []
        return [(t.title or t.id, t.id) for t in found]

    def _outputs(self, transcript: Transcript, thread_id: str, owner: str, busy: bool) -> tuple:
        pending = transcript.pending
        args = json.dumps(pending.data.get("args", {}), indent=2) if pending else ""
        return (
            transcript.messages,
            gr.MultimodalTextbox(interactive=not busy),
            thread_id,
            owner,
            # the threads list is re-read once a turn ends, not on every streamed token
            gr.skip() if busy else gr.Radio(choices=self.threads(owner), value=thread_id or None),
            gr.Column(visible=pending is not None and not busy),
            args,
        )

    def _stream(
        self, transcript: Transcript, events: Any, thread_id: str, owner: str
    ) -> Iterator[tuple]:
        """Render a turn's events as they come, then the final state (buttons back on)."""
        try:
            for event in on_one_thread(events):
                transcript.apply(event)
                yield self._outputs(transcript, thread_id, owner, busy=True)
        except TunesmithError as error:
            transcript.say(explain(error), "⚠ Error")
        yield self._outputs(transcript, thread_id, owner, busy=False)

    # -- handlers ---------------------------------------------------------------------------

    def start(self, owner: str | None) -> tuple:
        """Page load: give this browser an owner id if it has none, and list its threads."""
        owner = owner or new_owner_id()
        return owner, gr.Radio(choices=self.threads(owner), value=None)

    def send(
        self,
        box: dict | None,
        history: list,
        thread_id: str | None,
        owner: str | None,
        label: str = "",
    ) -> Iterator[tuple]:
        """One user turn: store uploads, show the message (or `label`), stream the reply."""
        owner = owner or new_owner_id()
        box = box or {}
        text = (box.get("text") or "").strip()
        transcript = Transcript(messages=list(history or []))
        try:
            files = store_uploads(workspace(), list(box.get("files") or []), self.upload_limit_mb)
        except TunesmithError as error:
            raise gr.Error(explain(error)) from error
        if not text and not files:
            raise gr.Error("Type a message or attach a file.")
        shown = (label or text) + "".join(f"\n\n📎 {f.name}" for f in files)
        transcript.user(shown.strip())
        session = self._session(thread_id, owner)
        yield self._outputs(transcript, session.thread_id, owner, busy=True)
        events = session.send(text, files=[str(f) for f in files])
        yield from self._stream(transcript, events, session.thread_id, owner)

    def decide(
        self, kind: str, args_json: str, history: list, thread_id: str | None, owner: str | None
    ) -> Iterator[tuple]:
        """Approve, edit (with the JSON in the box) or reject the paused action."""
        from agent.events import Decision

        if not thread_id:
            raise gr.Error("There is nothing waiting for approval.")
        args = None
        if kind == "edit":
            try:
                args = json.loads(args_json or "{}")
            except ValueError as error:
                raise gr.Error(f"The arguments are not valid JSON: {error}.") from error
            if not isinstance(args, dict):
                raise gr.Error('The arguments must be a JSON object, e.g. {"epochs": 2}.')
        owner = owner or ""
        session = self._session(thread_id, owner)
        transcript = Transcript(messages=list(history or []))
        said = {"approve": "Approved.", "reject": "Rejected.", "edit": "Approved with edits."}
        transcript.user(said[kind])
        events = session.resume(Decision(kind, args))
        yield from self._stream(transcript, events, thread_id, owner)

    def demo(self, history: list, thread_id: str | None, owner: str | None) -> Iterator[tuple]:
        """Try the demo: hand the shipped sample documents to the agent as if uploaded."""
        from core import sample_data

        docs = sorted(str(p) for p in sample_data.docs_dir().iterdir() if p.is_file())
        box = {"text": "", "files": docs}  # no words: the agent just takes the uploads
        yield from self.send(box, history, thread_id, owner, label=DEMO_LABEL)

    def open_thread(self, thread_id: str | None, owner: str | None) -> tuple:
        """Show a saved conversation of this owner (and its pending approval, if any)."""
        owner = owner or ""
        if thread_id not in {tid for _, tid in self.threads(owner)}:
            raise gr.Error("That conversation is not yours, or it no longer exists.")
        session = self._session(thread_id, owner)
        transcript = Transcript(messages=from_history(session.history()))
        transcript.pending = session.pending()
        return self._outputs(transcript, thread_id, owner, busy=False)

    def new_thread(self, owner: str | None) -> tuple:
        owner = owner or new_owner_id()
        return self._outputs(Transcript(), "", owner, busy=False)


def build(handlers: ChatHandlers) -> tuple:
    """Lay out the tab; return (on-load function, its outputs)."""
    owner = gr.BrowserState("", storage_key="tunesmith-owner")
    thread_id = gr.State("")
    with gr.Row():
        with gr.Column(scale=1, min_width=200):
            new_btn = gr.Button("+ New conversation")
            demo_btn = gr.Button("Try the demo", variant="primary")
            threads = gr.Radio(label="Your conversations", choices=[], elem_id="threads")
        with gr.Column(scale=4):
            chatbot = gr.Chatbot(
                label="Tunesmith", height=520, placeholder=first_screen(), elem_id="chat"
            )
            with gr.Column(visible=False, elem_id="approval") as approval:
                gr.Markdown("**Approve this step?** Edit the arguments below to change them.")
                args = gr.Code(language="json", label="Arguments", interactive=True)
                with gr.Row():
                    approve_btn = gr.Button("Approve", variant="primary")
                    edit_btn = gr.Button("Approve with edits")
                    reject_btn = gr.Button("Reject", variant="stop")
            box = gr.MultimodalTextbox(
                placeholder="Describe the model you want, or attach documents / a dataset…",
                file_count="multiple",
                sources=["upload"],
                show_label=False,
                elem_id="chat-input",
            )
    outputs = [chatbot, box, thread_id, owner, threads, approval, args]
    turn = {"outputs": outputs, "concurrency_limit": CONCURRENT_TURNS}
    sent = box.submit(handlers.send, [box, chatbot, thread_id, owner], **turn, api_name="send")
    sent.then(lambda: gr.MultimodalTextbox(value=None), outputs=box, api_name=False)
    demo_btn.click(handlers.demo, [chatbot, thread_id, owner], **turn, api_name=False)
    for button, kind in ((approve_btn, "approve"), (edit_btn, "edit"), (reject_btn, "reject")):
        button.click(
            lambda a, h, t, o, kind=kind: (yield from handlers.decide(kind, a, h, t, o)),
            [args, chatbot, thread_id, owner],
            **turn,
            api_name=False,
        )
    threads.input(handlers.open_thread, [threads, owner], outputs, api_name=False)
    new_btn.click(handlers.new_thread, owner, outputs, api_name=False)
    return handlers.start, [owner, threads], [owner]
