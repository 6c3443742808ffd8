"""`tunesmith eval` and `tunesmith compare` driven as a person would, on real models and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import InvalidInput
from core.settings import get_settings
from tests.fake_openai import FakeOpenAIServer
from tests.ui.cli_support import cli_invoker
from tools.datasets.store import DatasetStore
from ui.cli import app

ANSWERS = {f"What is item {i}?": f"Item {i} is a bag of coffee beans." for i in range(16)}


def faq_rows(split: str = "eval") -> list[dict]:
    rows = [{"prompt": q, "completion": a, "meta": {"split": split}} for q, a in ANSWERS.items()]
    rows.append(
        {
            "messages": [
                {"role": "user", "content": "Say hi."},
                {"role": "assistant", "content": "Hi there!"},
            ],
            "meta": {"split": split},
        }
    )
    return rows


@pytest.fixture
def invoke(tunesmith_home):
    return cli_invoker()


def test_tiny_hf_model_end_to_end_writes_the_files(invoke, tunesmith_home, tiny_model_dir):
    DatasetStore().commit("faq", faq_rows(), operation="import", parent=None)
    [saved] = invoke(
        "eval", f"hf:{tiny_model_dir}", "--data", "faq@v1", "--max-new-tokens", "4",
        "--batch-size", "8", "--json",
    )  # fmt: skip
    folder = tunesmith_home / "evals" / saved["id"]
    assert saved["id"].startswith("e-") and saved["path"] == str(folder)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["model"] == f"hf:{tiny_model_dir}" and summary["dataset"] == "ds:faq@v1"
    assert summary["split"] == "eval" and summary["n"] == 17 and summary["failed"] == 0
    assert {"rouge_l", "bleu", "chrf", "exact_match", "embedding_similarity"} <= set(
        summary["metrics"]
    )
    assert 0 < summary["cost"]["mean_output_tokens"] <= 4
    rows = [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]
    assert [r["reference"] for r in rows[:2]] == list(ANSWERS.values())[:2]
    assert rows[-1]["input"] == "Say hi." and all(r["prompt_tokens"] > 0 for r in rows)
    report = (folder / "report.md").read_text()
    assert "| metric | mean | 95% interval | n |" in report and "| rouge_l |" in report
    assert "mean prompt tokens" in report and "## Best examples (ROUGE-L)" in report

    human = invoke("eval", f"hf:{tiny_model_dir}", "--data", "faq@v1", "--max-new-tokens", "2")
    assert "rouge_l" in human and "report:" in human


def test_no_eval_rows_says_how_to_split(tunesmith_home):
    DatasetStore().commit("faq", faq_rows("train"), operation="import", parent=None)
    result = CliRunner().invoke(app, ["eval", "hf:/nowhere", "--data", "faq@v1"])
    assert isinstance(result.exception, InvalidInput)
    assert "`tunesmith data split faq`" in result.exception.hint


def _answer(body: dict) -> str:
    """tiny-good knows every answer; tiny-base only the first four."""
    question = body["messages"][-1]["content"]
    number = int(question.split("item ")[1].rstrip("?"))
    if body["model"] == "tiny-good" or number < 4:
        return ANSWERS[question]
    return "I do not know."


def test_eval_two_remote_models_then_compare(invoke, tunesmith_home, monkeypatch):
    rows = [r for r in faq_rows() if "prompt" in r]
    DatasetStore().commit("faq", rows, operation="import", parent=None)
    with FakeOpenAIServer(delay_s=0.0, responder=_answer) as server:
        monkeypatch.setenv("TUNESMITH_OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("TUNESMITH_REQUEST_RETRIES", "0")
        get_settings.cache_clear()
        base, good = invoke(
            "eval", "openai:tiny-base", "openai:tiny-good", "--data", "faq@v1", "--json"
        )
    assert base["metrics"]["exact_match"]["mean"] == pytest.approx(4 / 16)
    assert good["metrics"]["exact_match"]["mean"] == 1.0

    result = invoke("compare", base["id"], good["id"], "--json")
    [cand] = result["candidates"]
    assert cand["deltas"]["exact_match"]["delta"] == pytest.approx(0.75)
    assert cand["deltas"]["exact_match"]["significant"] is True
    assert [m["id"] for m in cand["improved"]] and cand["worsened"] == []
    assert len(cand["improved"]) == 10  # the ten that improved most, of twelve
    assert result["html"].endswith("comparison.html")
    text = invoke("compare", base["id"], f"eval:{good['id']}")
    assert "larger than the noise" in text and "| exact_match | 0.250 | 1.000 | +0.750 |" in text
    md, html = (line.split()[-1] for line in text.splitlines() if ".md" in line or ".html" in line)
    assert md.endswith("comparison.md") and (tunesmith_home / "evals") in Path(md).parents
    assert "Improved most" in Path(md).read_text() and "<img src=" in Path(html).read_text()


def _graded(body: dict) -> str:
    """The answerer echoes the question back; the judge gives 4 to everything."""
    if body["model"] == "judge":
        return "4"
    return body["messages"][-1]["content"]


def test_per_model_prompt_and_judge_from_the_command_line(
    invoke, tunesmith_home, monkeypatch, tmp_path
):
    rows = [r for r in faq_rows() if "prompt" in r][:4]
    DatasetStore().commit("faq", rows, operation="import", parent=None)
    prompt = tmp_path / "short.yaml"
    prompt.write_text('system: "Be brief."\nuser: "Q: {{ input }}"\n')
    with FakeOpenAIServer(delay_s=0.0, responder=_graded) as server:
        monkeypatch.setenv("TUNESMITH_OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("TUNESMITH_REQUEST_RETRIES", "0")
        get_settings.cache_clear()
        plain, prompted = invoke(
            "eval", "openai:a", "openai:b", "--data", "faq@v1", "--prompt",
            f"openai:b={prompt}", "--judge", "openai:judge", "--json",
        )  # fmt: skip
        text = invoke("eval", "openai:a", "--data", "faq@v1", "--judge", "openai:judge")
    assert plain["prompt"] is None and prompted["prompt"]["file"] == str(prompt)
    # the echo answers show what each model was sent
    lines = (Path(prompted["path"]) / "rows.jsonl").read_text().splitlines()
    outputs = [json.loads(line)["output"] for line in lines]
    assert outputs == [f"Q: {r['prompt']}" for r in rows]
    for saved in (plain, prompted):
        assert saved["judge"]["model"] == "openai:judge" and saved["judge"]["scored"] == 4
        assert saved["metrics"]["judge"]["mean"] == pytest.approx(0.75)  # (4 - 1) / 4
        assert Path(saved["html"]).is_file()
    assert "judge openai:judge: 4 scored" in text and "html:" in text


def test_a_builtin_judge_is_warned_about_before_anything_runs(tunesmith_home):
    result = CliRunner().invoke(
        app,
        ["eval", "hf:/nowhere", "--data", "none@v1", "--judge", "builtin:smollm2-135m-instruct"],
    )
    assert result.exit_code != 0
    assert "warning:" in result.output and "close to noise" in result.output
