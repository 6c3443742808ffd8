"""The playground: retrieved chunks reach the prompt, the conversation is kept and reset, and the
engine is loaded once. Prompts are read back from a real local OpenAI-compatible server (the one
allowed fake: a remote API) and from the tiny model's own token counts.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, NotFound
from core.workspace import Workspace
from tests.fake_openai import FakeOpenAIServer
from tests.tools.kb_support import kb_from_texts
from tools.knowledge.context import context_messages
from tools.playground import Conversation, answer, build_messages, clear_engines, get_engine

QUESTION = "How often should bicycle chains be oiled?"


@pytest.fixture
def tiny_kb(tunesmith_home, tmp_path):
    """Two one-line documents in kb:gear (real MiniLM embeddings, real FAISS index)."""
    ws = Workspace(tunesmith_home)
    kb_from_texts(
        ws,
        "gear",
        tmp_path / "docs",
        {
            "bikes.md": "# Bikes\n\nBicycle chains need oiling every month.\n",
            "wool.md": "# Wool\n\nAlpaca wool is warm and soft.\n",
        },
    )
    clear_engines()
    yield ws
    clear_engines()


def test_with_a_kb_the_best_chunks_are_put_in_front_of_the_question(tiny_kb):
    with FakeOpenAIServer(delay_s=0) as server:
        reply = answer(f"openai:m@{server.url}", QUESTION, kb="gear", k=1, ws=tiny_kb)
    (body,) = server.bodies
    system, user = body["messages"]
    assert system["role"] == "system" and "reference documents" in system["content"]
    assert "<reference_documents>" in user["content"]
    assert "Bicycle chains need oiling every month." in user["content"]
    assert "Alpaca" not in user["content"]  # k=1: only the best chunk
    assert user["content"].rstrip().endswith(QUESTION)
    assert reply.sources == [reply.hits[0].chunk.citation()]
    assert reply.sources[0].startswith("bikes.md")
    assert reply.text == f"echo: {user['content']}".strip()


def test_a_conversation_keeps_turns_without_their_chunks_and_resets(tiny_kb):
    with FakeOpenAIServer(delay_s=0) as server:
        chat = Conversation(
            f"openai:m@{server.url}", kb="gear", k=1, system="Be brief.", ws=tiny_kb
        )
        first = chat.ask("Tell me about wool.")
        chat.ask(QUESTION)
        chat.reset()
        chat.ask("And wool again?")
    first_body, second_body, third_body = server.bodies
    roles = [m["role"] for m in second_body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    earlier_user, earlier_answer = second_body["messages"][1:3]
    assert earlier_user["content"] == "Tell me about wool."  # kept as asked, no chunks
    assert earlier_answer["content"] == first.text
    assert "Bicycle chains" in second_body["messages"][3]["content"]
    assert second_body["messages"][0]["content"].startswith("Be brief.")
    assert [m["role"] for m in third_body["messages"]] == ["system", "user"]
    assert len(first_body["messages"]) == 2


def test_the_tiny_model_answers_once_loaded_and_counts_the_retrieval_prompt(
    tiny_kb, tiny_model_dir
):
    ref = f"hf:{tiny_model_dir}"
    plain = answer(ref, QUESTION, max_new_tokens=4, ws=tiny_kb)
    engine = get_engine(ref, tiny_kb)
    with_kb = answer(ref, QUESTION, kb="gear", k=2, max_new_tokens=4, ws=tiny_kb)

    assert get_engine(ref, tiny_kb) is engine  # loaded once, reused every turn
    assert plain.output_tokens == 4 and plain.hits == []
    assert len(with_kb.hits) == 2
    prompted = context_messages(build_messages(QUESTION), with_kb.hits)
    assert with_kb.prompt_tokens == len(engine.prompt_ids(prompted))
    assert with_kb.prompt_tokens > plain.prompt_tokens


@pytest.mark.parametrize(
    ("kwargs", "error", "expected"),
    [
        ({"question": "  "}, InvalidInput, "question is empty"),
        ({"question": "hi", "kb": "gear", "k": 0}, InvalidInput, "k must be at least 1"),
        ({"question": "hi", "max_new_tokens": 0}, InvalidInput, "max_new_tokens"),
        ({"question": "hi", "history": [{"role": "tool"}]}, InvalidInput, "History turns"),
        ({"question": "hi", "kb": "missing"}, NotFound, "missing"),
    ],
)
def test_bad_input_is_refused_before_any_model_loads(tiny_kb, kwargs, error, expected):
    with pytest.raises(error) as info:
        answer("hf:/no/such/model", ws=tiny_kb, **kwargs)
    assert expected in info.value.message
