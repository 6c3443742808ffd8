"""Sweeps around the advice: the grid computed by hand, real tiny runs launched and ranked."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput, NotFound
from tests.trainers.test_jobs_support import fake_run, make_workspace, tiny_recipe, wait_for
from tools.evaluation.runner import EvalResult, summarize
from tools.evaluation.store import EvalStore
from tools.promptlab import ExperimentStore
from tools.tuning.sweep import launch_sweep, plan_points, plan_sweep, rank_sweep
from trainers.jobs.layout import Resolved, write_spec
from trainers.jobs.registry import list_runs
from trainers.jobs.runner import cancel


def flat_metrics(steps: int = 12, loss: float = 5.0) -> list[dict]:
    """A loss that barely moves: the advice is a higher learning rate (x3, under the ceiling)."""
    return [{"step": s, "epoch": s / steps, "loss": loss - 0.001 * s} for s in range(1, steps + 1)]


def parent_run(ws, model_dir, metrics: list[dict], status: str = "succeeded", **recipe):
    """A finished run of the tiny model whose metrics.jsonl holds `metrics`."""
    run = fake_run(ws, status=status)
    write_spec(
        run.paths,
        tiny_recipe(model_dir, **recipe).to_dict(),
        Resolved(str(model_dir), "data.jsonl", "ds:pattern@v1", "abc"),
    )
    run.paths.metrics.write_text("".join(json.dumps(m) + "\n" for m in metrics))
    return run


def test_the_grid_is_the_proposal_then_one_setting_moved_at_a_time(tunesmith_home, tiny_model_dir):
    ws = make_workspace(tunesmith_home)
    run = parent_run(ws, tiny_model_dir, flat_metrics(), learning_rate=1e-4, max_steps=8)
    _, parent, points = plan_points(run.id, 6, ws)
    assert [p.changes for p in points] == [
        {"learning_rate": 3e-4},  # the proposal: a flat loss triples the learning rate
        {"learning_rate": 6e-4},  # x2 around it
        {"learning_rate": 1.5e-4},  # x0.5
        {"learning_rate": 3e-4, "max_steps": 12},  # longer: 1.5x the steps
        {"learning_rate": 3e-4, "max_steps": 4},  # shorter: half
    ]
    assert points[0].why == "proposed (learning_rate_too_low)"
    recipes = plan_sweep(f"run:{run.id}", max_runs=2, ws=ws)
    assert [r.learning_rate for r in recipes] == [3e-4, 6e-4]
    assert all(r.dataset == parent.dataset and r.base_model == parent.base_model for r in recipes)
    for bad in (0, 7):
        with pytest.raises(InvalidInput, match="1 to 6"):
            plan_sweep(run.id, max_runs=bad, ws=ws)
    with pytest.raises(NotFound):
        plan_sweep("r-20000101-000000-dead", ws=ws)

    # A healthy run at the LoRA ceiling: no proposal, so neighbours of the run itself, and the
    # learning rate is never "raised" past the ceiling (or cut under the name of raising it).
    healthy = parent_run(ws, tiny_model_dir, [], learning_rate=1e-3, max_steps=8)
    assert [p.changes for p in plan_points(healthy.id, 6, ws)[2]] == [
        {"learning_rate": 5e-4},
        {"max_steps": 12},
        {"max_steps": 4},
    ]


def test_launch_real_tiny_runs_then_rank_them_by_eval_loss(tunesmith_home, tiny_model_dir):
    ws = make_workspace(tunesmith_home)
    # Too few points to diagnose: the grid is the run's own neighbours, short ones first.
    parent = parent_run(ws, tiny_model_dir, [], learning_rate=1e-3, max_steps=3, eval_steps=3)
    before = {r.id for r in list_runs(ws)}
    sweep = launch_sweep(parent.id, max_runs=2, ws=ws)
    assert sweep.id.startswith("sw-") and sweep.parent_run == parent.id
    assert [g["changes"] for g in sweep.grid] == [{"learning_rate": 5e-4}, {"max_steps": 4}]
    assert {r.id for r in list_runs(ws)} - before == set(sweep.run_ids)
    assert all(g["estimated_s"] > 0 and not g["duplicate"] for g in sweep.grid)
    saved = ExperimentStore(ws).load(sweep.id)
    assert saved.kind == "sweep" and saved.summary["runs"] == sweep.run_ids
    [row] = ExperimentStore(ws).list(kind="sweep")
    assert row["models"] == [f"run:{i}" for i in sweep.run_ids]

    # The queue dedupes: the same sweep again trains nothing new.
    again = launch_sweep(parent.id, max_runs=2, ws=ws)
    assert again.run_ids == sweep.run_ids and all(g["duplicate"] for g in again.grid)

    # One real run is enough to rank real metrics: the second (queued behind it on the one CPU
    # slot) is cancelled before it starts, and is listed with its status, unranked.
    first, second = sweep.run_ids
    assert cancel(ws, second).status == "cancelled"
    assert wait_for(ws, first, ("succeeded", "failed"), 240).status == "succeeded"
    ranking = rank_sweep(sweep.id, ws)
    assert [(r["run_id"], r["rank"], r["status"]) for r in ranking] == [
        (first, 1, "succeeded"), (parent.id, None, "succeeded"), (second, None, "cancelled"),
    ]  # fmt: skip
    assert ranking[0]["eval_loss"] > 0 and ranking[0]["ranked_by"] == "eval_loss"
    assert ranking[0]["changes"] == {"learning_rate": 5e-4}
    assert ranking[1]["eval_loss"] is None  # the parent's curve has no eval loss: not ranked


def _save_eval(ws, run_id: str, rouge: list[float]) -> str:
    rows = [
        {
            "id": f"e{i}",
            "input": "q",
            "reference": "a",
            "output": "a",
            "scores": {"rouge_l": value},
            "prompt_tokens": 3,
            "output_tokens": 1,
            "latency_s": 0.1,
            "error": None,
        }
        for i, value in enumerate(rouge)
    ]
    summary = {"model": f"run:{run_id}", "dataset": "ds:pattern@v1", "split": "eval"}
    result = EvalResult(f"run:{run_id}", "ds:pattern@v1", "eval", rows, summary)
    result.summary = {**summary, "max_new_tokens": 8, **summarize(rows)}
    return EvalStore(ws).save(result).id


def test_saved_evaluations_outrank_eval_loss_and_failed_runs_are_listed_last(
    tunesmith_home, tiny_model_dir
):
    ws = make_workspace(tunesmith_home)
    evals = [{"step": 4, "eval_loss": 2.0}, {"step": 8, "eval_loss": 1.5}]
    parent = parent_run(ws, tiny_model_dir, evals)
    a = parent_run(ws, tiny_model_dir, [{"step": 8, "eval_loss": 1.2}])  # best loss, worse answers
    b = parent_run(ws, tiny_model_dir, [{"step": 8, "eval_loss": 1.4}])
    c = parent_run(ws, tiny_model_dir, [{"step": 2, "eval_loss": 0.9}], status="failed")
    grid = [
        {"run_id": r.id, "changes": {"max_steps": n}, "why": "test"}
        for n, r in enumerate((a, b, c))
    ]
    summary = {"kind": "sweep", "parent_run": parent.id, "runs": [a.id, b.id, c.id], "grid": grid}
    sweep = ExperimentStore(ws).save(summary, project="default", models=[])

    by_loss = rank_sweep(sweep.id, ws)
    assert [(r["run_id"], r["rank"]) for r in by_loss] == [
        (a.id, 1), (b.id, 2), (parent.id, 3), (c.id, None),
    ]  # fmt: skip
    assert by_loss[2]["best_eval_loss"] == 1.5 and by_loss[3]["status"] == "failed"

    _save_eval(ws, a.id, [0.2, 0.4])  # mean 0.3
    _save_eval(ws, b.id, [0.5, 0.7])  # mean 0.6
    _save_eval(ws, parent.id, [0.1, 0.1])
    by_eval = rank_sweep(sweep.id, ws)
    assert [r["run_id"] for r in by_eval] == [b.id, a.id, parent.id, c.id]
    assert by_eval[0]["evaluation"]["rouge_l"] == pytest.approx(0.6)
    assert {r["ranked_by"] for r in by_eval} == {"rouge_l"}
    with pytest.raises(NotFound, match="no sweep"):
        rank_sweep("x-20000101-000000-dead", ws)
