"""`tunesmith data synth` end to end: a real kb, a scripted OpenAI-compatible server, real quality.

The server stands in for a remote model (the one fake the house allows): for each grounded
prompt it answers a question about the first document it was shown, except for stockist rows,
where it answers without labels, so those become parse-failure rejects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core import sample_data
from core.errors import ModelUnavailable
from core.settings import get_settings
from core.workspace import Workspace
from tests.core.test_engine_openai import dead_url
from tests.fake_openai import FakeOpenAIServer
from tools.knowledge.kb import add_documents, open_kb
from ui.cli import app


def grounded_synth(url: str, n: int, *extra: str) -> list[str]:
    """The CLI arguments of a grounded synthesis of `n` rows with the model at `url`."""
    return [
        "data",
        "synth",
        "faq",
        "--kb",
        "sample",
        "--strategy",
        "grounded",
        "--n",
        str(n),
        "--model",
        f"openai:fake@{url}",
        *extra,
    ]


DOCUMENT = re.compile(r'<document source="(?P<source>[^"]+)">\n(?P<text>.*?)\n</document>', re.S)


def grounded_answer(body: dict) -> str:
    match = DOCUMENT.search(body["messages"][-1]["content"])
    if match is None or match["source"].endswith(".csv"):
        return "I am not sure what to say about this."
    lines = [line for line in match["text"].splitlines() if line.strip() and line[0] != "#"]
    answer = lines[0].strip() if lines else match["text"][:200]
    topic = " ".join(answer.split()[:5])
    return f"QUESTION: What does {match['source']} say about {topic}?\nANSWER: {answer}"


@pytest.fixture
def sample_kb(tunesmith_home):
    add_documents("sample", [sample_data.docs_dir()])
    return Workspace.from_settings(get_settings())


def test_grounded_synthesis_makes_a_clean_split_dataset(sample_kb):
    with FakeOpenAIServer(delay_s=0.01, responder=grounded_answer) as server:
        args = grounded_synth(server.url, 12, "--dedupe", "exact", "--eval-fraction", "0.25")
        result = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    version, synthesis = data["version"], data["synthesis"]
    assert version["ref"] == "ds:faq@v1" and version["operation"] == "synth"
    assert synthesis["summary"]["kept"] >= 10
    assert set(synthesis["summary"]["reasons"]) <= {"parse failure", "too short"}
    assert [step["step"] for step in data["quality"]] == [
        "pii",
        "dedupe",
        "grounding",
        "split",
        "leakage",
    ]
    rows = [json.loads(line) for line in Path(version["path"]).read_text().splitlines()]
    chunk_ids = {c.id for c in open_kb("sample", sample_kb).chunks}
    sides: dict[str, set] = {}
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles[-2:] == ["user", "assistant"]
        provenance = row["meta"]["provenance"]
        assert provenance["strategy"] == "grounded" and provenance["model"].startswith("openai:")
        assert provenance["prompt_version"] and set(provenance["chunk_ids"]) <= chunk_ids
        assert row["meta"]["scores"]["grounding"] > 0.3
        for source in row["meta"]["sources"]:
            sides.setdefault(source, set()).add(row["meta"]["split"])
    assert all(len(s) == 1 for s in sides.values()), sides
    assert {"train", "eval"} == set().union(*sides.values())
    assert data["quality"][-1]["notes"]["ok"] is True
    assert not list((sample_kb.root / "synth").rglob("*.partial.jsonl"))  # job finished


def test_an_unreachable_model_server_is_one_clear_error(sample_kb):
    with pytest.raises(ModelUnavailable) as info:
        CliRunner().invoke(app, grounded_synth(f"{dead_url()}/v1", 2), catch_exceptions=False)
    assert "127.0.0.1" in str(info.value) and info.value.hint


def test_missing_golden_file_and_empty_kb_say_what_to_do(sample_kb, tmp_path):
    with pytest.raises(Exception) as missing:
        CliRunner().invoke(
            app,
            ["data", "synth", "x", "--kb", "sample", "--golden", str(tmp_path / "nope.jsonl")],
            catch_exceptions=False,
        )
    assert "nope.jsonl" in str(missing.value) and missing.value.hint
    with pytest.raises(Exception) as unknown:
        CliRunner().invoke(
            app,
            ["data", "synth", "x", "--kb", "nokb", "--strategy", "grounded"],
            catch_exceptions=False,
        )
    assert "kb add nokb" in unknown.value.hint
