"""Slack thread <-> agent thread, who owns a thread, and one turn at a time per thread.

A Slack conversation is named by its channel and the ts of its first message; the agent thread
id is `slack:<channel>:<thread_ts>`, so the same Slack thread always continues the same
checkpointed conversation, across restarts. Both parts come from Slack payloads, so they are
checked against Slack's formats before they become an id.

Only the person who started a thread (its owner, kept in the registry's `threads` table) or a
configured admin may answer its approvals. Two messages in the same thread must not run two
turns at once on one checkpoint: each thread has a lock, and a turn waits for the previous one.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict

from agent.persistence import thread_owner, touch_thread
from core.errors import InvalidInput
from core.workspace import Workspace

CHANNEL_PATTERN = re.compile(r"^[A-Z0-9]{2,32}$")
TS_PATTERN = re.compile(r"^\d{1,12}\.\d{1,8}$")
USER_PATTERN = re.compile(r"^[A-Z0-9]{2,32}$")
PREFIX = "slack"


def thread_id_for(channel: str, thread_ts: str) -> str:
    """`slack:<channel>:<thread_ts>`; refuses parts not shaped like Slack ids."""
    if not isinstance(channel, str) or not CHANNEL_PATTERN.match(channel):
        raise InvalidInput(
            f"Not a Slack channel id: {channel!r}.", "Expect an id such as C0123ABC."
        )
    if not isinstance(thread_ts, str) or not TS_PATTERN.match(thread_ts):
        raise InvalidInput(
            f"Not a Slack message ts: {thread_ts!r}.", "Expect a ts such as 1700000000.000100."
        )
    return f"{PREFIX}:{channel}:{thread_ts}"


def slack_place(thread_id: str) -> tuple[str, str]:
    """(channel, thread_ts) of an agent thread id made by `thread_id_for`."""
    prefix, channel, thread_ts = (thread_id.split(":") + ["", ""])[:3]
    if prefix != PREFIX:
        raise InvalidInput(f"{thread_id!r} is not a Slack thread.", "Use a slack:... thread id.")
    thread_id_for(channel, thread_ts)  # validates both parts
    return channel, thread_ts


def parse_admins(text: str) -> frozenset[str]:
    """Admin user ids from the comma-separated `slack_admins` setting; refuses malformed ids."""
    admins = [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
    bad = [a for a in admins if not USER_PATTERN.match(a)]
    if bad:
        raise InvalidInput(
            f"TUNESMITH_SLACK_ADMINS holds values that are not Slack user ids: {bad}.",
            "List user ids such as U0123ABC, separated by commas (Profile > Copy member ID).",
        )
    return frozenset(admins)


class ThreadOwners:
    """Who started each Slack thread: the registry's `threads` table, shared with other doors."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def owner(self, thread_id: str) -> str | None:
        return thread_owner(self.ws, thread_id) or None

    def claim(self, thread_id: str, user: str, first_text: str) -> str:
        """Record `user` as the owner of a new thread; return the thread's owner either way.

        Called under the thread's turn lock, so two first messages cannot both claim it.
        """
        owner = self.owner(thread_id)
        if owner is None:
            touch_thread(self.ws, thread_id, user, first_text)
            owner = user
        return owner


def may_decide(user: str, owner: str | None, admins: frozenset[str]) -> bool:
    """The thread's owner and the admins may answer its approvals; nobody else."""
    return bool(user) and (user == owner or user in admins)


class TurnLocks:
    """One lock per agent thread, so a thread runs one turn at a time."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def for_thread(self, thread_id: str) -> threading.Lock:
        with self._guard:
            return self._locks[thread_id]
