"""Recognise a Slack delivery we already handled, so one message never launches two turns.

Slack redelivers an event when the ack was slow or lost (`X-Slack-Retry-Num`, same `event_id`);
an @mention in a channel arrives twice, as `app_mention` and as `message` (same channel and ts);
a captured request can be replayed within the 5-minute signature window. Every delivery is
reduced to the keys that identify what it is about, and the first delivery to claim any of them
wins. Memory is bounded: keys expire after an hour (Slack stops retrying well before) and the
oldest are dropped past `max_keys`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any

RETRY_WINDOW_S = 3600.0


class SeenKeys:
    """A thread-safe set of recently seen delivery keys with a time-to-live."""

    def __init__(self, ttl_s: float = RETRY_WINDOW_S, max_keys: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, keys: list[str]) -> bool:
        """True the first time any of `keys` is offered; False if one was already claimed."""
        if not keys:
            return True
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            if any(key in self._seen for key in keys):
                return False
            for key in keys:
                self._seen[key] = now
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
            return True

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self.ttl_s:
                break
            del self._seen[key]


def delivery_keys(body: dict[str, Any]) -> list[str]:
    """The keys of one delivery: the same request again (a retry, a replay) has the same keys.

    Checked before any handler runs. Whether two different deliveries are the same message is
    `message_keys`' question, asked only by the handler that acts on it.
    """
    keys: list[str] = []
    if body.get("type") == "event_callback":
        if body.get("event_id"):
            keys.append(f"event:{body['event_id']}")
    elif body.get("type") == "block_actions":
        user = (body.get("user") or {}).get("id", "")
        for action in body.get("actions") or []:
            keys.append(f"action:{user}:{action.get('action_id')}:{action.get('action_ts')}")
    elif body.get("type") == "view_submission":
        # A form refused with errors is resubmitted with the same view id and hash: what was
        # typed is part of what makes a submission new.
        view = body.get("view") or {}
        typed = json.dumps(view.get("state") or {}, sort_keys=True).encode()
        keys.append(f"view:{view.get('id')}:{view.get('hash')}:{hashlib.sha256(typed).hexdigest()}")
    return keys


def message_keys(event: dict[str, Any]) -> list[str]:
    """The keys of one person's message, shared by its `app_mention` and `message` deliveries."""
    keys = [f"ts:{event.get('channel', '')}:{event['ts']}"] if event.get("ts") else []
    if event.get("client_msg_id"):
        keys.append(f"msg:{event['client_msg_id']}")
    return keys
