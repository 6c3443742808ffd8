"""The eval runner against a real HTTP server scripted to be right on half the examples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import InvalidInput
from core.models import load_engine
from core.settings import Settings
from core.workspace import Workspace
from tests.fake_openai import FakeOpenAIServer
from tools.datasets.store import DatasetStore
from tools.evaluation.compare import compare, render_comparison
from tools.evaluation.runner import example_from_row, examples_for_split, run_eval
from tools.evaluation.store import EvalStore

N = 20
QUESTIONS = {f"question number {i}?": f"answer {i} is the reference" for i in range(N)}


def rows_with_split() -> list[dict]:
    rows = []
    for i, (question, answer) in enumerate(QUESTIONS.items()):
        if i < 2:  # the last user turn decides the fake server's behaviour: these fail
            question = f"fail-always {question}"
        rows.append(
            {"id": f"r{i:05d}", "prompt": question, "completion": answer, "meta": {"split": "eval"}}
        )
    rows.append({"id": "t1", "prompt": "train only", "completion": "x", "meta": {"split": "train"}})
    return rows


def responder(body: dict) -> str:
    """The reference for the even-numbered questions, garbage for the odd ones."""
    question = body["messages"][-1]["content"]
    number = int(question.split("number ")[1].rstrip("?"))
    return QUESTIONS[f"question number {number}?"] if number % 2 == 0 else "zzz qqq"


class CharEncoder:
    """A deterministic stand-in for MiniLM: letter counts."""

    def encode(self, texts):
        out = np.zeros((len(texts), 26))
        for row, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[row, ord(ch) - 97] += 1
        return out


@pytest.fixture
def engine(tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TUNESMITH_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer(delay_s=0.0, responder=responder) as server:
        settings = Settings(
            home=tmp_path, openai_base_url=server.url, request_timeout=5.0, request_retries=0
        )
        yield load_engine("openai:tiny-a", settings)


def test_half_right_scores_half_with_an_interval_and_counts_failures(engine):
    examples = examples_for_split(rows_with_split(), "eval", "ds:faq@v1")
    assert [ex.id for ex in examples] == [f"r{i:05d}" for i in range(N)]  # train row left out
    seen = []
    result = run_eval(
        engine,
        examples,
        dataset="ds:faq@v1",
        batch_size=4,
        encoder=CharEncoder(),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [r["id"] for r in result.rows] == [ex.id for ex in examples]  # order preserved
    assert seen[-1] == (N, N)
    summary = result.summary
    assert summary["n"] == N and summary["failed"] == 2
    failed = [r for r in result.rows if r["error"]]
    assert [r["id"] for r in failed] == ["r00000", "r00001"]
    assert all(r["output"] == "" and r["scores"]["exact_match"] == 0.0 for r in failed)
    # the ten even questions get the reference, but r00000 failed: 9 of 20 are exact.
    em = summary["metrics"]["exact_match"]
    assert em["mean"] == pytest.approx(9 / N)
    assert em["low"] < em["mean"] < em["high"]
    assert em["low"] > 0.0 and em["high"] < 1.0
    assert summary["metrics"]["embedding_similarity"]["n"] == N
    ok = [r for r in result.rows if not r["error"]]
    assert all(r["prompt_tokens"] > 0 and r["output_tokens"] > 0 for r in ok)
    assert summary["cost"]["mean_output_tokens"] > 0


def test_exactly_half_right_gives_one_half(engine):
    rows = [r for r in rows_with_split() if not r["prompt"].startswith("fail")]
    examples = examples_for_split(rows, "eval", "ds:faq@v1")
    result = run_eval(engine, examples, dataset="ds:faq@v1")
    em = result.summary["metrics"]["exact_match"]
    assert em["mean"] == pytest.approx(0.5) and em["low"] < 0.5 < em["high"]
    assert result.summary["failed"] == 0


def test_messages_rows_keep_the_turns_before_the_last_assistant():
    row = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Bye?"},
            {"role": "assistant", "content": "Goodbye"},
        ]
    }
    example = example_from_row(row, 0)
    assert example is not None and example.reference == "Goodbye"
    assert [m["content"] for m in example.messages] == ["Be brief.", "Hi", "Hello", "Bye?"]
    assert example.input == "Bye?" and example.id == "row1"
    assert example_from_row({"text": "free text"}, 1) is None


def test_a_version_without_eval_rows_says_to_split():
    rows = [{"prompt": "a", "completion": "b", "meta": {"split": "train"}}, {"prompt": "c"}]
    with pytest.raises(InvalidInput) as caught:
        examples_for_split(rows, "eval", "ds:faq@v2")
    assert "no rows in the 'eval' split" in caught.value.message
    assert "tunesmith data split faq" in caught.value.hint


def test_saved_evals_compare_with_significance(engine, tunesmith_home):
    """Planted: the candidate answers every question right, the baseline half; a copy ties."""
    rows = [r for r in rows_with_split() if not r["prompt"].startswith("fail")]
    examples = examples_for_split(rows, "eval", "ds:faq@v1")
    store = EvalStore(Workspace.from_settings())
    base = run_eval(engine, examples, dataset="ds:faq@v1")
    perfect = run_eval(engine, examples, dataset="ds:faq@v1")
    for row in perfect.rows:
        row["output"] = row["reference"]
        row["scores"] = {**row["scores"], "exact_match": 1.0, "rouge_l": 1.0}
    from tools.evaluation.runner import summarize

    perfect.summary.update(summarize(perfect.rows))
    saved = [store.save(base), store.save(perfect), store.save(base)]
    summary = json.loads((saved[0].path / "summary.json").read_text())
    assert summary["id"] == saved[0].id and summary["n"] == N - 2
    lines = (saved[0].path / "rows.jsonl").read_text().splitlines()
    assert len(lines) == N - 2 and {"input", "reference", "output"} <= set(json.loads(lines[0]))
    report = (saved[0].path / "report.md").read_text()
    assert "| exact_match | 0.500 |" in report and "## Worst examples (ROUGE-L)" in report

    result = compare([store.load(s.id) for s in saved])
    better, same = result["candidates"]
    assert better["deltas"]["exact_match"]["delta"] == pytest.approx(0.5)
    assert better["deltas"]["exact_match"]["significant"] is True
    assert better["deltas"]["rouge_l"]["significant"] is True
    # the odd questions 3..19 were wrong in the baseline: nine improved (the list holds up to ten)
    assert len(better["improved"]) == 9 and better["worsened"] == []
    assert not any(d["significant"] for d in same["deltas"].values())
    text = render_comparison(result)
    assert "| exact_match | 0.500 | 1.000 | +0.500 |" in text and "| yes |" in text


def test_compare_refuses_evals_of_different_examples(engine, tunesmith_home):
    rows = [r for r in rows_with_split() if not r["prompt"].startswith("fail")]
    examples = examples_for_split(rows, "eval", "ds:faq@v1")
    store = EvalStore(Workspace.from_settings())
    a = store.save(run_eval(engine, examples, dataset="ds:faq@v1"))
    b = store.save(run_eval(engine, examples[:5], dataset="ds:faq@v1"))
    with pytest.raises(InvalidInput, match="not run on the same examples"):
        compare([a, b])


def test_the_dataset_store_feeds_the_runner(tunesmith_home):
    DatasetStore().commit("faq", rows_with_split(), operation="import", parent=None)
    _, rows = DatasetStore().read("faq@v1")
    assert len(examples_for_split(rows, "eval", "ds:faq@v1")) == N
