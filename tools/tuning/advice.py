"""Advice on one run, end to end: read its curves and evaluations, diagnose, propose, price, save.

`tunesmith advise`, the agent's suggest_next_run tool and the demo all need the same sequence;
it lives here so none of them imports another door's code. Each proposal with changes is written
beside the run as `next-N.yaml` (the run's whole recipe plus the changes), so the `tunesmith
train --recipe` line reproduces everything, not only the changed keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import TunesmithError
from tools.tuning.diagnose import Finding, diagnose
from tools.tuning.proposals import Proposal, apply, estimate_cost, propose


@dataclass
class Advice:
    """What the evidence says about one run, and the next recipes with their cost and file."""

    run: Any  # trainers.jobs.registry.RunInfo
    recipe: Any  # trainers.recipe.Recipe
    evidence: dict[str, Any] | None
    findings: list[Finding]
    proposals: list[Proposal] = field(default_factory=list)
    costs: list[str] = field(default_factory=list)
    recipe_files: list[str] = field(default_factory=list)

    def command(self, number: int) -> str:
        """The `tunesmith train` line of proposal `number` (1-based), or "" without changes."""
        path = self.recipe_files[number - 1]
        return train_command(self.recipe, path) if path else ""


def eval_summary(
    eval_id: str | None, base_eval_id: str | None, ws: Any = None
) -> dict[str, Any] | None:
    """The inputs diagnose() reads from evaluations: length ratio, and the gain over the base."""
    if eval_id is None:
        return None
    from tools.evaluation.compare import compare
    from tools.evaluation.store import EvalStore

    store = EvalStore(ws)
    tuned = store.load(eval_id)
    metrics = tuned.summary.get("metrics", {})
    summary: dict[str, Any] = {}
    if "length_ratio" in metrics:
        summary["length_ratio"] = metrics["length_ratio"]["mean"]
    if "format_ok" in metrics:
        summary["format_pass_rate"] = metrics["format_ok"]["mean"]
    if base_eval_id:
        result = compare([store.load(base_eval_id), tuned])
        deltas = result["candidates"][0]["deltas"]
        delta = {m: d["delta"] for m, d in deltas.items() if m != "length_ratio"}
        delta["significant"] = any(
            d["significant"] for m, d in deltas.items() if m != "length_ratio"
        )
        summary["delta_vs_base"] = delta
    return summary


def proposal_cost(proposal: Proposal, recipe: Any, ws: Any = None) -> str:
    """The proposal's estimated cost next to the current recipe's, or why it is unknown."""
    from tools.datasets.store import DatasetStore
    from trainers.model_info import load_tokenizer, model_shape, model_source
    from trainers.profile import profile_dataset

    if not proposal.changes:
        return "no retraining"
    try:
        _, rows = DatasetStore(ws).read(recipe.dataset)
        tokenizer = load_tokenizer(model_source(recipe.base_model))
        profile = profile_dataset(rows, tokenizer=tokenizer)
        return estimate_cost(proposal, recipe, profile, model_shape(recipe.base_model)).describe()
    except TunesmithError as error:
        return f"unknown ({error.message})"


def save_proposal(run: Any, recipe: Any, proposal: Proposal, number: int) -> str:
    """Write the proposed recipe (the run's, with the changes) beside the run; return the path."""
    import yaml

    from core.atomic import write_text

    data = apply(proposal, recipe).to_dict()
    data.pop("reasons", None)
    path = run.run_dir / f"next-{number}.yaml"
    header = f"# Proposed by `tunesmith advise {run.id}`: {proposal.reason}\n"
    write_text(path, header + yaml.safe_dump(data, sort_keys=False))
    return str(path)


def train_command(recipe: Any, recipe_path: str) -> str:
    base = f"tunesmith train --data {recipe.dataset} --model {recipe.base_model}"
    return f"{base} --recipe {recipe_path}"


def load_run(run_id: str, ws: Any = None) -> tuple[Any, Any, list[dict]]:
    """(run, recipe, metrics records) of a run, after settling finished processes."""
    from core.workspace import Workspace
    from trainers.jobs.layout import read_metrics, read_spec
    from trainers.jobs.registry import get_run
    from trainers.jobs.runner import refresh
    from trainers.recipe import Recipe

    ws = ws or Workspace.from_settings()
    refresh(ws)
    run = get_run(ws, run_id)
    recipe = Recipe.from_dict(read_spec(run.paths)[0])
    return run, recipe, read_metrics(run.paths.metrics)


def diagnose_run(
    run_id: str, eval_id: str | None = None, base_eval_id: str | None = None, ws: Any = None
) -> Advice:
    """The findings on a run from its metrics and (optionally) its evaluations; no proposals."""
    run, recipe, records = load_run(run_id, ws)
    evidence = eval_summary(eval_id, base_eval_id, ws)
    return Advice(run, recipe, evidence, diagnose(records, eval_summary=evidence))


def advise_run(
    run_id: str,
    eval_id: str | None = None,
    base_eval_id: str | None = None,
    *,
    ws: Any = None,
    with_cost: bool = True,
) -> Advice:
    """Diagnose the run, propose the next recipes, price them and save each as next-N.yaml."""
    advice = diagnose_run(run_id, eval_id, base_eval_id, ws)
    advice.proposals = propose(advice.findings, advice.recipe)
    advice.costs = [
        proposal_cost(p, advice.recipe, ws) if with_cost else "" for p in advice.proposals
    ]
    advice.recipe_files = [
        save_proposal(advice.run, advice.recipe, p, n) if p.changes else ""
        for n, p in enumerate(advice.proposals, 1)
    ]
    return advice
