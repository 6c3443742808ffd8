"""A small hyper-parameter sweep around the advice, launched through the job queue and ranked.

    recipes = plan_sweep("r-…", max_runs=4)     # the grid, nothing launched
    sweep = launch_sweep("r-…", max_runs=4)     # queued runs, saved as experiment `sw-…`
    rank_sweep(sweep.id)                        # the runs, best first, with their evidence

The grid centres on the first proposal that changes the recipe (`tools.tuning.propose`): that
proposal itself, then its learning rate doubled and halved, then the training made longer and
shorter, until `max_runs` distinct recipes. A healthy run (nothing proposed) gets the same
neighbours around its own recipe. One setting moves per neighbour, so a ranking says which
direction helped. Sweeps stay small on purpose (at most MAX_RUNS runs): each run is a full
training, and on one device they run one after another.

Ranking uses the evaluation each run carries: its final eval loss from metrics.jsonl (every run
has one when its data has an eval split) and, where every finished run has a saved evaluation
of `run:<id>` (`tunesmith eval run:<id> …`), that evaluation's ROUGE-L instead, because held-out
answers are closer to what the person wants than a loss is. The parent run is ranked with them,
so the table also says whether the sweep beat it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput, TunesmithError
from tools.tuning.diagnose import diagnose
from tools.tuning.proposals import EPOCH_GROWTH, LR_CEILING, apply, propose

if TYPE_CHECKING:
    from core.workspace import Workspace
    from trainers.recipe import Recipe

DEFAULT_RUNS = 4
MAX_RUNS = 6
"""Largest sweep: six CPU or single-GPU runs back to back is already an afternoon."""

LR_FACTORS = (2.0, 0.5)
"""Learning-rate neighbours of the centre: one octave up and down brackets most mistakes."""

SHORTER = 0.5
"""Factor the shorter neighbour trains for (epochs or max_steps); longer uses EPOCH_GROWTH."""

IGNORED = frozenset({"reasons"})
"""Recipe keys that do not make two grid points different."""


@dataclass(frozen=True)
class SweepPoint:
    """One planned run: its recipe, what differs from the parent, and why it is in the grid."""

    recipe: Recipe
    changes: dict[str, Any]
    why: str


@dataclass
class Sweep:
    """A launched sweep: the experiment id, the parent run, the runs it queued and the grid."""

    id: str
    parent_run: str
    run_ids: list[str]
    grid: list[dict[str, Any]]
    path: Path
    summary: dict[str, Any] = field(default_factory=dict)


# --- planning -----------------------------------------------------------------------------------


def _check_max_runs(max_runs: int) -> None:
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or not 1 <= max_runs <= MAX_RUNS:
        raise InvalidInput(
            f"A sweep runs 1 to {MAX_RUNS} trainings, not {max_runs!r}.",
            f"Use --max-runs {DEFAULT_RUNS} (each run is a full training; they queue one by one).",
        )


def _parent(run_id: str, ws: Workspace) -> tuple[Any, Recipe]:
    from trainers.jobs.layout import read_spec
    from trainers.jobs.registry import get_run
    from trainers.recipe import Recipe

    run = get_run(ws, run_id.strip().removeprefix("run:"))
    data, _ = read_spec(run.paths)
    return run, Recipe.from_dict(data)


def _key(recipe: Recipe) -> str:
    return json.dumps(
        {k: v for k, v in recipe.to_dict().items() if k not in IGNORED}, sort_keys=True
    )


def changes_from(parent: Recipe, recipe: Recipe) -> dict[str, Any]:
    """The settings where `recipe` differs from `parent` (bookkeeping keys left out)."""
    old, new = parent.to_dict(), recipe.to_dict()
    return {k: v for k, v in new.items() if k not in IGNORED and old.get(k) != v}


def _round(value: float) -> float:
    return float(f"{value:.2g}")


def _neighbours(centre: Recipe) -> list[tuple[str, dict[str, Any]]]:
    """One-setting moves around `centre`: learning rate up and down, then longer and shorter.

    The learning rate goes no higher than the method's ceiling, unless the centre is already
    above it (then "up" is dropped as a duplicate of the centre, never turned into a cut).
    """
    ceiling = max(LR_CEILING.get(centre.method, LR_CEILING["full"]), centre.learning_rate)
    moves = [
        (f"learning rate x{factor:g}", {"learning_rate": _round(min(ceiling, lr))})
        for factor in LR_FACTORS
        if (lr := centre.learning_rate * factor) > 0
    ]
    unit = "steps" if centre.max_steps > 0 else "epochs"
    for label, factor in (("longer", EPOCH_GROWTH), ("shorter", SHORTER)):
        if centre.max_steps > 0:
            move: dict[str, Any] = {"max_steps": max(1, round(centre.max_steps * factor))}
        else:
            move = {"epochs": max(0.5, math.ceil(centre.epochs * factor * 2) / 2)}
        moves.append((f"{label} ({factor:g}x {unit})", move))
    return moves


def plan_points(
    run_id: str,
    max_runs: int = DEFAULT_RUNS,
    ws: Workspace | None = None,
    *,
    eval_summary: dict[str, Any] | None = None,
) -> tuple[Any, Recipe, list[SweepPoint]]:
    """(parent run, its recipe, the grid): the points `plan_sweep` returns, with their reasons."""
    from core.workspace import Workspace
    from trainers.jobs.layout import read_metrics

    _check_max_runs(max_runs)
    ws = ws or Workspace.from_settings()
    run, parent = _parent(run_id, ws)
    findings = diagnose(read_metrics(run.paths.metrics), eval_summary=eval_summary)
    proposal = next((p for p in propose(findings, parent) if p.changes), None)
    centre = apply(proposal, parent) if proposal else parent
    candidates = [(f"proposed ({proposal.finding})", centre)] if proposal else []
    candidates += [(why, centre.with_overrides(move)) for why, move in _neighbours(centre)]
    seen, points = {_key(parent)}, []
    for why, recipe in candidates:
        if _key(recipe) in seen:
            continue  # the parent itself, or a neighbour capped onto another point
        seen.add(_key(recipe))
        points.append(SweepPoint(recipe, changes_from(parent, recipe), why))
        if len(points) == max_runs:
            break
    return run, parent, points


def plan_sweep(
    run_id: str,
    max_runs: int = DEFAULT_RUNS,
    ws: Workspace | None = None,
    *,
    eval_summary: dict[str, Any] | None = None,
) -> list[Recipe]:
    """The recipes a sweep from `run_id` would launch (at most `max_runs`), most promising first."""
    return [p.recipe for p in plan_points(run_id, max_runs, ws, eval_summary=eval_summary)[2]]


def estimate_seconds(
    recipes: list[Recipe], ws: Workspace | None = None
) -> tuple[list[float | None], str]:
    """Estimated run time of each recipe (same data and model, so one profile), and why not.

    Returns ([seconds or None], "") or ([None...], the reason the estimate is unknown).
    """
    from tools.datasets.store import DatasetStore
    from trainers.estimate import estimate
    from trainers.hardware import detect_hardware
    from trainers.model_info import load_tokenizer, model_shape, model_source
    from trainers.profile import profile_dataset

    if not recipes:
        return [], ""
    first = recipes[0]
    try:
        _, rows = DatasetStore(ws).read(first.dataset)
        profile = profile_dataset(rows, tokenizer=load_tokenizer(model_source(first.base_model)))
        shape = model_shape(first.base_model)
        hardware = detect_hardware(first.device)
        return [estimate(r, profile, shape, hardware).seconds for r in recipes], ""
    except TunesmithError as error:
        return [None] * len(recipes), error.message


# --- launching ----------------------------------------------------------------------------------


def launch_sweep(
    run_id: str,
    max_runs: int = DEFAULT_RUNS,
    ws: Workspace | None = None,
    *,
    eval_summary: dict[str, Any] | None = None,
) -> Sweep:
    """Queue every grid point through the job queue and save the sweep as an experiment.

    The queue dedupes: a point identical to a run already queued, running or done returns that
    run (marked `duplicate` in the grid) instead of training twice. The model and data are
    resolved before the first launch, so a sweep never stops half launched for a missing file.
    """
    from core.settings import get_settings
    from core.workspace import Workspace
    from tools.promptlab.store import SWEEP, ExperimentStore
    from trainers.jobs.runner import launch, resolve

    ws = ws or Workspace.from_settings()
    settings = get_settings()
    run, parent, points = plan_points(run_id, max_runs, ws, eval_summary=eval_summary)
    if not points:
        raise InvalidInput(
            f"No new recipe to try around {run.id}: every neighbour equals a run already planned.",
            "Change a setting by hand with `tunesmith train --set KEY=VALUE`.",
        )
    resolve(parent, ws, settings)
    seconds, unknown = estimate_seconds([p.recipe for p in points], ws)
    grid = []
    for point, estimate in zip(points, seconds, strict=True):
        launched = launch(point.recipe, ws=ws, settings=settings)
        grid.append(
            {
                "run_id": launched.id,
                "changes": point.changes,
                "why": point.why,
                "duplicate": launched.duplicate,
                "estimated_s": estimate,
            }
        )
    run_ids = [g["run_id"] for g in grid]
    summary = {
        "kind": SWEEP,
        "parent_run": run.id,
        "dataset": parent.dataset,
        "base_model": parent.base_model,
        "runs": run_ids,
        "grid": grid,
        "estimate_unknown": unknown,
    }
    saved = ExperimentStore(ws).save(
        summary, project="default", models=[f"run:{i}" for i in run_ids]
    )
    return Sweep(saved.id, run.id, run_ids, grid, saved.path, saved.summary)


# --- ranking ------------------------------------------------------------------------------------


def _finite(records: list[dict], key: str) -> list[float]:
    values = [r.get(key) for r in records]
    return [
        float(v)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]


def _latest_eval(ws: Workspace, run_id: str) -> dict[str, Any] | None:
    """The newest saved evaluation of `run:<id>`: its id and mean scores."""
    with ws.connect() as conn:
        row = conn.execute(
            "SELECT id, summary FROM evals WHERE model = ? ORDER BY created_at DESC, id DESC",
            (f"run:{run_id}",),
        ).fetchone()
    if row is None:
        return None
    metrics = json.loads(row["summary"]).get("metrics", {})
    return {"eval_id": row["id"], **{k: v["mean"] for k, v in metrics.items() if "mean" in v}}


def _evidence(ws: Workspace, run_id: str) -> dict[str, Any]:
    from core.errors import NotFound
    from trainers.jobs.layout import read_metrics
    from trainers.jobs.registry import get_run

    try:
        run = get_run(ws, run_id)
    except NotFound:
        return {"status": "deleted", "eval_loss": None, "best_eval_loss": None, "train_loss": None}
    records = read_metrics(run.paths.metrics)
    evals, losses = _finite(records, "eval_loss"), _finite(records, "loss")
    return {
        "status": run.status,
        "eval_loss": evals[-1] if evals else None,
        "best_eval_loss": min(evals) if evals else None,
        "train_loss": losses[-1] if losses else None,
        "evaluation": _latest_eval(ws, run_id),
    }


def rank_sweep(sweep_id: str, ws: Workspace | None = None) -> list[dict[str, Any]]:
    """The sweep's runs and its parent, best first; unfinished or unscored runs last, unranked.

    Each row: run_id, role (parent/sweep), changes, why, status, eval_loss (final),
    best_eval_loss, train_loss, evaluation (newest saved eval's mean scores, or None), rank
    (1 = best, None when not ranked) and ranked_by ("rouge_l" or "eval_loss").
    """
    from core.workspace import Workspace
    from tools.promptlab.store import SWEEP, ExperimentStore
    from trainers.jobs.runner import refresh

    ws = ws or Workspace.from_settings()
    summary = ExperimentStore(ws).load(sweep_id, kind=SWEEP).summary
    refresh(ws)
    entries = [{"run_id": summary["parent_run"], "role": "parent", "changes": {}, "why": "parent"}]
    entries += [{**g, "role": "sweep"} for g in summary["grid"]]
    rows = [
        {k: v for k, v in e.items() if k not in ("estimated_s",)} | _evidence(ws, e["run_id"])
        for e in entries
    ]
    done = [r for r in rows if r["status"] == "succeeded"]
    by_eval = bool(done) and all((r["evaluation"] or {}).get("rouge_l") is not None for r in done)
    ranked_by = "rouge_l" if by_eval else "eval_loss"
    if by_eval:
        ranked = sorted(done, key=lambda r: -r["evaluation"]["rouge_l"])
    else:
        ranked = sorted(
            (r for r in done if r["eval_loss"] is not None), key=lambda r: r["eval_loss"]
        )
    for position, row in enumerate(ranked, 1):
        row["rank"] = position
    rest = [r for r in rows if "rank" not in r]
    for row in rest:
        row["rank"] = None
    return [{**r, "ranked_by": ranked_by} for r in ranked + rest]
