"""`tunesmith chat` and `tunesmith route` as a person uses them (typer's runner, real workspace,
the offline guide and the built-in tools)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from tests.trainers.test_jobs_support import make_workspace
from trainers.jobs.registry import list_runs
from ui.cli import app


@pytest.fixture
def workspace(tunesmith_home, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("TUNESMITH_BASE_MODEL", f"hf:{tiny_model_dir}")
    monkeypatch.setenv("TUNESMITH_DEVICE", "cpu")
    get_settings.cache_clear()
    return make_workspace(tunesmith_home)


def test_route_prints_the_call_without_making_it(workspace):
    result = CliRunner().invoke(
        app, ["route", "fine-tune with LoRA on pattern@v1 for 2 epochs", "--json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["tool"] == "start_training" and plan["reply"] == ""
    assert plan["args"] == {"dataset": "pattern@v1", "method": "lora", "epochs": 2}
    assert list_runs(workspace) == []
    lost = CliRunner().invoke(app, ["route", "sing me a song about the sea"])
    assert lost.exit_code == 1 and "I did not understand that." in lost.stdout


def test_chat_runs_tools_asks_before_training_and_keeps_threads(workspace):
    lines = [
        "what are you able to do for me?",
        "fine-tune with LoRA on pattern@v1",
        "r",
        "too early",
        "/threads",
        "/quit",
    ]
    result = CliRunner().invoke(app, ["chat"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "→ help()" in out and "✓ help" in out
    assert "Approval needed for start_training(dataset='pattern@v1', method='lora')" in out
    assert "Estimated cost" in out and "OK, I did not run start_training." in out
    assert list_runs(workspace) == []
    thread = out.split("thread ", 1)[1].split(".", 1)[0]
    assert f"* {thread}" in out and "what are you able to do for me?" in out

    # the same thread after a restart: history replayed, conversation goes on
    again = CliRunner().invoke(app, ["chat", "--thread", thread], input="/quit\n")
    assert again.exit_code == 0, again.output
    assert "you> fine-tune with LoRA on pattern@v1" in again.stdout
    assert "OK, I did not run start_training." in again.stdout
