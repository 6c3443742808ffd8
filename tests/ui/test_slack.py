"""The Slack app over real HTTP: signatures, retries, streaming replies, approvals, shared files.

The app runs behind a real threaded HTTP server on 127.0.0.1 and talks to a local stand-in for
Slack's Web API that records every message it posts (tests/ui/slack_web_api.py).
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from core.settings import get_settings
from tests.ui.slack_harness import (
    ADMIN,
    BOT_USER,
    CHANNEL,
    OTHER,
    OWNER,
    SECRET,
    TOKEN,
    SlackAppServer,
    button_press,
    event_body,
    mention,
    message,
    signature,
    view_submission,
)
from tests.ui.slack_web_api import SlackWebAPI

TS1 = "1700000000.000100"
NOTE = "take a note that the meeting moved"  # phrasings the offline guide routes to take_note


def notes(slack) -> list[str]:
    """What the test tool `take_note` wrote, one line per note."""
    path = slack.slack.door.owners.ws.root / "notes.txt"
    return path.read_text().splitlines() if path.exists() else []


def slack_registry():
    """The agent's small test tools (a note, a costly launch that needs approval) plus the real
    add_documents, so uploads are ingested for real."""
    from tests.agent.support import small_registry
    from tools.registry import load_registry

    registry = small_registry()
    assert registry.register(load_registry().get("add_documents"))
    return registry


@pytest.fixture
def slack(tunesmith_home, monkeypatch):
    with serve_slack(monkeypatch, model="guide", registry=slack_registry()) as server:
        yield server


@contextlib.contextmanager
def serve_slack(monkeypatch, **session_options):
    """The app on a real server, its sessions built with `session_options`, until the test ends."""
    from core.workspace import Workspace
    from ui.slack_app import agent_sessions, build_app

    with SlackWebAPI(TOKEN) as web:
        monkeypatch.setenv("TUNESMITH_SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TUNESMITH_SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("TUNESMITH_SLACK_ADMINS", ADMIN)
        monkeypatch.setenv("TUNESMITH_SLACK_API_BASE_URL", web.base_url)
        monkeypatch.setenv("TUNESMITH_MAX_DOCUMENT_MB", "0.001")  # 1,000 bytes
        get_settings.cache_clear()
        sessions = agent_sessions(Workspace.from_settings(), **session_options)
        app = build_app(token_verification=False, new_session=sessions, min_update_interval_s=0)
        server = SlackAppServer(app, web)
        try:
            yield server
        finally:
            server.close()


def history(thread_ts: str, channel: str = CHANNEL, owner: str = OWNER) -> list[dict]:
    """The agent thread's saved conversation, read through a fresh session."""
    from agent.session import AgentSession

    session = AgentSession(f"slack:{channel}:{thread_ts}", owner=owner, model="guide")
    try:
        return session.history()
    finally:
        session.close()


def said(thread_ts: str, channel: str = CHANNEL, owner: str = OWNER) -> list[str]:
    return [row["content"] for row in history(thread_ts, channel, owner) if row["role"] == "user"]


def launches(home) -> list[dict]:
    """The ledger the test tool `launch_job` appends to, one line per launch."""
    path = home / "launches.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def final_text(web: SlackWebAPI, ts: str) -> str:
    """The text of a posted message after its last chat.update."""
    updates = [c["text"] for c in web.called("chat.update") if c["ts"] == ts]
    posts = [c["text"] for c in web.called("chat.postMessage") if c["_ts"] == ts]
    return updates[-1] if updates else posts[0]


def test_signed_mention_streams_the_reply_into_its_thread(slack):
    reply = slack.post(event_body(mention(NOTE, TS1), "Ev1"))
    assert reply.status == 200
    slack.settle()

    assert said(TS1) == [NOTE]
    assert notes(slack) == [NOTE]
    posts = slack.web.called("chat.postMessage")
    assert [p["thread_ts"] for p in posts] == [TS1]
    assert posts[0]["text"].endswith("working on it…")  # posted at once, then edited
    text = final_text(slack.web, posts[0]["_ts"])
    answer = [r["content"] for r in history(TS1) if r["role"] == "assistant" and r["content"]]
    assert answer and answer[-1] in text
    assert ":white_check_mark: `take_note`" in text


def test_bad_signature_stale_timestamp_and_tampered_body_are_refused(slack):
    body = event_body(mention(NOTE, TS1), "Ev2")
    assert slack.post(body, secret="not-the-secret").status == 401
    stale = str(int(time.time()) - 6 * 60)
    assert slack.post(body, timestamp=stale).status == 401
    timestamp = str(int(time.time()))
    tampered = body.replace(b"meeting", b"meetings")
    headers = {"X-Slack-Signature": signature(SECRET, timestamp, body)}
    assert slack.post(tampered, timestamp=timestamp, headers=headers).status == 401
    slack.settle()
    assert slack.web.called("chat.postMessage") == []
    assert notes(slack) == []


def test_retries_replays_and_the_twin_message_event_run_one_turn(slack):
    body = event_body(mention(NOTE, TS1), "Ev3")
    assert slack.post(body).status == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert slack.post(body, headers=retry).status == 200
    assert slack.post(body, headers={**retry, "X-Slack-Retry-Num": "2"}).status == 200
    assert slack.post(body).status == 200  # a replay within the signature window
    twin = message(f"<@{BOT_USER}> {NOTE}", TS1)  # the same message
    assert slack.post(event_body(twin, "Ev3-as-message")).status == 200
    slack.settle()

    assert said(TS1) == [NOTE]
    assert notes(slack) == [NOTE]
    assert len(slack.web.called("chat.postMessage")) == 1


def approval_card(web: SlackWebAPI) -> tuple[str, dict[str, dict]]:
    """(ts, buttons by action id) of the approval card the app posted."""
    for post in web.called("chat.postMessage"):
        if post.get("blocks"):
            actions = next(b for b in post["blocks"] if b["type"] == "actions")
            return post["_ts"], {e["action_id"]: e for e in actions["elements"]}
    raise AssertionError("no approval card was posted")


LAUNCH = "please launch the job named nightly with 5 steps"


def request_launch(slack, event_id: str) -> tuple[str, dict[str, dict]]:
    """Ask for LAUNCH in thread TS1 and return the approval card (ts, buttons) the app posts."""
    slack.post(event_body(mention(LAUNCH, TS1), event_id))
    slack.settle()
    return approval_card(slack.web)


def test_only_the_owner_or_an_admin_may_approve_and_the_job_runs_once(slack, tunesmith_home):
    card_ts, buttons = request_launch(slack, "Ev4")
    assert set(buttons) == {"tunesmith_approve", "tunesmith_edit", "tunesmith_reject"}
    card = next(p for p in slack.web.called("chat.postMessage") if p.get("blocks"))
    assert card["thread_ts"] == TS1
    assert "`launch_job`" in card["blocks"][0]["text"]["text"]
    assert "Launch nightly for 5 steps" in card["blocks"][0]["text"]["text"]
    assert launches(tunesmith_home) == []

    press = button_press(buttons["tunesmith_approve"], OTHER, "1700000500.000001", card_ts)
    assert slack.post(press, form=True).status == 200
    slack.settle()
    refusal = slack.web.called("chat.postEphemeral")
    assert [(r["user"], r["channel"]) for r in refusal] == [(OTHER, CHANNEL)]
    assert f"<@{OWNER}>" in refusal[0]["text"]
    assert launches(tunesmith_home) == []

    press = button_press(buttons["tunesmith_approve"], OWNER, "1700000500.000002", card_ts)
    assert slack.post(press, form=True).status == 200
    assert slack.post(press, form=True).status == 200  # a replay of the same press
    slack.settle()
    assert launches(tunesmith_home) == [{"name": "nightly", "steps": 5}]
    decided = [u for u in slack.web.called("chat.update") if u["ts"] == card_ts]
    assert f"approved by <@{OWNER}>" in decided[-1]["blocks"][0]["text"]["text"]
    last_post = slack.web.called("chat.postMessage")[-1]
    assert last_post["thread_ts"] == TS1
    text = final_text(slack.web, last_post["_ts"])
    assert "`launch_job`" in text and "Launched nightly (5 steps) as job-1." in text

    # A second press on the answered card runs nothing again, and says so.
    press = button_press(buttons["tunesmith_reject"], OWNER, "1700000500.000003", card_ts)
    slack.post(press, form=True)
    slack.settle()
    assert launches(tunesmith_home) == [{"name": "nightly", "steps": 5}]
    assert "already answered" in slack.web.called("chat.postEphemeral")[-1]["text"]


def test_a_reply_while_an_approval_waits_is_a_decision_owner_only(slack, tunesmith_home):
    slack.post(event_body(mention(LAUNCH, TS1), "Ev9"))
    slack.settle()
    other_yes = message("yes", "1700000000.000901", user=OTHER, thread_ts=TS1)
    slack.post(event_body(other_yes, "Ev9-other"))
    slack.settle()
    assert launches(tunesmith_home) == []
    assert [r["user"] for r in slack.web.called("chat.postEphemeral")] == [OTHER]
    owner_yes = message("yes", "1700000000.000902", thread_ts=TS1)
    slack.post(event_body(owner_yes, "Ev9-owner"))
    slack.settle()
    assert launches(tunesmith_home) == [{"name": "nightly", "steps": 5}]
    assert said(TS1) == [LAUNCH]  # "yes" answered the approval; it was not a new request


def test_an_admin_may_reject_in_someone_elses_thread(slack, tunesmith_home):
    card_ts, buttons = request_launch(slack, "Ev5")
    slack.post(button_press(buttons["tunesmith_reject"], ADMIN, "1700000600.1", card_ts), form=True)
    slack.settle()
    assert launches(tunesmith_home) == []
    assert slack.web.called("chat.postEphemeral") == []
    decided = [u for u in slack.web.called("chat.update") if u["ts"] == card_ts]
    assert f"rejected by <@{ADMIN}>" in decided[-1]["blocks"][0]["text"]["text"]


def test_edit_opens_a_modal_bad_json_is_refused_and_edited_args_run(slack, tunesmith_home):
    card_ts, buttons = request_launch(slack, "Ev6")
    slack.post(button_press(buttons["tunesmith_edit"], OWNER, "1700000700.1", card_ts), form=True)
    slack.settle()
    (opened,) = slack.web.called("views.open")
    assert opened["trigger_id"] == "trigger-1700000700.1"
    view = opened["view"]
    assert json.loads(view["blocks"][0]["element"]["initial_value"]) == {
        "name": "nightly",
        "steps": 5,
    }

    refused = slack.post(view_submission(view, OWNER, "{steps: 7"), form=True)
    assert refused.status == 200
    answer = json.loads(refused.body)
    assert answer["response_action"] == "errors" and "Not valid JSON" in answer["errors"]["args"]
    slack.settle()
    assert launches(tunesmith_home) == []

    accepted = view_submission(view, OWNER, '{"steps": 7}')
    first, replay = slack.post(accepted, form=True), slack.post(accepted, form=True)
    assert (first.status, first.body) == (200, "")
    assert replay.status == 200  # a replay is acknowledged and not run again
    slack.settle()
    assert launches(tunesmith_home) == [{"name": "nightly", "steps": 7}]
    decided = [u for u in slack.web.called("chat.update") if u["ts"] == card_ts]
    assert "approved with edits" in decided[-1]["blocks"][0]["text"]["text"]


def test_replies_in_our_thread_continue_it_and_other_messages_are_ignored(slack):
    # Every message below is one the guide acts on, so one that was wrongly run leaves a note.
    slack.post(event_body(mention(NOTE, TS1), "Ev7"))
    slack.settle()
    reply = message("write this down", "1700000000.000701", user=OTHER, thread_ts=TS1)
    unrelated = message("remember this for me", "1700000000.000702", thread_ts="1600000000.1")
    top_level = message("write this down", "1700000000.000703")
    for n, event in enumerate([reply, unrelated, top_level]):
        slack.post(event_body(event, f"Ev7-{n}"))
    dm = message("remember this for me", "1700000000.000704", channel="D0DIRECT1")
    slack.post(event_body(dm, "Ev7-dm"))
    slack.settle()
    assert said(TS1) == [NOTE, "write this down"]
    assert said("1700000000.000704", channel="D0DIRECT1") == ["remember this for me"]
    assert sorted(notes(slack)) == ["remember this for me", NOTE, "write this down"]


def test_files_shared_in_a_dm_are_downloaded_and_ingested(slack, tunesmith_home):
    web = slack.web
    with_url = web.add_file("F0NOTES01", "notes about coffee.md", b"# Coffee\nGrind fresh.\n")
    needs_info = web.add_file("F0FAQ0001", "faq.txt", b"Q: returns?\nA: within 30 days.\n")
    needs_info = {"id": needs_info["id"], "file_access": "check_file_info"}
    too_big = web.add_file("F0BIG0001", "big.txt", b"x" * 2000)
    foreign = {
        **web.add_file("F0EVIL001", "evil.txt", b"nope"),
        "url_private": "http://evil.test/f",
    }
    foreign.pop("url_private_download")
    shared = message(
        "here are my docs",
        "1700000000.000800",
        channel="D0DIRECT1",
        subtype="file_share",
        files=[with_url, needs_info, too_big, foreign],
    )
    slack.post(event_body(shared, "Ev8"))
    slack.settle()

    uploads = tunesmith_home / "uploads"
    saved = [
        uploads / "slack-F0NOTES01" / "notes_about_coffee.md",
        uploads / "slack-F0FAQ0001" / "faq.txt",
    ]
    assert saved[0].read_bytes() == b"# Coffee\nGrind fresh.\n"
    assert saved[1].read_bytes() == b"Q: returns?\nA: within 30 days.\n"
    assert not (uploads / "slack-F0BIG0001").exists()
    assert [c["file"] for c in web.called("files.info")] == ["F0FAQ0001"]
    assert sorted(web.file_downloads) == ["F0FAQ0001", "F0NOTES01"]  # the token never left
    notice = web.called("chat.postMessage")[0]["text"]
    assert "big.txt" in notice and "over the 0 MB limit" in notice
    assert "evil.txt" in notice and "evil.test" in notice

    steps = history("1700000000.000800", channel="D0DIRECT1")
    (ingest,) = [r for r in steps if r["role"] == "tool" and r["tool"] == "add_documents"]
    assert ingest["ok"], ingest
    from tools.knowledge.kb import search, show_kb

    documents = show_kb("uploads")["documents_list"]
    assert sorted(d["source"] for d in documents) == sorted(str(p.resolve()) for p in saved)
    assert search("uploads", "how long for returns?", k=1)[0].chunk.source.endswith("faq.txt")


def test_a_failing_turn_says_what_went_wrong_in_the_thread(tunesmith_home, monkeypatch):
    """A local model cannot drive the chat: the session refuses it, and the thread is told why."""
    with serve_slack(monkeypatch, model="builtin:smollm2-135m-instruct") as slack:
        slack.post(event_body(mention(NOTE, TS1), "Ev10"))
        slack.settle()
        (notice,) = slack.web.called("chat.postMessage")
        assert notice["thread_ts"] == TS1
        assert notice["text"].startswith(":warning: The agent model 'builtin:smollm2-135m")
        assert "_What to do:_" in notice["text"] and "offline guide" in notice["text"]
