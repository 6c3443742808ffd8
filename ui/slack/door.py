"""What the Slack app does for a message, a button press and a submitted modal.

Bolt calls these handlers after verifying the request; each one acknowledges Slack at once and
hands the slow part (an agent turn: seconds to minutes) to a small pool of worker threads, so
Slack gets its answer within 3 seconds whatever the agent does. A worker holds its thread's lock
for the whole turn, so a thread never runs two turns at once on one checkpoint.

Which messages start a turn: a direct message (every one; a top-level DM starts a new thread), an
@mention anywhere, and a reply in a thread that an @mention started. A reply in a thread that
mentions the bot arrives twice (app_mention and message): the first handler to claim the
message's keys runs it, the other does nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from slack_sdk import WebClient

from agent.events import AgentEvent, Decision
from core.errors import InvalidInput, TunesmithError
from ui.slack import blocks
from ui.slack.dedupe import SeenKeys, message_keys
from ui.slack.files import SlackFiles
from ui.slack.stream import ThreadReply, stream_turn
from ui.slack.threads import ThreadOwners, TurnLocks, may_decide, slack_place, thread_id_for

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+>")
HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")


class Session(Protocol):
    """The part of agent.session.AgentSession the Slack door drives."""

    thread_id: str

    def send(self, text: str, files: list[Path] | None = None): ...
    def resume(self, decision: Decision): ...
    def pending(self) -> AgentEvent | None: ...


SessionFactory = Callable[[str, str], Session]


class Jobs(ThreadPoolExecutor):
    """A thread pool that remembers its unfinished jobs, so a caller can wait for quiet."""

    def __init__(self, workers: int, name: str) -> None:
        super().__init__(max_workers=workers, thread_name_prefix=name)
        self.running: set[Future] = set()
        self.running_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self.running_lock:
            self.running.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future) -> None:
        with self.running_lock:
            self.running.discard(future)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job runs (True) or `timeout` passes (False)."""
        with self.running_lock:
            pending = set(self.running)
        return not wait(pending, timeout=timeout).not_done


@dataclass
class Place:
    """Where a turn's replies go, and who is asking."""

    channel: str
    thread_ts: str
    user: str

    @property
    def thread_id(self) -> str:
        return thread_id_for(self.channel, self.thread_ts)


class SlackDoor:
    """The Slack handlers; `build_app` in ui/slack_app.py registers them on a Bolt app."""

    def __init__(
        self,
        client: WebClient,
        owners: ThreadOwners,
        files: SlackFiles,
        new_session: SessionFactory,
        admins: frozenset[str] = frozenset(),
        min_update_interval_s: float = 1.0,
        workers: int = 4,
    ) -> None:
        self.client = client
        self.owners = owners
        self.files = files
        self.new_session = new_session
        self.admins = admins
        self.min_update_interval_s = min_update_interval_s
        self.seen = SeenKeys()
        self.locks = TurnLocks()
        self.jobs = Jobs(workers, "slack-turn")
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.sessions_lock = threading.Lock()

    # -- incoming messages ---------------------------------------------------------------------

    def on_mention(self, event: dict[str, Any]) -> None:
        self._start_turn(event)

    def on_message(self, event: dict[str, Any], bot_user_id: str | None) -> None:
        if event.get("subtype") not in HANDLED_SUBTYPES or event.get("bot_id"):
            return
        if event.get("channel_type") != "im":
            in_thread = event.get("thread_ts") and event.get("thread_ts") != event.get("ts")
            if not in_thread or (bot_user_id and f"<@{bot_user_id}>" in event.get("text", "")):
                return  # a channel message is ours only as a reply in our thread; mentions: above
            try:
                thread_id = thread_id_for(event.get("channel", ""), event["thread_ts"])
            except InvalidInput:
                return
            if self.owners.owner(thread_id) is None:
                return
        self._start_turn(event)

    def _start_turn(self, event: dict[str, Any]) -> None:
        place = Place(
            str(event.get("channel", "")),
            str(event.get("thread_ts") or event.get("ts", "")),
            str(event.get("user", "")),
        )
        try:
            place.thread_id  # noqa: B018 (validates channel and ts)
        except InvalidInput as error:
            log.warning("Ignoring a Slack message: %s", error)
            return
        if not place.user or not self.seen.claim(message_keys(event)):
            return  # no person behind it (a workflow, an app), or already running
        text = MENTION.sub("", str(event.get("text", ""))).strip()
        self.jobs.submit(self._run_message, place, text, list(event.get("files") or []))

    def _run_message(self, place: Place, text: str, shared: list[dict[str, Any]]) -> None:
        thread_id = place.thread_id
        with self.locks.for_thread(thread_id), self._reporting_errors(place):
            owner = self.owners.claim(thread_id, place.user, text or "files")
            session = self._session(thread_id, owner)
            if session.pending() is not None and not may_decide(place.user, owner, self.admins):
                # A message while an approval waits answers it ("yes" approves, anything else
                # rejects it and moves on), so it is a decision: owner and admins only.
                self._refuse(place, owner)
                return
            paths, refused = self.files.download_all(shared) if shared else ([], [])
            if refused:
                self._post(place, ":warning: Not taken:\n" + "\n".join(f"• {r}" for r in refused))
            if not text and not paths:
                return
            self._stream(place, session.send(text, files=paths), thread_id, owner)

    # -- approvals -----------------------------------------------------------------------------

    def on_action(self, body: dict[str, Any]) -> None:
        """A press on approve / edit / reject (already acknowledged by the caller)."""
        user = (body.get("user") or {}).get("id", "")
        action = (body.get("actions") or [{}])[0]
        thread_id, call_id = blocks.read_button_value(str(action.get("value", "")))
        decision = blocks.DECISION_BY_ACTION.get(str(action.get("action_id")))
        try:
            channel, thread_ts = slack_place(thread_id)
        except InvalidInput:
            return
        if decision is None:
            return
        place = Place(channel, thread_ts, user)
        owner = self.owners.owner(thread_id)
        if not may_decide(user, owner, self.admins):
            self._refuse(place, owner)
            return
        card_ts = str((body.get("container") or {}).get("message_ts") or "")
        if decision == "edit":
            self.jobs.submit(self._open_editor, place, call_id, card_ts, body.get("trigger_id"))
        else:
            self.jobs.submit(self._run_decision, place, call_id, card_ts, Decision(decision))

    def on_edit_submitted(self, body: dict[str, Any], view: dict[str, Any]) -> str:
        """Start the edited call; returns '' on success or why the arguments were refused."""
        args = blocks.read_edited_args(view)
        if isinstance(args, str):
            return args
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            channel, thread_ts = slack_place(str(meta.get("thread", "")))
        except (ValueError, InvalidInput):
            return "This form no longer matches an approval; press Edit again."
        place = Place(channel, thread_ts, (body.get("user") or {}).get("id", ""))
        owner = self.owners.owner(place.thread_id)
        if not may_decide(place.user, owner, self.admins):
            return "Only the person who started the thread or an admin may decide."
        decision = Decision("edit", args)
        self.jobs.submit(
            self._run_decision, place, str(meta.get("call_id")), str(meta.get("card_ts")), decision
        )
        return ""

    def _refuse(self, place: Place, owner: str | None) -> None:
        who = f"<@{owner}>" if owner else "the person who started this thread"
        self.client.chat_postEphemeral(
            channel=place.channel,
            thread_ts=place.thread_ts,
            user=place.user,
            text=f"Only {who} or a Tunesmith admin can answer the approval waiting here.",
        )

    def _open_editor(self, place: Place, call_id: str, card_ts: str, trigger_id: str) -> None:
        thread_id = place.thread_id
        with self._reporting_errors(place):
            pending = self._pending(place, call_id)
            if pending is None:
                return
            meta = json.dumps({"thread": thread_id, "call_id": call_id, "card_ts": card_ts})
            self.client.views_open(
                trigger_id=trigger_id, view=blocks.edit_modal(pending.data.get("args") or {}, meta)
            )

    def _run_decision(self, place: Place, call_id: str, card_ts: str, decision: Decision) -> None:
        thread_id = place.thread_id
        with self.locks.for_thread(thread_id), self._reporting_errors(place):
            pending = self._pending(place, call_id)
            if pending is None:
                return
            tool = str(pending.data.get("tool", "?"))
            if card_ts:
                self.client.chat_update(
                    channel=place.channel,
                    ts=card_ts,
                    text=f"{tool}: {decision.kind} by {place.user}",
                    blocks=blocks.decided_blocks(tool, decision.kind, place.user),
                )
            session = self._session(thread_id, self.owners.owner(thread_id) or "")
            self._stream(place, session.resume(decision), thread_id, self.owners.owner(thread_id))

    def _pending(self, place: Place, call_id: str) -> AgentEvent | None:
        """The approval the thread waits for, if it is the one pressed; else tell the presser."""
        session = self._session(place.thread_id, self.owners.owner(place.thread_id) or "")
        pending = session.pending()
        if pending is None or str(pending.data.get("call_id", "")) != call_id:
            self.client.chat_postEphemeral(
                channel=place.channel,
                thread_ts=place.thread_ts,
                user=place.user,
                text="This approval was already answered; nothing was run again.",
            )
            return None
        return pending

    # -- plumbing ------------------------------------------------------------------------------

    def _session(self, thread_id: str, owner: str) -> Session:
        """One session per thread, kept for the next message (the oldest of 64 is dropped)."""
        with self.sessions_lock:
            if thread_id in self.sessions:
                self.sessions.move_to_end(thread_id)
                return self.sessions[thread_id]
            session = self.new_session(thread_id, owner)
            self.sessions[thread_id] = session
            while len(self.sessions) > 64:
                _, dropped = self.sessions.popitem(last=False)
                getattr(dropped, "close", lambda: None)()
            return session

    def _stream(self, place: Place, events, thread_id: str, owner: str | None) -> None:
        reply = ThreadReply(self.client, place.channel, place.thread_ts, self.min_update_interval_s)

        def post_approval(event: AgentEvent) -> None:
            self.client.chat_postMessage(
                channel=place.channel,
                thread_ts=place.thread_ts,
                text=blocks.approval_text(event),
                blocks=blocks.approval_blocks(event, thread_id, owner),
            )

        stream_turn(reply, events, post_approval)

    def _post(self, place: Place, text: str) -> None:
        self.client.chat_postMessage(channel=place.channel, thread_ts=place.thread_ts, text=text)

    @contextlib.contextmanager
    def _reporting_errors(self, place: Place) -> Iterator[None]:
        """Turn a failure inside a worker into a message in the thread, not a silent log line."""
        try:
            yield
        except TunesmithError as error:
            hint = f"\n_What to do:_ {error.hint}" if error.hint else ""
            self._post_quietly(place, f":warning: {error.message}{hint}")
        except Exception as error:
            log.exception("Slack turn failed in %s", place.thread_id)
            self._post_quietly(
                place, f":warning: Something went wrong: {type(error).__name__}: {error}"
            )

    def _post_quietly(self, place: Place, text: str) -> None:
        try:
            self._post(place, text)
        except Exception:  # the Web API itself is failing: the log is all that is left
            log.exception("Could not report an error to Slack")
