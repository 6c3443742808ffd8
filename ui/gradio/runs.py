"""Runs tab: the queue, a live loss / eval-loss curve, the log tail, cancel and resume, and the
recipe with the reason for each setting.

A gr.Timer re-reads the selected run's metrics.jsonl and log every few seconds, so a run started
from the chat shows its curve here while it trains. Every read first settles runs whose process
is gone (runner.refresh), so the page never shows a phantom "running".
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.gradio.common import fmt, md_table, shows_errors, workspace

POLL_S = 2.0
LOG_LINES = 40
RUN_HEADERS = ["run", "status", "method", "base model", "dataset", "step", "loss"]


def _refreshed():
    from trainers.jobs.runner import refresh

    ws = workspace()
    refresh(ws)
    return ws


def _merged_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for record in records:
        merged |= record
    return merged


def queue() -> tuple[list[list], Any]:
    """The runs table (newest first) and the run picker's choices."""
    from trainers.jobs.layout import read_metrics
    from trainers.jobs.registry import list_runs

    runs = list(reversed(list_runs(_refreshed())))
    table = []
    for run in runs:
        last = _merged_metrics(read_metrics(run.paths.metrics))
        status = f"{run.status} ({run.cause})" if run.cause else run.status
        table.append(
            [
                run.id,
                status,
                run.method,
                run.base_model,
                run.dataset,
                last.get("step", ""),
                fmt(last.get("loss", "")),
            ]
        )
    ids = [run.id for run in runs]
    return table, gr.update(choices=ids, value=ids[0] if ids else None)


def curve(records: list[dict[str, Any]]) -> Any:
    """Loss and eval loss by step, long format for gr.LinePlot (one series per kind)."""
    import pandas as pd

    points = [
        {"step": r["step"], "loss": r[key], "series": label}
        for r in records
        if "step" in r
        for key, label in (("loss", "training loss"), ("eval_loss", "eval loss"))
        if r.get(key) is not None
    ]
    return pd.DataFrame(points, columns=["step", "loss", "series"])


def _log_tail(path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-LOG_LINES:])


@shows_errors
def details(run_id: str | None) -> tuple[str, Any, str, str, Any]:
    """Status line, curve, log tail, recipe with its reasons, and the poll timer for one run.

    The timer ticks only while the run is queued or running, so an idle page costs nothing.
    """
    if not run_id:
        idle = "No run yet: ask the chat to train, or `tunesmith train`."
        return idle, curve([]), "", "", gr.Timer(active=False)
    from trainers.jobs.layout import read_metrics, read_spec
    from trainers.jobs.registry import ACTIVE, get_run

    run = get_run(_refreshed(), run_id)
    records = read_metrics(run.paths.metrics)
    last = _merged_metrics(records)
    shown = ("step", "epoch", "loss", "eval_loss", "learning_rate")
    figures = ", ".join(f"{k} {fmt(last[k])}" for k in shown if k in last)
    status = (
        f"**{run.id}** — {run.status}{f' ({run.cause})' if run.cause else ''}, "
        f"attempt {run.attempt}: {run.method} fine-tune of `{run.base_model}` on "
        f"`{run.dataset}` ({run.device}). {figures}"
    )
    try:
        recipe, _ = read_spec(run.paths)
    except Exception:  # a run whose recipe.yaml is missing still shows its curve and log
        recipe = {}
    reasons = recipe.get("reasons") or {}
    recipe_md = md_table(
        ["setting", "value", "why"], [[k, recipe.get(k), why] for k, why in reasons.items()]
    )
    polling = gr.Timer(active=run.status in ACTIVE)
    return status, curve(records), _log_tail(run.paths.log), recipe_md, polling


def tick(run_id: str | None) -> tuple:
    """A poll while a run is active: the queue table and the selected run, picker untouched."""
    rows, _ = queue()
    return (rows, *details(run_id))


@shows_errors
def cancel(run_id: str | None) -> str:
    from trainers.jobs.runner import cancel as cancel_run

    if not run_id:
        raise gr.Error("Pick a run first.")
    run = cancel_run(workspace(), run_id)
    return f"{run.id} is {run.status}."


@shows_errors
def resume(run_id: str | None) -> str:
    from trainers.jobs.runner import resume as resume_run

    if not run_id:
        raise gr.Error("Pick a run first.")
    run = resume_run(workspace(), run_id)
    return f"{run.id} is {run.status}, from {run.resume_from or 'the start'}."


def build() -> tuple:
    """Lay out the tab; return (refresh function, its outputs)."""
    table = gr.Dataframe(headers=RUN_HEADERS, label="Runs (newest first)", interactive=False)
    with gr.Row():
        run = gr.Dropdown(label="Run", choices=[], scale=4)
        refresh_btn = gr.Button("Refresh", scale=1)
        cancel_btn = gr.Button("Cancel run", variant="stop", scale=1)
        resume_btn = gr.Button("Resume run", scale=1)
    status = gr.Markdown(elem_id="run-status")
    action = gr.Markdown()
    plot = gr.LinePlot(
        x="step", y="loss", color="series", title="Loss", label="Loss curve", elem_id="loss-plot"
    )
    log = gr.Textbox(label="Log (last lines)", lines=10, max_lines=10, interactive=False)
    with gr.Accordion("Recipe and the reason for each setting", open=False):
        recipe = gr.Markdown()
    timer = gr.Timer(POLL_S, active=False)

    shown = [status, plot, log, recipe, timer]
    refresh_btn.click(queue, outputs=[table, run]).then(details, inputs=run, outputs=shown)
    run.input(details, inputs=run, outputs=shown)
    timer.tick(tick, inputs=run, outputs=[table, *shown], show_progress="hidden")
    cancel_btn.click(cancel, inputs=run, outputs=action).then(queue, outputs=[table, run])
    resume_btn.click(resume, inputs=run, outputs=action).then(queue, outputs=[table, run])

    def refresh() -> tuple:
        rows, picker = queue()
        return (rows, picker, *details(picker["value"]))

    return refresh, [table, run, *shown]
