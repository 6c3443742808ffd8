"""`tunesmith advise RUN_ID`: what the run's curves and evaluations say, and the next recipe.

Diagnoses come from tools.tuning (overfitting, underfitting, a learning rate too low, instability,
outputs too long or short, format failures, no gain over the base); each proposal is one or two
recipe changes with its reason, its estimated cost, and the `tunesmith train` line that runs it.

`--sweep` launches a small grid around the first proposal (tools.tuning.sweep) through the job
queue, and `--sweep-status SWEEP_ID` ranks its runs by their evaluation as they finish.
"""

from __future__ import annotations

from typing import Any

import typer

from ui.console import out, print_json, quiet_libraries

SEVERITY_STYLE = {"problem": "red", "warning": "yellow", "info": "green"}


def _changes_text(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "(the run's own recipe)"


def _print_findings(run, recipe, findings) -> None:
    out.print(f"[bold]{run.id}[/] ({run.status}, {recipe.method} on ds:{recipe.dataset})")
    for finding in findings:
        style = SEVERITY_STYLE.get(finding.severity, "white")
        out.print(f"  [{style}]{finding.severity:<8}[/] {finding.kind}: {finding.evidence}")


def _sweep(run, findings, summary, max_runs: int, dry_run: bool, json_out: bool) -> None:
    """Launch the grid around the proposal (or only plan it) and print it with each cost."""
    from dataclasses import asdict

    from tools.tuning.sweep import estimate_seconds, launch_sweep, plan_points
    from trainers.estimate import duration_text

    sweep = None
    if dry_run:
        _, _, points = plan_points(run.id, max_runs, eval_summary=summary)
        seconds, unknown = estimate_seconds([p.recipe for p in points])
        grid = [
            {"changes": p.changes, "why": p.why, "estimated_s": s}
            for p, s in zip(points, seconds, strict=True)
        ]
    else:
        sweep = launch_sweep(run.id, max_runs, eval_summary=summary)
        grid, unknown = sweep.grid, sweep.summary["estimate_unknown"]
    if json_out:
        print_json(
            {
                "run": run.id,
                "findings": [asdict(f) for f in findings],
                "sweep": sweep.id if sweep else None,
                "grid": grid,
                "estimate_unknown": unknown,
            }
        )
        return
    known = [g["estimated_s"] for g in grid if g["estimated_s"] is not None]
    total = f", ~{duration_text(sum(known))} in all" if known and len(known) == len(grid) else ""
    out.print(f"\n[bold]Sweep[/] around {run.id}: {len(grid)} run(s){total}")
    for number, point in enumerate(grid, 1):
        seconds = point["estimated_s"]
        cost = f"~{duration_text(seconds)}" if seconds is not None else "unknown"
        run_id = f"  {point['run_id']}" if "run_id" in point else ""
        again = " (already run)" if point.get("duplicate") else ""
        out.print(
            f"  {number}. {_changes_text(point['changes']):<34} {point['why']:<26} {cost:<8}"
            f"{run_id}{again}"
        )
    if unknown:
        out.print(f"  [dim]cost unknown: {unknown}[/]")
    if sweep is None:
        out.print("Dry run: nothing launched. Drop --dry-run to queue these runs.")
    else:
        out.print(f"[green]Launched sweep {sweep.id}[/] through the job queue.")
        out.print(f"Rank the runs as they finish: `tunesmith advise --sweep-status {sweep.id}`")


def _sweep_status(sweep_id: str, json_out: bool) -> None:
    """The sweep's runs (and its parent), best first by their evaluation."""
    from tools.tuning.sweep import rank_sweep

    rows = rank_sweep(sweep_id)
    if json_out:
        print_json({"sweep": sweep_id, "ranking": rows})
        return

    def num(value: float | None) -> str:
        return "–" if value is None else f"{value:.4g}"

    ranked_by = rows[0]["ranked_by"] if rows else "eval_loss"
    out.print(f"[bold]Sweep {sweep_id}[/], ranked by {ranked_by.replace('_', ' ')}")
    out.print("  rank  run                       status     eval_loss  best   rouge_l  changes")
    for row in rows:
        rouge = (row.get("evaluation") or {}).get("rouge_l")
        rank = str(row["rank"]) if row["rank"] else "–"
        label = "parent" if row["role"] == "parent" else _changes_text(row["changes"])
        out.print(
            f"  {rank:<5} {row['run_id']:<25} {row['status']:<10} {num(row['eval_loss']):<10} "
            f"{num(row['best_eval_loss']):<6} {num(rouge):<8} {label}"
        )


def advise(
    run_id: str | None = typer.Argument(
        None, help="The run to diagnose (r-…, see `tunesmith runs list`)."
    ),
    eval_id: str | None = typer.Option(None, "--eval", help="An evaluation of the tuned model."),
    base_eval_id: str | None = typer.Option(
        None, "--base-eval", help="The base model's evaluation on the same examples."
    ),
    sweep: bool = typer.Option(
        False, "--sweep", help="Launch a small grid around the proposal through the job queue."
    ),
    max_runs: int = typer.Option(
        4, "--max-runs", help="Runs in the sweep (1-6; each is a full training)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="With --sweep: print the grid and its cost, launch nothing."
    ),
    sweep_status: str | None = typer.Option(
        None, "--sweep-status", help="Rank the runs of sweep SWEEP_ID (sw-…) by evaluation."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print findings and proposals as JSON."),
) -> None:
    """Diagnose a run from its metrics (and evaluations) and propose the next recipe.

    With --sweep, launch a small grid of runs around the proposal; rank them later with
    `tunesmith advise --sweep-status SWEEP_ID`.
    """
    from dataclasses import asdict

    from core.errors import InvalidInput
    from tools.tuning.advice import advise_run, diagnose_run

    quiet_libraries()
    if sweep_status:
        _sweep_status(sweep_status, json_out)
        return
    if not run_id:
        raise InvalidInput(
            "Name the run to advise on.",
            "`tunesmith advise RUN_ID` (see `tunesmith runs list`), or "
            "`tunesmith advise --sweep-status SWEEP_ID`.",
        )
    if sweep:
        found = diagnose_run(run_id, eval_id, base_eval_id)
        if not json_out:
            _print_findings(found.run, found.recipe, found.findings)
        _sweep(found.run, found.findings, found.evidence, max_runs, dry_run, json_out)
        return
    advice = advise_run(run_id, eval_id, base_eval_id)
    numbered = list(enumerate(zip(advice.proposals, advice.costs, strict=True), 1))
    if json_out:
        print_json(
            {
                "run": advice.run.id,
                "status": advice.run.status,
                "findings": [asdict(f) for f in advice.findings],
                "proposals": [
                    {
                        **asdict(p),
                        "cost": cost,
                        "recipe_file": advice.recipe_files[n - 1],
                        "command": advice.command(n),
                    }
                    for n, (p, cost) in numbered
                ],
            }
        )
        return
    _print_findings(advice.run, advice.recipe, advice.findings)
    for number, (proposal, cost) in numbered:
        out.print(f"\n[bold]Proposal {number}[/]: {proposal.reason}")
        if proposal.changes:
            changes = ", ".join(f"{k}={v}" for k, v in proposal.changes.items())
            out.print(f"  change {changes}; expected: {proposal.expected_effect}; cost {cost}")
            out.print(f"  run it: {advice.command(number)}")
        if proposal.hint:
            out.print(f"  [dim]{proposal.hint}[/]")
    if not advice.proposals:
        out.print("\nNo change proposed: the run looks healthy on the evidence given.")


def register(app: typer.Typer) -> None:
    app.command("advise")(advise)
