"""The Slack app under test: a real HTTP server of the app on 127.0.0.1, signed requests into it,
and the local Web API (tests/ui/slack_web_api.py) recording what it posts back."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.ui.slack_web_api import BOT_USER, SlackWebAPI

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
CHANNEL = "C0CHANNEL1"
OWNER, OTHER, ADMIN = "UOWNER001", "UOTHER001", "UADMIN001"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: HMAC-SHA256 of `v0:<timestamp>:<body>` with the secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    status: int
    body: str


def event_body(event: dict[str, Any], event_id: str) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "token": "legacy",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"user_id": BOT_USER, "is_bot": True, "team_id": "T0001"}],
        }
    ).encode()


def mention(text: str, ts: str, user: str = OWNER, thread_ts: str | None = None) -> dict:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": CHANNEL,
        "client_msg_id": f"msg-{ts}",
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(text: str, ts: str, *, user: str = OWNER, channel: str = CHANNEL, **extra) -> dict:
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": "im" if channel.startswith("D") else "channel",
        "client_msg_id": f"msg-{ts}",
        "event_ts": ts,
    }
    event.update(extra)
    return event


def button_press(button: dict, user: str, action_ts: str, card_ts: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": f"trigger-{action_ts}",
        "container": {"type": "message", "message_ts": card_ts, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL},
        "actions": [{**button, "block_id": "decision", "action_ts": action_ts}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission(view: dict, user: str, args_text: str) -> bytes:
    payload = {
        "type": "view_submission",
        "user": {"id": user},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "view": {
            **view,
            "id": "V0001",
            "hash": "hash-1",  # Slack keeps the hash when a refused form is sent again
            "state": {"values": {"args": {"args_json": {"value": args_text}}}},
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


class SlackAppServer:
    """The app behind a real threaded HTTP server; `post` sends a (signed) request to it."""

    def __init__(self, slack_app, web: SlackWebAPI) -> None:
        from ui.slack_app import serve_http

        self.slack = slack_app
        self.web = web
        self.server = serve_http(slack_app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}/slack/events"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.slack.door.jobs.shutdown(wait=True)
        self.slack.listeners.shutdown(wait=True)

    def post(
        self,
        body: bytes,
        *,
        form: bool = False,
        secret: str = SECRET,
        timestamp: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        timestamp = timestamp or str(int(time.time()))
        sent = {
            "Content-Type": "application/x-www-form-urlencoded" if form else "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature(secret, timestamp, body),
            **(headers or {}),
        }
        request = urllib.request.Request(self.url, data=body, headers=sent, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                reply = Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, error.read().decode())
        return reply

    def settle(self) -> None:
        """Wait until every acknowledged request has done its work (turns included)."""
        assert self.slack.wait_idle(timeout=120), "the Slack app's workers did not finish"
