"""`tunesmith train`: the recipe explained, refusals that say what to do, and a real launch."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.errors import InvalidInput
from core.workspace import Workspace
from tests.trainers.test_jobs_support import make_workspace, pattern_rows, wait_for
from ui.cli import app


@pytest.fixture
def invoke(tunesmith_home):
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


def test_recipe_is_printed_with_reasons_and_the_run_succeeds(
    invoke, tunesmith_home, tiny_model_dir
):
    make_workspace(tunesmith_home)
    args = ["train", "--data", "pattern@v1", "--model", f"hf:{tiny_model_dir}", "--method"]
    args += ["lora", "--set", "max_steps=6", "--set", "learning_rate=0.005", "--yes", "--json"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    recipe = data["recipe"]
    assert recipe["method"] == "lora" and recipe["precision"] == "fp32"
    assert recipe["reasons"]["max_steps"] == "set by you"
    assert all(recipe["reasons"].get(k) for k in ("max_length", "loss", "packing", "batch_size"))
    assert data["estimate"]["fits"] and data["estimate"]["steps"] > 0
    run = wait_for(Workspace(tunesmith_home), data["run"]["id"], ("succeeded", "failed"), 240)
    assert run.status == "succeeded", run.cause
    assert (run.run_dir / "final").is_dir() and (run.run_dir / "loss.png").is_file()

    again = invoke(*args)
    assert json.loads(again.stdout)["run"] == {
        **data["run"],
        "duplicate": True,
        "status": "succeeded",
    }


def test_human_output_lists_reasons_and_the_estimate(invoke, tunesmith_home, tiny_model_dir):
    make_workspace(tunesmith_home)
    result = invoke("train", "--data", "pattern", "--model", f"hf:{tiny_model_dir}", input="n\n")
    assert result.exit_code == 1  # declined at the prompt: nothing launched
    assert "Estimate:" in result.stdout and "Start this run?" in result.stdout
    assert "packing" in result.stdout and "off on cpu" in result.stdout
    assert not (tunesmith_home / "runs").exists() or not any((tunesmith_home / "runs").iterdir())


def test_refusals_say_what_to_do(invoke, tunesmith_home, tiny_model_dir):
    make_workspace(tunesmith_home, rows=pattern_rows(n=5, eval_every=100))
    with pytest.raises(InvalidInput, match="needs at least"):
        invoke("train", "--data", "pattern", "--model", f"hf:{tiny_model_dir}", "--yes")
    make_workspace(tunesmith_home, rows=pattern_rows(), name="big")
    with pytest.raises(InvalidInput) as info:
        invoke(
            "train",
            "--data",
            "big",
            "--model",
            f"hf:{tiny_model_dir}",
            "--set",
            "learning_rat=1",
            "--yes",
        )
    assert "learning_rate" in info.value.hint
