"""`tunesmith prompt …` driven as a person would, against a real local OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidInput, NotFound
from core.settings import get_settings
from tests.fake_openai import FakeOpenAIServer
from tests.ui.cli_support import cli_invoker
from tools.usecase import get_use_case, set_use_case

ASSETS = Path(__file__).parent.parent / "assets" / "promptlab"


def _answer(body: dict) -> str:
    """`short` answers in two words; `long` rambles past the use case's word limit."""
    if body["model"] == "short":
        return "Yes, gladly."
    return "Well, let me tell you everything there is to know about that in detail."


@pytest.fixture
def invoke(tunesmith_home, monkeypatch):
    monkeypatch.setenv("TUNESMITH_REQUEST_RETRIES", "0")
    get_settings.cache_clear()
    return cli_invoker()


def test_prompt_test_show_list_and_baseline(invoke, tunesmith_home, tmp_path):
    set_use_case("shop", max_words=5, examples=[{"input": "Hours?", "output": "Yes, gladly."}])
    simple = tmp_path / "simple.yaml"
    simple.write_text('user: "Customer: {{ input }}"\n')
    with FakeOpenAIServer(delay_s=0.0, responder=_answer) as server:
        short, long = f"openai:short@{server.url}", f"openai:long@{server.url}"
        result = invoke(
            "prompt", "test", "--models", f"{short},{long}", "--template",
            str(ASSETS / "template.yaml"), "--inputs", str(ASSETS / "inputs.jsonl"),
            "--project", "shop", "--baseline", short, "--json",
        )  # fmt: skip
        typed = invoke(
            "prompt", "test", "--models", short, "--template", str(simple),
            "--input", "Open on Sunday?", "--input", "Gift cards?", "--project", "shop",
        )  # fmt: skip
        from_use_case = invoke(
            "prompt", "test", "--models", short, "--template", str(simple),
            "--inputs", "usecase", "--project", "shop", "--json",
        )  # fmt: skip
        with pytest.raises(InvalidInput, match="either as --inputs"):
            invoke("prompt", "test", "--models", short, "--template", "t.yaml")
        with pytest.raises(InvalidInput, match="not one of the models"):
            invoke(
                "prompt", "test", "--models", short, "--template", str(ASSETS / "template.yaml"),
                "--input", "Hi", "--baseline", long,
            )  # fmt: skip
    exp_id = result["id"]
    assert Path(result["html_path"]) == tunesmith_home / "experiments" / exp_id / "matrix.html"
    assert result["models"] == [short, long] and result["inputs"] == 3
    # The project's 5-word limit: the short model passes every format check, the long one none.
    assert result["per_model"][short]["metrics"]["format_ok"] == 1.0
    assert result["per_model"][long]["metrics"]["format_ok"] == 0.0
    assert get_use_case("shop").baseline_model == short
    assert "experiment x-" in typed and "simple (v1) on 2 input(s)" in typed
    assert "format 100%" in typed and "matrix:" in typed

    assert from_use_case["inputs"] == 1 and from_use_case["with_reference"] == 1
    assert from_use_case["per_model"][short]["metrics"]["exact_match"] == 1.0

    shown = invoke("prompt", "show", exp_id)
    assert f"# Prompt lab {exp_id}: test-support (v3)" in shown and "| **per model** |" in shown
    assert invoke("prompt", "show", exp_id, "--json")["rows"][0]["output"] == "Yes, gladly."
    listed = invoke("prompt", "list", "--project", "shop", "--json")
    assert len(listed) == 3 and exp_id in {row["id"] for row in listed}
    assert invoke("prompt", "list", "--project", "other", "--json") == []
    with pytest.raises(NotFound, match="no experiment"):
        invoke("prompt", "show", "x-20000101-000000-dead")

    assert invoke("prompt", "baseline", long, "--project", "shop", "--json") == {
        "project": "shop",
        "baseline_model": long,
    }
    assert get_use_case("shop").baseline_model == long
    with pytest.raises(InvalidInput):
        invoke("prompt", "baseline", "nonsense-ref", "--project", "shop")
