"""The LLM brain through real HTTP: ChatOpenAI (init_chat_model) against a local streaming
OpenAI-compatible server, for openai: and ollama: refs. Tool calls come back over the wire, run
through the graph, and the reply streams token by token."""

from __future__ import annotations

import pytest

from agent.session import AgentSession
from core.settings import get_settings
from core.workspace import Workspace
from tests.agent.openai_stream import StreamingOpenAIServer
from tests.agent.support import small_registry
from tools.usecase import set_use_case


@pytest.fixture
def ws(tunesmith_home):
    return Workspace(tunesmith_home)


def test_openai_ref_calls_tools_and_streams_its_reply(ws, monkeypatch):
    set_use_case("default", ws, description="Answer questions about coffee", max_words=40)
    replies = [{"tool": "take_note", "args": {"text": "grind finer"}}, "Noted: grind finer."]
    with StreamingOpenAIServer(replies) as server:
        monkeypatch.setenv("TUNESMITH_OPENAI_BASE_URL", server.url)
        get_settings.cache_clear()
        chat = AgentSession(model="openai:tiny-a", ws=ws, registry=small_registry())
        events = list(chat.send("remember: grind finer"))
    kinds = [e.kind for e in events]
    assert kinds == ["tool_start", "progress", "tool_end", "token", "token", "token", "message"]
    assert events[0].data["args"] == {"text": "grind finer"}
    assert "".join(e.text for e in events if e.kind == "token") == "Noted: grind finer."
    assert events[-1].text == "Noted: grind finer."
    assert (ws.root / "notes.txt").read_text() == "grind finer\n"

    first, second = server.bodies
    assert first["model"] == "tiny-a" and first["stream"] is True
    assert sorted(t["function"]["name"] for t in first["tools"]) == ["launch_job", "take_note"]
    system = first["messages"][0]["content"]
    assert "description: Answer questions about coffee" in system and "max_words: 40" in system
    assert "nothing yet" in system
    # the second request carries the tool's result back to the model
    assert second["messages"][-1] == {
        "role": "tool",
        "content": "Noted: grind finer",
        "tool_call_id": "call_1",
    }


def test_ollama_ref_uses_the_openai_endpoint_under_v1(ws, monkeypatch):
    with StreamingOpenAIServer(["Hello from llama."]) as server:
        monkeypatch.setenv("TUNESMITH_OLLAMA_BASE_URL", server.root)
        get_settings.cache_clear()
        chat = AgentSession(model="ollama:llama3.2", ws=ws, registry=small_registry())
        events = list(chat.send("hi"))
    assert events[-1].kind == "message" and events[-1].text == "Hello from llama."
    assert server.bodies[0]["model"] == "llama3.2"


def test_an_unreachable_agent_model_is_an_error_event_with_what_to_do(ws, monkeypatch):
    with StreamingOpenAIServer([]) as server:
        url = server.url  # a port that is closed once the server is gone
    monkeypatch.setenv("TUNESMITH_OPENAI_BASE_URL", url)
    monkeypatch.setenv("TUNESMITH_REQUEST_RETRIES", "0")
    get_settings.cache_clear()
    chat = AgentSession(model="openai:tiny-a", ws=ws, registry=small_registry())
    [event] = list(chat.send("hello"))
    assert event.kind == "error"
    assert event.text.startswith("The agent model openai:tiny-a failed: OpenAIConnectionError")
    assert "unset TUNESMITH_AGENT_MODEL" in event.data["hint"]
    assert chat.history() == [{"role": "user", "content": "hello"}]
