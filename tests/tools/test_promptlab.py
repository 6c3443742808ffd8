"""The prompt lab on real models: the tiny local LM and a real OpenAI-compatible HTTP server."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from core.errors import InvalidInput, NotFound
from core.settings import get_settings
from core.workspace import Workspace
from tests.fake_openai import FakeOpenAIServer
from tools.datasets.store import DatasetStore
from tools.promptlab import ExperimentStore, load_inputs, load_template, run_experiment
from tools.promptlab.template import sample_template_path
from tools.usecase import set_use_case

ASSETS = Path(__file__).parent.parent / "assets" / "promptlab"
REFERENCES = {
    "Do you ship abroad?": "Yes, to the EU.",
    "Is the decaf organic?": "Yes, it is organic.",
}


def _answer(body: dict) -> str:
    """`good` answers the reference; `judge` grades 4; anything else answers off the mark."""
    if body["model"] == "judge":
        return "Score: 4"
    question = body["messages"][-1]["content"].removeprefix("Question: ")
    if body["model"] == "good":
        return REFERENCES.get(question, "No idea.")
    return "I do not know."


# --- templates ----------------------------------------------------------------------------------


def test_template_renders_fields_and_refuses_bad_templates(tmp_path):
    template = load_template(ASSETS / "template.yaml")
    assert (template.name, template.version, template.fields) == (
        "test-support",
        "3",
        ["input", "product"],
    )
    assert template.messages({"input": "Hi?", "product": "beans"}) == [
        {"role": "system", "content": "Answer in one short sentence about beans."},
        {"role": "user", "content": "Question: Hi?"},
    ]
    with pytest.raises(InvalidInput, match="'product' is undefined") as missing:
        template.messages({"input": "Hi?"}, "input 'q7'")
    assert "q7" in missing.value.message
    assert load_template({"user": "{{ input }}"}).messages({"input": "x"}) == [
        {"role": "user", "content": "x"}
    ]
    with pytest.raises(InvalidInput, match="no `user:`"):
        load_template({"system": "hi"})
    with pytest.raises(InvalidInput, match="unknown key.*usr"):
        load_template({"usr": "{{ input }}"})
    with pytest.raises(InvalidInput, match="line 2"):
        load_template({"user": "fine\n{{ input "})
    with pytest.raises(InvalidInput, match="unsafe"):
        load_template({"user": "{{ input.__class__.__mro__ }}"}).messages({"input": "x"})
    with pytest.raises(NotFound):
        load_template(tmp_path / "missing.yaml")
    sample = load_template(sample_template_path())
    assert (
        sample.fields == ["input"] and "60 words" in sample.messages({"input": "Hi"})[0]["content"]
    )


# --- inputs -------------------------------------------------------------------------------------


def test_inputs_from_files_typed_text_datasets_and_the_use_case(tunesmith_home, tmp_path):
    ws = Workspace(tunesmith_home)
    rows = load_inputs(str(ASSETS / "inputs.jsonl"))
    assert [r.id for r in rows] == ["ship", "decaf", "xss"]
    assert rows[0].reference == "Yes, to the EU." and rows[2].reference is None
    assert rows[1].values() == {"product": "Low Tide Decaf", "input": "Is the decaf organic?"}
    text = tmp_path / "q.txt"
    text.write_text("first\n\n  second  \n")
    assert [(r.id, r.input) for r in load_inputs(text)] == [("in1", "first"), ("in2", "second")]
    assert [r.input for r in load_inputs(["a", "b", "c"], limit=2)] == ["a", "b"]

    def chat(i: int, split: str) -> dict:
        messages = [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]
        return {"id": f"r{i}", "messages": messages, "meta": {"split": split}}

    store = DatasetStore(ws)
    store.commit(
        "faq",
        [chat(i, "eval" if i in (2, 5) else "train") for i in range(8)],
        operation="import",
        parent=None,
    )
    store.commit("plain", [chat(i, "train") for i in range(8)], operation="import", parent=None)
    held_out = load_inputs("faq@v1", ws)
    assert [(r.id, r.input, r.reference) for r in held_out] == [
        ("r2", "q2", "a2"),
        ("r5", "q5", "a5"),
    ]
    assert [r.input for r in load_inputs("plain@v1", ws, limit=3)] == ["q0", "q1", "q2"]

    with pytest.raises(InvalidInput, match="no use-case examples"):
        load_inputs("usecase", ws)
    set_use_case("shop", ws, examples=[{"input": "Hours?", "output": "9 to 5."}, {"input": "Hi"}])
    assert [(r.input, r.reference) for r in load_inputs("usecase:shop", ws)] == [
        ("Hours?", "9 to 5."),
        ("Hi", None),
    ]
    assert load_inputs("usecase", ws, project="shop") == load_inputs("usecase:shop", ws)

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "ok"}\n\n{"text": "no input"}\n')
    with pytest.raises(InvalidInput, match="bad.jsonl line 3"):
        load_inputs(bad)
    with pytest.raises(NotFound):
        load_inputs("nothing-here.jsonl")
    with pytest.raises(InvalidInput, match=".jsonl or .txt"):
        load_inputs(str(ASSETS / "template.yaml"))


# --- a whole experiment -------------------------------------------------------------------------


class _Table(HTMLParser):
    """Counts table rows and cells, and collects the text, of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append(tag)

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_experiment_matrix_over_a_local_and_two_remote_models(
    tunesmith_home, tiny_model_dir, monkeypatch
):
    ws = Workspace(tunesmith_home)
    set_use_case("default", ws, max_words=5)
    monkeypatch.setenv("TUNESMITH_REQUEST_RETRIES", "0")
    get_settings.cache_clear()
    seen: list[str] = []
    with FakeOpenAIServer(delay_s=0.0, responder=_answer) as server:
        good, meh, judge = (f"openai:{m}@{server.url}" for m in ("good", "meh", "judge"))
        saved = run_experiment(
            ASSETS / "template.yaml",
            f"hf:{tiny_model_dir},{good},{meh}",
            str(ASSETS / "inputs.jsonl"),
            judge=judge,
            max_new_tokens=4,
            ws=ws,
            progress=lambda stage, done, total: seen.append(stage),
        )
        judged_prompts = [
            b["messages"][-1]["content"] for b in server.bodies if b["model"] == "judge"
        ]
    tiny = f"hf:{tiny_model_dir}"
    assert saved.id.startswith("x-") and saved.path == tunesmith_home / "experiments" / saved.id
    assert {tiny, good, meh, "judge"} <= set(seen)

    rows = [json.loads(line) for line in saved.results_path.read_text().splitlines()]
    assert len(rows) == 9 and {r["model"] for r in rows} == {tiny, good, meh}
    cell = {(r["input_id"], r["model"]): r for r in rows}
    assert cell["ship", good]["output"] == "Yes, to the EU."
    assert cell["ship", good]["scores"]["exact_match"] == 1.0
    assert cell["ship", meh]["scores"]["exact_match"] == 0.0
    assert "rouge_l" not in cell["xss", good]["scores"]  # no reference, no reference metrics
    # The use case's 5-word limit is checked on every cell, reference or not.
    assert cell["xss", good]["scores"]["format_ok"] == 1.0  # "No idea." is 2 words
    assert (
        cell["ship", tiny]["prompt"][0]["content"] == "Answer in one short sentence about shipping."
    )
    assert 0 < cell["ship", tiny]["output_tokens"] <= 4 and cell["ship", tiny]["prompt_tokens"] > 5
    assert all(r["error"] is None and r["judge"] == 4.0 for r in rows if r["output"].strip())
    # The judge saw the whole prompt (system part included) and the answer.
    assert any("Answer in one short sentence about shipping." in p for p in judged_prompts)

    summary = json.loads((saved.path / "summary.json").read_text())
    assert summary == saved.summary and summary["models"] == [tiny, good, meh]
    per_good = summary["per_model"][good]
    assert per_good["metrics"]["exact_match"] == 1.0  # both referenced inputs answered exactly
    assert summary["per_model"][meh]["metrics"]["exact_match"] == 0.0
    assert per_good["failed"] == 0 and per_good["judge"] == 4.0 and per_good["n"] == 3
    assert summary["template"] == {"name": "test-support", "version": "3"}
    assert summary["with_reference"] == 2 and summary["warnings"] == []
    assert load_template(saved.path / "template.yaml") == load_template(ASSETS / "template.yaml")

    page = saved.html_path.read_text()
    table = _Table()
    table.feed(page)
    assert "script" not in table.tags and "link" not in table.tags and "img" not in table.tags
    assert "<script>alert(1)</script> & what?" in "".join(table.text)  # shown as text, escaped
    assert len(table.rows) == 1 + 3 + 1 and all(len(r) == 4 for r in table.rows)
    markdown = saved.md_path.read_text()
    assert markdown.count("\n| ") == 1 + 3 + 1 and "Yes, to the EU." in markdown
    assert "| **per model** |" in markdown and "judge 4.00" in markdown

    [listed] = ExperimentStore(ws).list()
    assert listed["id"] == saved.id and listed["models"] == [tiny, good, meh]
    loaded = ExperimentStore(ws).load(f"exp:{saved.id}")  # the agent's artifact id works too
    assert loaded.rows == rows and loaded.kind == "prompt"


def test_a_model_that_cannot_load_fails_its_cells_not_the_experiment(tunesmith_home, tmp_path):
    ws = Workspace(tunesmith_home)
    missing = f"hf:{tmp_path / 'no-such-model'}"
    with FakeOpenAIServer(delay_s=0.0, responder=_answer) as server:
        good = f"openai:good@{server.url}"
        saved = run_experiment(
            {"user": "{{ input }}"}, [missing, good], ["Hi", "Do you ship abroad?"], ws=ws
        )
    per_model = saved.summary["per_model"]
    assert per_model[missing]["failed"] == 2 and per_model[good]["failed"] == 0
    assert all(
        r["error"].startswith("model not loaded") for r in saved.rows if r["model"] == missing
    )
    assert "failed: model not loaded" in saved.html_path.read_text()
    with pytest.raises(InvalidInput, match="max_new_tokens"):
        run_experiment({"user": "{{ input }}"}, [good], ["Hi"], max_new_tokens=0, ws=ws)
    with pytest.raises(InvalidInput, match="'topic' is undefined"):
        run_experiment({"user": "{{ topic }}"}, [good], ["Hi"], ws=ws)
    assert len(ExperimentStore(ws).list()) == 1  # refused runs save nothing
