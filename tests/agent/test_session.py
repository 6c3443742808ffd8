"""The session API on the real graph, real SqliteSaver and small real tools (tests/agent/support).

A scripted chat model plays the LLM; the tools write files, so every assertion counts real side
effects: a note written once, a launch made only after approval, never twice.
"""

from __future__ import annotations

import threading

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from agent.events import Decision
from agent.session import AgentSession, list_threads, new_thread_id
from core.errors import InvalidInput, ModelUnavailable, NotFound
from core.workspace import Workspace
from tests.agent.support import ScriptedChatModel, call, launches, small_registry


@pytest.fixture
def ws(tunesmith_home):
    return Workspace(tunesmith_home)


def session(ws, *script, thread_id=None, owner=""):
    model = ScriptedChatModel(script=list(script))
    return AgentSession(thread_id, model=model, ws=ws, owner=owner, registry=small_registry())


def kinds(events):
    return [e.kind for e in events]


def notes(ws):
    path = ws.root / "notes.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_a_turn_streams_tool_steps_and_the_reply(ws):
    chat = session(ws, call("take_note", "c1", text="beans arrive Tuesday"), AIMessage("Noted."))
    events = list(chat.send("remember that beans arrive Tuesday"))
    assert kinds(events) == ["tool_start", "progress", "tool_end", "token", "message"]
    start, progress, end = events[:3]
    assert start.data == {
        "tool": "take_note",
        "args": {"text": "beans arrive Tuesday"},
        "call_id": "c1",
    }
    assert (progress.data["stage"], progress.data["done"], progress.data["total"]) == (
        "writing",
        1,
        1,
    )
    assert end.data["ok"] is True and end.text == "Noted: beans arrive Tuesday"
    assert end.data["artifact"] == {"path": str(ws.root / "notes.txt")}
    assert events[-1].text == "Noted."
    assert notes(ws) == ["beans arrive Tuesday"]
    assert chat.history() == [
        {"role": "user", "content": "remember that beans arrive Tuesday"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"tool": "take_note", "args": {"text": "beans arrive Tuesday"}, "call_id": "c1"}
            ],
        },
        {
            "role": "tool",
            "content": "Noted: beans arrive Tuesday",
            "tool": "take_note",
            "artifact": {"path": str(ws.root / "notes.txt")},
            "ok": True,
        },
        {"role": "assistant", "content": "Noted."},
    ]
    assert all(type(row["content"]) is str for row in chat.history())  # plain data for doors
    # the model saw the system prompt (with the position) and the person's message
    seen = chat.brain.model.seen[0]
    assert "Where the person stands" in seen[0].content and seen[1].content.startswith("remember")


def test_approval_survives_a_restart_and_the_resumed_turn_repeats_nothing(ws):
    first = session(
        ws,
        call("take_note", "c1", text="launching big"),
        call("launch_job", "c2", name="big", steps=5),
        owner="alice",
    )
    events = list(first.send("note it, then launch the big job"))
    assert kinds(events)[-1] == "approval"
    ask = events[-1]
    assert ask.data == {
        "tool": "launch_job",
        "args": {"name": "big", "steps": 5},
        "reason": "Launch big for 5 steps (costly).",
        "call_id": "c2",
    }
    assert launches(ws) == [] and notes(ws) == ["launching big"]
    first.close()

    # a new process: same thread id, same workspace
    again = session(ws, AIMessage("Launched."), thread_id=first.thread_id, owner="alice")
    assert again.pending().data == ask.data
    assert [row["role"] for row in again.history()] == ["user", "assistant", "tool", "assistant"]
    events = list(again.resume(Decision("approve")))
    assert kinds(events) == [
        "tool_start",
        "progress",
        "progress",
        "progress",
        "tool_end",
        "token",
        "message",
    ]
    assert launches(ws) == [{"name": "big", "steps": 5}]
    assert notes(ws) == ["launching big"]  # the first tool did not run again
    assert again.pending() is None and again.position() == {"run": "job-1"}
    # the approved call is keyed by thread + call id: replaying it cannot launch twice
    keys = [e["artifact"] for e in ws.events(limit=20) if e["kind"].startswith("agent.call")]
    assert keys == [f"call:{first.thread_id}:c2"] * 2


def test_reject_and_edit(ws):
    chat = session(
        ws,
        call("launch_job", "c1", name="big", steps=500),
        AIMessage("Fine, I won't."),
        call("launch_job", "c2", name="big", steps=500),
        AIMessage("Launched the smaller one."),
        call("launch_job", "c3", name="big", steps=500),
        AIMessage("The edit was refused."),
    )
    list(chat.send("launch big"))
    events = list(chat.resume(Decision("reject", reason="too expensive")))
    assert kinds(events) == ["token", "message"] and launches(ws) == []
    refusal = [
        m
        for m in chat.graph.get_state(chat.config).values["messages"]
        if isinstance(m, ToolMessage)
    ]
    assert refusal[-1].content == (
        "The person rejected launch_job; nothing was run. The person said: too expensive"
    )

    list(chat.send("launch it again"))
    list(chat.resume(Decision("edit", args={"steps": 20})))
    assert launches(ws) == [{"name": "big", "steps": 20}]

    list(chat.send("and once more"))
    events = list(chat.resume(Decision("edit", args={"steps": 0})))
    assert launches(ws) == [{"name": "big", "steps": 20}]
    tool_rows = [row for row in chat.history() if row["role"] == "tool"]
    assert tool_rows[-1]["ok"] is False
    assert "edited arguments were refused" in tool_rows[-1]["content"]
    assert "greater than or equal to 1" in tool_rows[-1]["content"]


def test_a_new_message_while_an_approval_waits(ws):
    chat = session(
        ws,
        call("launch_job", "c1", name="a"),
        AIMessage("Launched a."),
        call("launch_job", "c2", name="b"),
        AIMessage("Not launching b."),
        call("take_note", "c3", text="later"),
        AIMessage("Noted instead."),
    )
    list(chat.send("launch a"))
    events = list(chat.send("yes"))  # a plain yes answers the approval
    assert "tool_end" in kinds(events) and launches(ws) == [{"name": "a", "steps": 10}]
    list(chat.send("launch b"))
    events = list(chat.send("actually just note 'later'"))  # moving on rejects the waiting call
    assert launches(ws) == [{"name": "a", "steps": 10}] and notes(ws) == ["later"]
    assert chat.pending() is None
    assert events[-1].text == "Noted instead."


def test_bad_input_and_errors_come_back_as_error_events(ws):
    chat = session(ws)
    [empty] = list(chat.send("   "))
    assert empty.kind == "error" and empty.text == "The message is empty."
    [nothing] = list(chat.resume(Decision("approve")))
    assert nothing.kind == "error" and nothing.text == "Nothing is waiting for approval."
    [missing] = list(chat.send("take these", files=[ws.root / "nope.md"]))
    assert missing.kind == "error" and "not found" in missing.text
    [exhausted] = list(chat.send("hello"))  # the scripted model has nothing left: a crash
    assert exhausted.kind == "error" and "ran out of replies" in exhausted.text
    unknown = session(ws, call("no_such_tool", "c1"), AIMessage("Sorry."))
    events = list(unknown.send("do the impossible"))
    assert kinds(events) == ["token", "message"]
    assert unknown.history()[2]["content"].startswith("Error: There is no tool 'no_such_tool'.")


def test_threads_are_listed_per_owner_and_private(ws):
    alice = session(ws, AIMessage("Hi Alice."), owner="alice")
    list(alice.send("first   question\nfrom alice " + "x" * 80))
    bob = session(ws, AIMessage("Hi Bob."), owner="bob")
    list(bob.send("bob here"))
    titles = {t.id: t.title for t in list_threads(ws=ws)}
    assert titles[bob.thread_id] == "bob here"
    assert titles[alice.thread_id].startswith("first question from alice xxx")
    assert len(titles[alice.thread_id]) == 60 and titles[alice.thread_id].endswith("…")
    assert [t.id for t in list_threads("bob", ws)] == [bob.thread_id]
    with pytest.raises(NotFound):
        session(ws, thread_id=alice.thread_id, owner="bob")
    assert new_thread_id() != new_thread_id()
    for bad in ("../x", "a b", "x" * 200):
        with pytest.raises(InvalidInput, match="Not a conversation id"):
            session(ws, thread_id=bad)
    assert session(ws, thread_id="slack:C0123:1700000000.000100").history() == []


def test_two_sessions_on_two_threads_at_once(ws):
    sessions = [
        session(ws, call("take_note", f"c{i}", text=f"note {i}"), AIMessage(f"done {i}"))
        for i in range(2)
    ]
    results: dict[int, list] = {}

    def run(i):
        results[i] = list(sessions[i].send(f"note {i}"))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [results[i][-1].text for i in range(2)] == ["done 0", "done 1"]
    assert sorted(notes(ws)) == ["note 0", "note 1"]
    assert sessions[0].history()[0]["content"] == "note 0"


def test_llm_refs_without_tool_calling_are_refused_with_what_to_do(ws):
    for ref in ("builtin:smollm2-135m-instruct", "hf:./model", "anthropic:claude-x", "openai:"):
        with pytest.raises(ModelUnavailable) as refused:
            AgentSession(model=ref, ws=ws, registry=small_registry())
        assert "offline guide" in refused.value.hint or "langchain-anthropic" in refused.value.hint


def test_a_turn_started_on_one_thread_can_finish_on_another(ws):
    """Gradio resumes a streaming handler on whichever worker is free; the turn must survive it."""
    chat = session(ws, call("take_note", "c1", text="grind finer"), AIMessage("Noted."))
    turn = chat.send("note: grind finer")
    first = next(turn)
    rest: list = []
    failures: list[BaseException] = []

    def finish(events, out) -> None:
        try:
            out.extend(events)
        except BaseException as error:  # what a door's worker would crash with
            failures.append(error)

    worker = threading.Thread(target=finish, args=(turn, rest))
    worker.start()
    worker.join(timeout=60)
    assert failures == []
    assert first.kind == "tool_start" and kinds(rest)[-1] == "message"
    assert notes(ws) == ["grind finer"]
    # The session is free again: a turn from a third thread runs instead of waiting forever.
    later: list = []
    other = threading.Thread(target=finish, args=(chat.send("thanks"), later))
    other.start()
    other.join(timeout=60)
    assert not other.is_alive() and failures == [] and later
