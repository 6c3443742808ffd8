"""`tunesmith advise`: a real run's curves diagnosed, proposals saved as runnable recipe files."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from core.workspace import Workspace
from tests.trainers.test_jobs_support import launch, make_workspace, tiny_recipe, wait_for
from tools.tuning.diagnose import Finding
from trainers.recipes import load_recipe_file
from ui.cli import app

KINDS = {
    "overfitting",
    "underfitting",
    "learning_rate_too_low",
    "instability",
    "outputs_too_long",
    "outputs_too_short",
    "format_failures",
    "no_gain",
    "not_enough_data",
    "healthy",
}


def test_advise_diagnoses_a_run_and_writes_runnable_proposals(tunesmith_home, tiny_model_dir):
    ws: Workspace = make_workspace(tunesmith_home)
    # A learning rate far too low for the tiny model: the loss barely moves.
    run = launch(ws, tiny_recipe(tiny_model_dir, learning_rate=1e-7, max_steps=8, eval_steps=4))
    assert wait_for(ws, run.id, ("succeeded", "failed"), 240).status == "succeeded"

    result = CliRunner().invoke(app, ["advise", run.id, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    kinds = [f["kind"] for f in data["findings"]]
    assert kinds and set(kinds) <= KINDS
    assert "learning_rate_too_low" in kinds, data["findings"]
    assert all(set(f) >= {k for k in Finding.__dataclass_fields__} for f in data["findings"])
    with_changes = [p for p in data["proposals"] if p["changes"]]
    assert with_changes and len(with_changes[0]["changes"]) <= 2
    for proposal in with_changes:
        recipe = load_recipe_file(proposal["recipe_file"])
        for key, value in proposal["changes"].items():
            assert getattr(recipe, key) == value
        assert recipe.learning_rate > 1e-7 or "learning_rate" not in proposal["changes"]
        assert proposal["command"].endswith(f"--recipe {proposal['recipe_file']}")

    human = CliRunner().invoke(app, ["advise", run.id], catch_exceptions=False).stdout
    assert "Proposal 1" in human and "run it: tunesmith train" in human
