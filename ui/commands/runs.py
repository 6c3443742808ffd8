"""`tunesmith runs ...`: watch, stop and restart training runs.

Every command first settles runs whose process is gone (`refresh`), so what it prints is never a
phantom "running", and moves the queue along.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from ui.console import out, print_json

app = typer.Typer(help="Training runs: list, show, logs, cancel, resume.")

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON.")
ID_ARGUMENT = typer.Argument(..., help="The run id (r-…), as `tunesmith runs list` shows it.")
FOLLOW_POLL_S = 0.5
_COLOURS = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}


def _workspace():
    from core.workspace import Workspace

    return Workspace.from_settings()


def _refreshed():
    from trainers.jobs.runner import refresh

    ws = _workspace()
    refresh(ws)
    return ws


def _status(run: Any) -> str:
    colour = _COLOURS.get(run.status, "white")
    cause = f" ({run.cause})" if run.cause else ""
    return f"[{colour}]{run.status}{cause}[/]"


def _last_metrics(run: Any) -> dict[str, Any]:
    """The newest training record merged with the newest eval record, for one-line summaries."""
    from trainers.jobs.layout import read_metrics

    merged: dict[str, Any] = {}
    for record in read_metrics(run.paths.metrics):
        merged |= record
    return merged


@app.command("list")
def list_(json_out: bool = JSON_OPTION) -> None:
    """List runs, oldest first, with status, model, data and the last logged loss."""
    from trainers.jobs.registry import list_runs

    runs = list_runs(_refreshed())
    if json_out:
        print_json([{**r.to_dict(), "last_metrics": _last_metrics(r)} for r in runs])
        return
    if not runs:
        out.print("No runs yet. Start one with `tunesmith train --data NAME@vN --model REF`.")
        return
    for run in runs:
        last = _last_metrics(run)
        loss = f"step {last['step']} loss {last['loss']:.4f}" if "loss" in last else ""
        out.print(
            f"[bold]{run.id}[/]  {_status(run)}  {run.method}  {run.base_model}  "
            f"{run.dataset}  [dim]{loss}[/]"
        )


@app.command("show")
def show(run_id: str = ID_ARGUMENT, json_out: bool = JSON_OPTION) -> None:
    """Status and cause, the recipe's reasons, the last metrics and where the files are."""
    from trainers.jobs.layout import read_json, read_spec
    from trainers.jobs.registry import get_run

    run = get_run(_refreshed(), run_id)
    paths = run.paths
    recipe, _ = read_spec(paths)
    error = read_json(paths.error) or (run.summary.get("error") or {})
    files = {
        "folder": paths.root,
        "log": paths.log,
        "metrics": paths.metrics,
        "loss_png": paths.loss_png,
        ("adapter" if run.method == "lora" else "model"): paths.final,
    }
    present = {name: str(path) for name, path in files.items() if path.exists()}
    if json_out:
        print_json(
            {
                **run.to_dict(),
                "error": error or None,
                "reasons": recipe.get("reasons", {}),
                "last_metrics": _last_metrics(run),
                "files": present,
            }
        )
        return
    out.print(f"[bold]{run.id}[/]  {_status(run)}  attempt {run.attempt}")
    out.print(f"  {run.method} fine-tune of {run.base_model} on {run.dataset} ({run.device})")
    if error.get("message"):
        out.print(f"  [red]Why:[/] {error['message']}")
        if error.get("hint"):
            out.print(f"  [yellow]What to do:[/] {error['hint']}")
    reasons = recipe.get("reasons") or {}
    if reasons:
        out.print("  [bold]Recipe[/]")
        for key, why in reasons.items():
            out.print(f"    {key} = {recipe.get(key)!r}  [dim]{why}[/]")
    last = _last_metrics(run)
    if last:
        shown = ("step", "epoch", "loss", "eval_loss", "learning_rate", "tokens_per_s")
        figures = ", ".join(f"{k} {_fmt(last[k])}" for k in shown if k in last)
        out.print(f"  [bold]Last metrics[/] {figures}")
    for name, path in present.items():
        out.print(f"  {name}: {path}")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@app.command("logs")
def logs(
    run_id: str = ID_ARGUMENT,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until the run ends."),
) -> None:
    """Print a run's log (stdout and stderr of the job); -f follows it until the run ends."""
    from trainers.jobs.registry import ACTIVE, get_run
    from trainers.jobs.runner import refresh

    ws = _refreshed()
    run = get_run(ws, run_id)
    offset = _print_from(run.paths.log, 0)
    while follow and run.status in ACTIVE:
        time.sleep(FOLLOW_POLL_S)
        refresh(ws)
        run = get_run(ws, run.id)
        offset = _print_from(run.paths.log, offset)
    if follow:
        _print_from(run.paths.log, offset)
        out.print(f"[dim]run {run.id} is {run.status}{f' ({run.cause})' if run.cause else ''}[/]")


def _print_from(path: Any, offset: int) -> int:
    """Write the log's bytes from `offset` to stdout; return the new offset."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return offset
    sys.stdout.write(data.decode("utf-8", errors="replace"))
    sys.stdout.flush()
    return offset + len(data)


@app.command("cancel")
def cancel(run_id: str = ID_ARGUMENT, json_out: bool = JSON_OPTION) -> None:
    """Stop a queued or running run (its whole process group, freeing the device)."""
    from trainers.jobs.runner import cancel as cancel_run

    run = cancel_run(_workspace(), run_id)
    if json_out:
        print_json(run.to_dict())
        return
    out.print(f"[bold]{run.id}[/] {_status(run)}")


@app.command("resume")
def resume(run_id: str = ID_ARGUMENT, json_out: bool = JSON_OPTION) -> None:
    """Start a failed or cancelled run again from its last complete checkpoint."""
    from trainers.jobs.runner import resume as resume_run

    run = resume_run(_workspace(), run_id)
    if json_out:
        print_json(run.to_dict())
        return
    out.print(f"[bold]{run.id}[/] {_status(run)} from {run.resume_from}")
    out.print(f"Watch it with `tunesmith runs logs {run.id} -f`.")
