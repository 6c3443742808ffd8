"""The demo end to end on a tiny model: every step runs and leaves the artifacts it names.

The writer of the synthetic inputs is a scripted OpenAI-compatible server (the one fake the house
allows: it stands in for a remote model); everything else is real: the sample knowledge base, the
quality pipeline, a TRL run of the tiny model, evaluations, advice, the test suite and the export.
The builtin model's timing is measured by hand and quoted in the README.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fake_openai import FakeOpenAIServer
from ui.cli import app

CONTEXT = re.compile(r"Context: (?P<context>.+)")


def write_request(body: dict) -> str:
    """A request for the golden text shown last (built from its context line), or a grade."""
    if "1 to 5" in body["messages"][0]["content"] + body["messages"][-1]["content"]:
        return "4"
    match = CONTEXT.findall(body["messages"][-1]["content"])
    topic = match[-1] if match else "this week's news"
    return f"Write a short piece for this situation: {topic}. Keep it warm and specific."


@pytest.mark.slow
def test_the_demo_runs_every_step_and_names_its_artifacts(tunesmith_home, tiny_model_dir):
    with FakeOpenAIServer(delay_s=0.0, responder=write_request) as server:
        result = CliRunner().invoke(
            app,
            [
                "demo",
                "--model",
                f"hf:{tiny_model_dir}",
                "--writer",
                f"openai:fake@{server.url}",
                "--judge",
                f"openai:fake@{server.url}",
                "--max-steps",
                "4",
                "--max-new-tokens",
                "12",
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    steps = re.findall(r"✓ (.+?) \(\d+ s\)", result.output)
    assert steps == [
        "use case",
        "knowledge base",
        "prompt lab",
        "synthesis",
        "training",
        "evaluation",
        "advice",
        "tests",
        "export",
    ]
    artifacts = dict(
        line.strip().split(": ", 1)
        for line in result.output.split("Artifacts", 1)[1].splitlines()
        if ": " in line and line.startswith("  ")
    )
    comparison = artifacts["comparison"]
    html = Path(comparison).read_text(encoding="utf-8")
    HTMLParser().feed(html)
    # The comparison shows base and tuned side by side.
    assert f"hf:{tiny_model_dir}" in html and "run:" in html
    card = Path(artifacts["model card"]).read_text(encoding="utf-8")
    assert "ds:demo-coffee@v1" in card
    exported = Path(artifacts["model folder"])
    assert (exported / "config.json").is_file()
    assert json.loads((exported / "config.json").read_text())["model_type"]
    assert any(p.suffix == ".safetensors" for p in exported.iterdir())
