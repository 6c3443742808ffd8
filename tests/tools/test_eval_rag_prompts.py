"""evaluate() on the tiny model with a real knowledge base, per-model prompt files and the
project's format checks: what each model was sent is recorded, and it is what it was sent."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from core.errors import InvalidInput
from core.workspace import Workspace
from tests.tools.kb_support import kb_from_texts
from tools.datasets.store import DatasetStore
from tools.evaluation.runner import evaluate
from tools.usecase import set_use_case

QUESTIONS = {
    "Is alpaca wool warm?": ("Yes, alpaca wool is warm and soft.", "Alpaca wool is warm"),
    "How often do bicycle chains need oil?": ("Every month.", "chains oiled every month"),
}


@pytest.fixture
def workspace(tunesmith_home, tmp_path):
    ws = Workspace.from_settings()
    kb_from_texts(
        ws,
        "facts",
        tmp_path / "docs",
        {
            "alpaca.md": "# Alpaca\n\nAlpaca wool is warm and soft.\n",
            "bikes.txt": "Bicycles need their chains oiled every month.\n",
        },
    )
    rows = [
        {"id": f"q{i}", "prompt": q, "completion": a, "meta": {"split": "eval"}}
        for i, (q, (a, _)) in enumerate(QUESTIONS.items())
    ]
    DatasetStore(ws).commit("faq", rows, operation="import", parent=None)
    (tmp_path / "long.yaml").write_text(
        "system: |\n  You are the shop assistant. Answer from the documents, politely.\n"
        'user: "Customer question: {{ input }}"\n'
    )
    set_use_case("shop", ws, max_words=2, must_not_contain=["zzz"])
    return ws


def test_rag_and_a_per_model_prompt_are_applied_and_recorded(workspace, tiny_model_dir, tmp_path):
    prompted, plain = f"hf:{tiny_model_dir}", f"hf:{tiny_model_dir}/"
    saved = evaluate(
        [prompted, plain],
        "faq@v1",
        kb="facts",
        k=1,
        prompts={prompted: tmp_path / "long.yaml"},
        project="shop",
        max_new_tokens=3,
        encoder=False,
        ws=workspace,
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    for item in saved:
        assert item.summary["kb"] == "facts" and item.summary["k"] == 1
        assert item.summary["format_checks"] == {"max_words": 2, "must_not_contain": ["zzz"]}
        for row, (_, expected_chunk) in zip(item.rows, QUESTIONS.values(), strict=True):
            user = row["messages"][-1]["content"]
            assert expected_chunk in user and "<reference_documents>" in user
            assert len(row["retrieved"]) == 1 and row["retrieved"][0]
            sent = tokenizer.apply_chat_template(
                row["messages"], add_generation_prompt=True, tokenize=True, return_dict=False
            )
            assert row["prompt_tokens"] == len(sent)  # the recorded prompt is the one sent
            words_ok = len(row["output"].split()) <= 2 and "zzz" not in row["output"]
            assert row["scores"]["format_ok"] == float(words_ok)
        loss = item.summary["loss"]
        assert loss["tokens"] == sum(r["ref_tokens"] for r in item.rows) > 0
        report = item.report_path.read_text()
        assert "format checks (project 'shop'): max_words=2" in report
        assert "retrieval: top 1 chunks of knowledge base 'facts'" in report
        assert "perplexity" in report and item.html_path.is_file()

    with_prompt, without = saved
    assert with_prompt.rows[0]["retrieved"] == without.rows[0]["retrieved"]  # same chunks
    assert with_prompt.summary["prompt"]["first_line"].startswith("You are the shop assistant")
    assert without.summary["prompt"] is None
    for a, b in zip(with_prompt.rows, without.rows, strict=True):
        system = a["messages"][0]["content"]
        assert system.startswith("You are the shop assistant") and "reference documents" in system
        assert f"Customer question: {a['input']}" in a["messages"][-1]["content"]
        assert "shop assistant" not in b["messages"][0]["content"]
        assert a["prompt_tokens"] > b["prompt_tokens"]


def test_retrieval_needs_a_positive_k(workspace, tiny_model_dir):
    with pytest.raises(InvalidInput, match="-k must be at least 1"):
        evaluate([f"hf:{tiny_model_dir}"], "faq@v1", kb="facts", k=0, encoder=False, ws=workspace)
