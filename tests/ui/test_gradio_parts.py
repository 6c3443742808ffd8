"""The Gradio app's parts that need no browser: events -> chat messages, uploads, `tunesmith ui`
argument checks. The browser tests (test_gradio_browser.py) cover the same paths end to end."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.events import AgentEvent
from core.errors import InvalidInput
from core.workspace import Workspace
from ui.commands.serve import parse_auth
from ui.gradio.transcript import Transcript, from_history
from ui.gradio.uploads import safe_filename, store_uploads


def test_tokens_stream_into_one_message_that_the_final_message_replaces():
    transcript = Transcript()
    transcript.user("hi")
    for piece in ("Hel", "lo"):
        transcript.apply(AgentEvent("token", piece))
    assert transcript.messages[-1] == {"role": "assistant", "content": "Hello"}
    transcript.apply(AgentEvent("message", "Hello there."))
    assert [m["content"] for m in transcript.messages] == ["hi", "Hello there."]


def test_a_tool_step_is_pending_then_done_with_its_duration_and_artifact_ids():
    transcript = Transcript()
    start = {"tool": "add_documents", "args": {"kb": "docs"}, "call_id": "c1"}
    transcript.apply(AgentEvent("tool_start", data=start))
    step = transcript.messages[-1]
    assert step["metadata"] == {"title": "🔧 add_documents", "status": "pending", "id": "c1"}
    progress = {"tool": "add_documents", "stage": "embed", "done": 2, "total": 5, "call_id": "c1"}
    transcript.apply(AgentEvent("progress", data=progress))
    assert step["metadata"]["log"] == "embed 2/5"
    end = {
        "tool": "add_documents",
        "call_id": "c1",
        "text": "Added 1 file.",
        "artifact": {"kb": "kb:docs", "table": [{"file": "a.md"}]},
        "duration_s": 1.234,
        "ok": True,
    }
    transcript.apply(AgentEvent("tool_end", data=end))
    assert step["metadata"] == {
        "title": "🔧 add_documents",
        "status": "done",
        "id": "c1",
        "duration": 1.23,
    }
    assert step["content"] == "Added 1 file.\n\nMade: `kb:docs`"
    assert len(transcript.messages) == 1


def test_a_failed_step_is_marked_and_an_end_without_a_start_still_shows():
    transcript = Transcript()
    end = {"tool": "train", "call_id": "x", "text": "Error: no data", "ok": False}
    transcript.apply(AgentEvent("tool_end", data=end))
    (step,) = transcript.messages
    assert step["metadata"]["title"] == "✗ train" and step["metadata"]["status"] == "done"


def test_approval_and_error_events_become_titled_messages():
    transcript = Transcript()
    data = {"tool": "start_training", "args": {"dataset": "faq@v2"}, "reason": "Fine-tune X"}
    transcript.apply(AgentEvent("approval", "Fine-tune X", data))
    assert transcript.pending is not None and transcript.pending.data["args"] == {
        "dataset": "faq@v2"
    }
    assert "faq@v2" in transcript.messages[-1]["content"]
    transcript.apply(AgentEvent("error", "It broke.", {"hint": "Try again."}))
    assert transcript.messages[-1]["content"] == "It broke.\n\n**What to do:** Try again."
    assert transcript.messages[-1]["metadata"]["title"] == "⚠ Error"


def test_a_saved_thread_renders_with_tool_rows_as_finished_steps():
    history = [
        {"role": "user", "content": "add ./docs"},
        {"role": "assistant", "content": "", "tool_calls": [{"tool": "add_documents"}]},
        {"role": "tool", "content": "Added 2 files.", "tool": "add_documents", "ok": True},
        {"role": "assistant", "content": "Done."},
    ]
    assert from_history(history) == [
        {"role": "user", "content": "add ./docs"},
        {
            "role": "assistant",
            "content": "Added 2 files.",
            "metadata": {"title": "🔧 add_documents", "status": "done"},
        },
        {"role": "assistant", "content": "Done."},
    ]


def test_uploads_are_copied_into_the_workspace_under_a_clean_name(tmp_path):
    ws = Workspace(tmp_path / "home")
    source = tmp_path / "my notes (final).md"
    source.write_text("# Notes\n", encoding="utf-8")
    (stored,) = store_uploads(ws, [str(source)])
    assert stored.parent.parent == ws.root / "uploads"
    assert stored.name == "my_notes_final_.md"
    assert stored.read_text(encoding="utf-8") == "# Notes\n"
    assert safe_filename("../../etc/passwd") == "passwd"


def test_an_upload_over_the_cap_is_refused_and_nothing_is_stored(tmp_path):
    ws = Workspace(tmp_path / "home")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2_000_001)
    with pytest.raises(InvalidInput, match="capped at 2 MB"):
        store_uploads(ws, [str(big)], limit_mb=2)
    assert not list((ws.root / "uploads").glob("*/*"))


def test_auth_must_be_user_colon_password():
    assert parse_auth("alice:s3cret:x") == ("alice", "s3cret:x")
    assert parse_auth(None) is None
    for bad in ("alice", ":pw", "alice:"):
        with pytest.raises(InvalidInput, match="user:password"):
            parse_auth(bad)


def test_ui_command_refuses_a_bad_auth_before_starting_anything():
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ui", "--auth", "nocolon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--auth must look like user:password" in done.stderr


def test_playground_answers_with_the_base_and_says_when_no_tuned_model_is_picked(
    tunesmith_home, tiny_model_dir
):
    from ui.gradio.playground import side_by_side

    base, tuned = side_by_side(f"hf:{tiny_model_dir}", None, "What is the capital?", "", 3)
    assert "tokens in" in base and tuned == "(no model)"
