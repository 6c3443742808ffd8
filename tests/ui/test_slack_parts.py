"""The Slack app's parts on their own (ids, dedupe, rendering, files, settings), its manifest,
and `tunesmith slack --http` as a real process answering Slack's signed URL check."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from agent.events import AgentEvent
from core.errors import InvalidInput
from core.settings import describe, get_settings
from tests.ui.slack_harness import SECRET, TOKEN, signature
from tests.ui.slack_web_api import SlackWebAPI
from ui.slack import blocks
from ui.slack.dedupe import SeenKeys, delivery_keys, message_keys
from ui.slack.files import safe_file_name
from ui.slack.threads import may_decide, parse_admins, slack_place, thread_id_for


def test_thread_ids_accept_slack_shapes_only():
    assert thread_id_for("C0ABC123", "1700000000.000100") == "slack:C0ABC123:1700000000.000100"
    assert slack_place("slack:D0XYZ:1700000000.1") == ("D0XYZ", "1700000000.1")
    for channel, ts in [("../etc", "1.2"), ("c0abc", "1.2"), ("C0ABC", "1/2"), ("C0ABC", "")]:
        with pytest.raises(InvalidInput):
            thread_id_for(channel, ts)
    with pytest.raises(InvalidInput):
        slack_place("web:C0ABC:1.2")


def test_admins_and_who_may_decide():
    admins = parse_admins("UADMIN1, UADMIN2")
    assert admins == {"UADMIN1", "UADMIN2"}
    assert may_decide("UOWNER", "UOWNER", admins)
    assert may_decide("UADMIN2", "UOWNER", admins)
    assert not may_decide("USTRANGER", "UOWNER", admins)
    assert not may_decide("", "", admins)  # an unknown presser never matches an unknown owner
    with pytest.raises(InvalidInput, match="not Slack user ids"):
        parse_admins("UADMIN1, @bob")


def test_seen_keys_claim_once_and_forget_after_their_ttl():
    seen = SeenKeys(ttl_s=3600)
    assert seen.claim(["event:Ev1"])
    assert not seen.claim(["event:Ev1"])
    assert not seen.claim(["event:Ev9", "event:Ev1"])  # any claimed key makes it a repeat
    assert seen.claim(["event:Ev9"])  # a refused delivery claims nothing
    forgetful = SeenKeys(ttl_s=0)
    assert forgetful.claim(["k"]) and forgetful.claim(["k"])
    bounded = SeenKeys(max_keys=2)
    for key in ("a", "b", "c"):
        assert bounded.claim([key])
    assert bounded.claim(["a"])  # the oldest was dropped past max_keys


def test_delivery_and_message_keys():
    event = {"type": "app_mention", "channel": "C1", "ts": "1.5", "client_msg_id": "m-1"}
    assert delivery_keys({"type": "event_callback", "event_id": "Ev1", "event": event}) == [
        "event:Ev1"
    ]
    assert message_keys(event) == ["ts:C1:1.5", "msg:m-1"]
    press = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "actions": [{"action_id": blocks.APPROVE, "action_ts": "9.9"}],
    }
    assert delivery_keys(press) == [f"action:U1:{blocks.APPROVE}:9.9"]


def test_reply_text_renders_steps_in_place_then_prose_then_errors():
    reply = blocks.ReplyText()
    reply.apply(AgentEvent("tool_start", "", {"tool": "add_documents", "call_id": "c1"}))
    reply.apply(
        AgentEvent(
            "progress",
            "",
            {"tool": "add_documents", "call_id": "c1", "stage": "embedding", "done": 2, "total": 5},
        )
    )
    assert reply.render() == ":hourglass_flowing_sand: `add_documents` embedding 2/5"
    reply.apply(
        AgentEvent(
            "tool_end",
            "Added 2 files\nmore",
            {"tool": "add_documents", "call_id": "c1", "ok": True, "duration_s": 1.25},
        )
    )
    reply.apply(AgentEvent("token", "Done"))
    reply.apply(AgentEvent("token", ", 2 files."))
    reply.apply(AgentEvent("error", "Disk full.", {"hint": "Free some space."}))
    assert reply.render() == (
        ":white_check_mark: `add_documents` (1.2 s) — Added 2 files\n"
        "Done, 2 files.\n"
        ":warning: Disk full.\n_What to do:_ Free some space."
    )
    reply.apply(AgentEvent("message", "The whole reply."))  # replaces the streamed tokens
    assert "The whole reply." in reply.render() and "Done, 2" not in reply.render()


def test_long_replies_are_split_at_line_breaks():
    text = "\n".join(f"line {i:04d} " + "x" * 40 for i in range(200))
    pieces = blocks.split_message(text, limit=1000)
    assert len(pieces) == 11 and all(len(p) <= 1000 for p in pieces)  # 19 lines of 51 each
    assert "".join(pieces) == text
    assert all(p.startswith("line ") for p in pieces)
    assert blocks.split_message("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_edited_args_must_be_a_json_object():
    def view(text):
        return {"state": {"values": {"args": {"args_json": {"value": text}}}}}

    assert blocks.read_edited_args(view('{"steps": 7}')) == {"steps": 7}
    assert "Not valid JSON" in blocks.read_edited_args(view("{steps: 7"))
    assert "JSON object" in blocks.read_edited_args(view("[1, 2]"))
    value = blocks.button_value("slack:C1:1.2", "call-9")
    assert blocks.read_button_value(value) == ("slack:C1:1.2", "call-9")
    assert blocks.read_button_value("not json") == ("", "")


def test_file_names_from_slack_never_become_paths():
    assert safe_file_name("../../etc/passwd", "F1") == "passwd"
    assert safe_file_name("my notes (final).md", "F1") == "my_notes_final_.md"
    assert safe_file_name("...", "F1") == "F1"


def test_build_app_says_which_setting_is_missing(tunesmith_home, monkeypatch):
    from ui.slack_app import build_app, start_socket

    with pytest.raises(InvalidInput, match="bot token"):
        build_app(token_verification=False)
    monkeypatch.setenv("TUNESMITH_SLACK_BOT_TOKEN", TOKEN)
    get_settings.cache_clear()
    with pytest.raises(InvalidInput) as refused:
        build_app(token_verification=False)
    assert "TUNESMITH_SLACK_SIGNING_SECRET" in refused.value.hint
    # Socket mode needs no signing secret; its connection needs an xapp- token.
    socket_app = build_app(socket_mode=True, token_verification=False)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(socket_app.app, "xapp-1-test")  # constructed, never connected
    assert handler.app is socket_app.app
    with pytest.raises(InvalidInput, match="xapp"):
        start_socket(socket_app, "xoxb-wrong-kind")
    monkeypatch.setenv("TUNESMITH_SLACK_SIGNING_SECRET", SECRET)
    get_settings.cache_clear()
    secrets = {row.name: row.value for row in describe(get_settings())}
    assert secrets["slack_bot_token"] == "****" and secrets["slack_signing_secret"] == "****"
    assert secrets["slack_app_token"] == ""


def test_manifest_subscribes_to_what_the_app_handles():
    manifest = yaml.safe_load((Path("ui/slack/manifest.yaml")).read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "im:history", "files:read"} <= scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.im", "message.channels", "file_shared"} <= events
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_slack_http_command_serves_signed_requests_only(tmp_path):
    """`tunesmith slack --http --port 0` as a real process: it checks its token with auth.test,
    answers Slack's signed URL check, and refuses an unsigned one with 401."""
    with SlackWebAPI(TOKEN) as web:
        env = {
            **os.environ,
            "TUNESMITH_HOME": str(tmp_path / "home"),
            "TUNESMITH_SLACK_BOT_TOKEN": TOKEN,
            "TUNESMITH_SLACK_SIGNING_SECRET": SECRET,
            "TUNESMITH_SLACK_API_BASE_URL": web.base_url,
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
        }
        command = [sys.executable, "-m", "ui.cli", "slack", "--http", "--port", "0"]
        process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        try:
            url, seen = None, []
            for line in process.stdout:
                seen.append(line)
                if found := re.search(r"http://127\.0\.0\.1:\d+/slack/events", line):
                    url = found.group(0)
                    break
            assert url, "".join(seen)
            body = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature(SECRET, stamp, body),
            }
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=30) as response:
                assert json.loads(response.read()) == {"challenge": "abc123"}
            unsigned = urllib.request.Request(url, data=body, method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(unsigned, timeout=30)
            assert refused.value.code == 401
            assert web.called("auth.test"), "the token was not checked at start"
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_slack_command_needs_exactly_one_mode(tmp_path):
    env = {**os.environ, "TUNESMITH_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-m", "ui.cli", "slack"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 2
    assert "--socket or --http" in result.stderr


def test_a_reply_streams_by_editing_one_message_and_continues_when_full():
    from slack_sdk import WebClient

    from ui.slack.stream import ThreadReply, stream_turn

    with SlackWebAPI(TOKEN) as web:
        client = WebClient(token=TOKEN, base_url=web.base_url)
        reply = ThreadReply(client, "C0CHAN", "1700000000.000100", min_interval_s=0)
        long_line = "word " * 30
        events = [AgentEvent("token", f"{i:03d} {long_line}\n") for i in range(60)]
        approvals = []
        events.append(AgentEvent("approval", "", {"tool": "t", "call_id": "c"}))
        stream_turn(reply, events, approvals.append)

        posts = web.called("chat.postMessage")
        assert all(p["thread_ts"] == "1700000000.000100" for p in posts)
        assert len(posts) == 3  # the placeholder, then two continuations of the full message
        shown = []
        for post in posts:
            updates = [u["text"] for u in web.called("chat.update") if u["ts"] == post["_ts"]]
            shown.append(updates[-1] if updates else post["text"])
        assert all(len(text) <= blocks.MESSAGE_LIMIT for text in shown)
        assert "\n".join(shown) == "".join(e.text for e in events[:-1]).strip()
        assert [a.data["call_id"] for a in approvals] == ["c"]
