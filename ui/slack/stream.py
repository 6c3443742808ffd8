"""Stream one agent turn into a Slack thread: post a message, then edit it as the turn goes on.

Slack has no streaming message, so the reply is posted once and then changed with chat.update.
Updates are throttled (chat.update is rate limited to about one a second per channel); the last
state is always flushed when the turn ends. A reply longer than Slack shows is continued in
further messages. An approval ends the current message and is posted as its own card, so the
buttons sit at the bottom of the thread where the person looks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient

from agent.events import AgentEvent
from ui.slack.blocks import ReplyText, split_message

log = logging.getLogger(__name__)
THINKING = ":hourglass_flowing_sand: working on it…"


class ThreadReply:
    """One growing reply message in a thread (posted on first content, updated at most every
    `min_interval_s` seconds)."""

    def __init__(
        self, client: WebClient, channel: str, thread_ts: str, min_interval_s: float = 1.0
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.min_interval_s = min_interval_s
        self.text = ReplyText()
        self.ts: str | None = None
        self.shown = ""
        self.finished_chars = 0  # rendered characters already in full, finished messages
        self.last_update = 0.0

    def post(self, text: str, **extra) -> str:
        response = self.client.chat_postMessage(
            channel=self.channel, thread_ts=self.thread_ts, text=text, **extra
        )
        return response["ts"]

    def start(self) -> None:
        """Post the placeholder at once, so the person sees the turn began."""
        self.ts = self.post(THINKING)
        self.shown = THINKING
        self.last_update = time.monotonic()

    def apply(self, event: AgentEvent) -> None:
        self.text.apply(event)
        if time.monotonic() - self.last_update >= self.min_interval_s:
            self.flush()

    def flush(self) -> None:
        rendered = self.text.render()
        *full, current = split_message(rendered[self.finished_chars :])
        for piece in full:  # the message is full: it keeps this piece, a new one continues
            self._show(piece)
            self.finished_chars += len(piece)
            self.ts, self.shown = None, ""
        self._show(current or (THINKING if not rendered else ""))
        self.last_update = time.monotonic()

    def _show(self, piece: str) -> None:
        text = piece.rstrip("\n")
        if not text or text == self.shown:
            return
        if self.ts is None:
            self.ts = self.post(text)
        else:
            self.client.chat_update(channel=self.channel, ts=self.ts, text=text)
        self.shown = text

    def finish(self, if_empty: str = "Done.") -> None:
        """Show the final state; a turn that said nothing shows `if_empty` instead."""
        self.flush()
        if self.shown == THINKING:
            self._show(if_empty)


def stream_turn(
    reply: ThreadReply,
    events: Iterable[AgentEvent],
    on_approval: Callable[[AgentEvent], None],
) -> None:
    """Render every event of a turn; an approval is handed to `on_approval` after the flush."""
    reply.start()
    try:
        for event in events:
            if event.kind == "approval":
                reply.finish(if_empty="This needs your approval:")
                on_approval(event)
            else:
                reply.apply(event)
    finally:
        reply.finish()
