"""The OpenAI-compatible engine against a real HTTP server on 127.0.0.1.

The server speaks just enough of the OpenAI API (POST /v1/chat/completions with usage, GET
/v1/models, and Ollama's GET /api/tags) and misbehaves on cue, chosen by the last user message:
`fail-once...` answers 500 the first time, `fail-always...` always, `slow...` hangs until the test
ends, `no-choices...` returns a malformed body. It records every attempt and how many requests it
was serving at once.
"""

from __future__ import annotations

import socket
import time

import pytest

from core.errors import ModelUnavailable
from core.models import ChatRequest, list_models, load_engine
from core.models.openai_engine import OpenAIEngine
from core.settings import Settings
from tests.fake_openai import FakeOpenAIServer


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def ask(text: str, **kw) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], **kw)


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_real_openai_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TUNESMITH_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def settings_for(tmp_path, url: str = "", **kw) -> Settings:
    values = {"request_timeout": 5.0, "request_retries": 2, "ollama_base_url": dead_url()}
    values.update(kw)
    return Settings(home=tmp_path, openai_base_url=url, **values)


def test_answers_come_back_in_request_order_with_usage(server, tmp_path):
    engine = load_engine("openai:tiny-a", settings_for(tmp_path, server.url))
    assert isinstance(engine, OpenAIEngine)
    requests = [ask(f"question {i} " + "word " * i, max_new_tokens=7 + i) for i in range(6)]
    results = engine.generate(requests)
    assert [g.text for g in results] == [f"echo: {r.messages[0]['content']}" for r in requests]
    assert [g.prompt_tokens for g in results] == [2 + i for i in range(6)]
    assert [g.output_tokens for g in results] == [4 + i for i in range(6)]
    assert all(g.ok and g.latency_s >= server.delay_s for g in results)
    sent = {b["messages"][0]["content"]: b for b in server.bodies}
    first = sent[requests[0].messages[0]["content"]]
    assert (first["model"], first["max_tokens"], first["temperature"]) == ("tiny-a", 7, 0.0)


def test_requests_overlap_on_the_server_but_stay_bounded(server, tmp_path):
    engine = load_engine("openai:tiny-a", settings_for(tmp_path, server.url))
    engine.generate([ask(f"q{i}") for i in range(8)])
    assert server.max_active >= 4  # 8 workers by default; thread start-up may stagger a few

    server.max_active = 0
    engine.generate([ask(f"r{i}") for i in range(4)], batch_size=1)
    assert server.max_active == 1


def test_a_500_is_retried_and_then_succeeds(server, tmp_path):
    engine = load_engine("openai:tiny-a", settings_for(tmp_path, server.url, request_retries=2))
    [result] = engine.generate([ask("fail-once please")])
    assert result.ok, result.error
    assert result.text == "echo: fail-once please"
    assert server.attempts["fail-once please"] == 2


def test_a_request_that_keeps_failing_is_an_error_row_not_a_crash(server, tmp_path):
    engine = load_engine("openai:tiny-a", settings_for(tmp_path, server.url, request_retries=1))
    results = engine.generate([ask("good one"), ask("fail-always here"), ask("good two")])
    assert [g.ok for g in results] == [True, False, True]
    bad = results[1]
    assert bad.text == "" and bad.output_tokens == 0
    assert "HTTP 500" in bad.error and "broken model" in bad.error
    assert server.attempts["fail-always here"] == 2  # first try + one retry


def test_a_slow_request_times_out_alone(server, tmp_path):
    settings = settings_for(tmp_path, server.url, request_timeout=0.5, request_retries=0)
    engine = load_engine("openai:tiny-a", settings)
    started = time.perf_counter()
    fast, slow = engine.generate([ask("quick"), ask("slow one")])
    assert time.perf_counter() - started < 3
    assert fast.ok
    assert not slow.ok and "timed out" in slow.error
    assert 0.4 < slow.latency_s < 3


def test_a_malformed_answer_is_an_error_row(server, tmp_path):
    engine = load_engine("openai:tiny-a", settings_for(tmp_path, server.url))
    [result] = engine.generate([ask("no-choices")])
    assert not result.ok and "no choices" in result.error


def test_an_unreachable_server_is_an_error_row(tmp_path):
    engine = load_engine(
        "openai:tiny-a", settings_for(tmp_path, dead_url() + "/v1", request_retries=0)
    )
    [result] = engine.generate([ask("hello")])
    assert not result.ok and "connection" in result.error.lower()


def test_progress_counts_every_finished_request(server, tmp_path):
    engine = load_engine("openai:tiny-a", settings_for(tmp_path, server.url))
    calls: list[tuple[int, int]] = []
    engine.generate([ask(f"p{i}") for i in range(5)], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 5) for i in range(1, 6)]


def test_base_url_in_the_ref_wins_over_the_setting(server, tmp_path):
    settings = settings_for(tmp_path, dead_url() + "/v1", request_retries=0)
    engine = load_engine(f"openai:tiny-b@{server.url}", settings)
    [result] = engine.generate([ask("hi")])
    assert result.ok, result.error
    assert server.bodies[-1]["model"] == "tiny-b"


def test_ollama_refs_use_the_openai_endpoint_under_v1(server, tmp_path):
    settings = settings_for(tmp_path, ollama_base_url=server.root + "/")
    engine = load_engine("ollama:llama3.2:1b", settings)
    [result] = engine.generate([ask("hi")])
    assert result.ok, result.error
    assert server.paths[-1] == "/v1/chat/completions"
    assert server.bodies[-1]["model"] == "llama3.2:1b"


def test_openai_without_key_or_url_says_which_setting_to_set(tmp_path):
    with pytest.raises(ModelUnavailable) as info:
        load_engine("openai:gpt-4o-mini", settings_for(tmp_path))
    assert "TUNESMITH_OPENAI_BASE_URL" in info.value.hint
    assert "OPENAI_API_KEY" in info.value.hint


def test_list_models_shows_what_running_servers_serve(server, tmp_path):
    settings = settings_for(tmp_path, server.url, ollama_base_url=server.root)
    rows = {row.ref: row for row in list_models(settings)}
    assert rows["openai:tiny-a"].available and server.url in rows["openai:tiny-a"].detail
    assert "openai:tiny-b" in rows
    assert rows["ollama:llama3.2:1b"].available
    assert rows["ollama:llama3.2:1b"].detail == f"served by {server.root}/v1"
    assert {"/v1/models", "/api/tags"} <= set(server.paths)


def test_the_sdk_environment_variables_are_honoured(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    engine = load_engine("openai:tiny-a", settings_for(tmp_path))
    [result] = engine.generate([ask("via env")])
    assert result.ok, result.error
    assert engine.client.api_key == "not-needed"  # a local server gets the placeholder key

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_engine("openai:tiny-a", settings_for(tmp_path)).client.api_key == "sk-test"
