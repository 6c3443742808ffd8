"""`tunesmith advise RUN_ID`: what the run's curves and evaluations say, and the next recipe.

Diagnoses come from tools.tuning (overfitting, underfitting, a learning rate too low, instability,
outputs too long or short, format failures, no gain over the base); each proposal is one or two
recipe changes with its reason, its estimated cost, and the `tunesmith train` line that runs it.
"""

from __future__ import annotations

from typing import Any

import typer

from ui.console import out, print_json, quiet_libraries

SEVERITY_STYLE = {"problem": "red", "warning": "yellow", "info": "green"}


def eval_summary(eval_id: str | None, base_eval_id: str | None) -> dict[str, Any] | None:
    """The inputs diagnose() reads from evaluations: length ratio, and the gain over the base."""
    if eval_id is None:
        return None
    from tools.evaluation.compare import compare
    from tools.evaluation.store import EvalStore

    store = EvalStore()
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


def _cost(proposal, recipe) -> str:
    """The proposal's estimated cost next to the current recipe's, or why it is unknown."""
    from core.errors import TunesmithError
    from tools.datasets.store import DatasetStore
    from tools.tuning import estimate_cost
    from trainers.model_info import load_tokenizer, model_shape, model_source
    from trainers.profile import profile_dataset

    if not proposal.changes:
        return "no retraining"
    try:
        _, rows = DatasetStore().read(recipe.dataset)
        tokenizer = load_tokenizer(model_source(recipe.base_model))
        profile = profile_dataset(rows, tokenizer=tokenizer)
        return estimate_cost(proposal, recipe, profile, model_shape(recipe.base_model)).describe()
    except TunesmithError as error:
        return f"unknown ({error.message})"


def save_proposal(run, recipe, proposal, number: int) -> str:
    """Write the proposed recipe (the run's, with the changes) beside the run; return the path.

    The `tunesmith train --recipe` line then reproduces everything the run used, not only the
    changed keys.
    """
    import yaml

    from core.atomic import write_text
    from tools.tuning import apply

    data = apply(proposal, recipe).to_dict()
    data.pop("reasons", None)
    path = run.run_dir / f"next-{number}.yaml"
    header = f"# Proposed by `tunesmith advise {run.id}`: {proposal.reason}\n"
    write_text(path, header + yaml.safe_dump(data, sort_keys=False))
    return str(path)


def train_command(recipe, recipe_path: str) -> str:
    base = f"tunesmith train --data {recipe.dataset} --model {recipe.base_model}"
    return f"{base} --recipe {recipe_path}"


def advise(
    run_id: str = typer.Argument(help="The run to diagnose (r-…, see `tunesmith runs list`)."),
    eval_id: str | None = typer.Option(None, "--eval", help="An evaluation of the tuned model."),
    base_eval_id: str | None = typer.Option(
        None, "--base-eval", help="The base model's evaluation on the same examples."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print findings and proposals as JSON."),
) -> None:
    """Diagnose a run from its metrics (and evaluations) and propose the next recipe."""
    from dataclasses import asdict

    from core.workspace import Workspace
    from tools.tuning import diagnose, propose
    from trainers.jobs.layout import read_metrics, read_spec
    from trainers.jobs.registry import get_run
    from trainers.jobs.runner import refresh
    from trainers.recipe import Recipe

    quiet_libraries()
    ws = Workspace.from_settings()
    refresh(ws)
    run = get_run(ws, run_id)
    recipe_data, _ = read_spec(run.paths)
    recipe = Recipe.from_dict(recipe_data)
    findings = diagnose(
        read_metrics(run.paths.metrics), eval_summary=eval_summary(eval_id, base_eval_id)
    )
    proposals = propose(findings, recipe)
    costs = [_cost(p, recipe) for p in proposals]
    paths = [
        save_proposal(run, recipe, p, n) if p.changes else "" for n, p in enumerate(proposals, 1)
    ]
    if json_out:
        print_json(
            {
                "run": run.id,
                "status": run.status,
                "findings": [asdict(f) for f in findings],
                "proposals": [
                    {
                        **asdict(p),
                        "cost": c,
                        "recipe_file": path,
                        "command": train_command(recipe, path) if path else "",
                    }
                    for p, c, path in zip(proposals, costs, paths, strict=True)
                ],
            }
        )
        return
    out.print(f"[bold]{run.id}[/] ({run.status}, {recipe.method} on ds:{recipe.dataset})")
    for finding in findings:
        style = SEVERITY_STYLE.get(finding.severity, "white")
        out.print(f"  [{style}]{finding.severity:<8}[/] {finding.kind}: {finding.evidence}")
    for number, (proposal, cost, path) in enumerate(zip(proposals, costs, paths, strict=True), 1):
        out.print(f"\n[bold]Proposal {number}[/]: {proposal.reason}")
        if proposal.changes:
            changes = ", ".join(f"{k}={v}" for k, v in proposal.changes.items())
            out.print(f"  change {changes}; expected: {proposal.expected_effect}; cost {cost}")
            out.print(f"  run it: {train_command(recipe, path)}")
        if proposal.hint:
            out.print(f"  [dim]{proposal.hint}[/]")
    if not proposals:
        out.print("\nNo change proposed: the run looks healthy on the evidence given.")


def register(app: typer.Typer) -> None:
    app.command("advise")(advise)
