"""`tunesmith advise`: a real run's curves diagnosed, proposals saved as runnable recipe files,
and a sweep around them planned, launched through the queue and ranked."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.errors import InvalidInput
from core.workspace import Workspace
from tests.tools.test_sweep import flat_metrics, parent_run
from tests.trainers.test_jobs_support import launch, make_workspace, tiny_recipe, wait_for
from tools.tuning.diagnose import Finding
from trainers.jobs.registry import list_runs
from trainers.jobs.runner import cancel
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


def test_advise_sweep_plans_launches_and_ranks(tunesmith_home, tiny_model_dir):
    ws: Workspace = make_workspace(tunesmith_home)
    parent = parent_run(ws, tiny_model_dir, flat_metrics(), learning_rate=1e-4, max_steps=8)

    def invoke(*args: str):
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if "--json" in args else result.stdout

    plan = invoke("advise", parent.id, "--sweep", "--dry-run", "--max-runs", "3", "--json")
    assert plan["sweep"] is None and [g["changes"] for g in plan["grid"]] == [
        {"learning_rate": 3e-4},
        {"learning_rate": 6e-4},
        {"learning_rate": 1.5e-4},
    ]
    assert all(g["estimated_s"] > 0 for g in plan["grid"]) and plan["estimate_unknown"] == ""
    human = invoke("advise", parent.id, "--sweep", "--dry-run")
    assert "learning_rate_too_low" in human and "Sweep around" in human and "Dry run" in human
    assert [r.id for r in list_runs(ws)] == [parent.id]  # a dry run launches nothing
    with pytest.raises(InvalidInput, match="1 to 6"):
        invoke("advise", parent.id, "--sweep", "--max-runs", "7")
    with pytest.raises(InvalidInput, match="Name the run"):
        invoke("advise")

    launched = invoke("advise", parent.id, "--sweep", "--max-runs", "1", "--json")
    [point] = launched["grid"]
    assert point["changes"] == {"learning_rate": 3e-4} and not point["duplicate"]
    assert cancel(ws, point["run_id"], grace_s=2).status == "cancelled"  # no need to train it
    status = invoke("advise", "--sweep-status", launched["sweep"], "--json")
    assert [(r["run_id"], r["status"], r["rank"]) for r in status["ranking"]] == [
        (parent.id, "succeeded", None),
        (point["run_id"], "cancelled", None),
    ]
    shown = invoke("prompt", "show", f"exp:{launched['sweep']}")  # sweeps are experiments too
    assert f'"parent_run": "{parent.id}"' in shown and "--sweep-status" in shown
    table = invoke("advise", "--sweep-status", launched["sweep"])
    assert (
        "ranked by eval loss" in table and "cancelled" in table and "learning_rate=0.0003" in table
    )
