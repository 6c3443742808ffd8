"""start_training, training_status, cancel_training: fine-tuning runs from the conversation.

A launch always waits for the person's approval, and the approval shows what will run: the
recipe's main settings and the estimate (memory, tokens, time). Launches are idempotent: the job
queue dedupes identical requests (same settings, same rows), so a repeated or resumed call
returns the existing run instead of training twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.errors import NotFound
from tools.agent_tools.common import base_model_of, checked_approval, pick, workspace
from tools.registry import ToolContext, ToolResult, ToolSpec

SHOWN = ("method", "epochs", "max_steps", "learning_rate", "batch_size", "max_length", "device")


class StartTrainingArgs(BaseModel):
    dataset: str | None = Field(None, description="Dataset version NAME@vN (default: current).")
    model: str | None = Field(None, description="Base model ref (default: the project baseline).")
    method: Literal["lora", "full"] | None = Field(
        None, description="lora (small adapter) or full fine-tune (default: chosen by size)."
    )
    epochs: float | None = Field(None, gt=0, le=20, description="Passes over the data, up to 20.")
    learning_rate: float | None = Field(None, gt=0, le=0.1, description="Peak learning rate.")
    overrides: dict[str, str | int | float | bool] | None = Field(
        None, max_length=20, description="Other recipe settings, e.g. {'max_steps': 50}."
    )


def plan_training(args: StartTrainingArgs, ctx: ToolContext) -> tuple[Any, Any]:
    """The recipe (defaults for this model, data and hardware, plus the person's changes) and
    its estimate, refused early when it cannot work. The same plan is shown and launched."""
    from core.settings import get_settings
    from tools.datasets.store import DatasetStore
    from trainers.defaults import check_trainable, default_recipe
    from trainers.estimate import estimate
    from trainers.hardware import detect_hardware
    from trainers.model_info import model_shape

    settings = get_settings()
    dataset = pick("dataset", args.dataset, ctx, "Which dataset should I train on?", "coffee@v2")
    base = base_model_of(args.model, ctx)
    hardware = detect_hardware(settings.device)
    store = DatasetStore(workspace(ctx))
    recipe, profile = default_recipe(
        base, dataset, method=args.method, hardware=hardware, store=store
    )
    changes: dict[str, Any] = dict(args.overrides or {})
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.learning_rate is not None:
        changes["learning_rate"] = args.learning_rate
    if changes:
        recipe = recipe.with_overrides({k: str(v) for k, v in changes.items()})
    cost = estimate(recipe, profile, model_shape(recipe.base_model, settings), hardware)
    check_trainable(recipe, profile, hardware, cost)
    return recipe, cost


def _recipe_line(recipe: Any) -> str:
    data = recipe.to_dict()
    return ", ".join(f"{k}={data[k]}" for k in SHOWN if k in data)


@checked_approval
def training_approval(args: StartTrainingArgs, ctx: ToolContext) -> str:
    recipe, cost = plan_training(args, ctx)
    return (
        f"Fine-tune {recipe.base_model} on ds:{recipe.dataset} ({_recipe_line(recipe)}). "
        f"Estimated cost: {cost.describe()}. {cost.advice}"
    )


def start_training_tool(args: StartTrainingArgs, ctx: ToolContext) -> ToolResult:
    from trainers.jobs.runner import launch

    recipe, cost = plan_training(args, ctx)
    run = launch(recipe, ws=workspace(ctx))
    if run.duplicate:
        text = (
            f"This exact run already exists: run:{run.id} ({run.status}); it was not started "
            "twice. Ask for its status, or change a setting to train anew."
        )
    else:
        text = (
            f"Started run:{run.id} ({run.status}): {recipe.method} fine-tune of "
            f"{recipe.base_model} on ds:{recipe.dataset}; estimate {cost.describe()}. "
            "Ask 'how is training going?' to follow it."
        )
    artifact = {
        "run": f"run:{run.id}",
        "status": run.status,
        "duplicate": run.duplicate,
        "recipe": recipe.to_dict(),
        "estimate": cost.describe(),
    }
    # the run's data and model become the position, so a later "evaluate the tuned model" uses
    # the dataset this run trained on rather than one picked before it
    position = {
        "run": f"run:{run.id}",
        "dataset": "ds:" + recipe.dataset.removeprefix("ds:"),
        "base_model": recipe.base_model,
    }
    return ToolResult(text, artifact, position)


# -- status and cancel ---------------------------------------------------------------------------


class RunArgs(BaseModel):
    run_id: str | None = Field(
        None, description="Run id r-... (default: the current run, else the latest)."
    )


def _run(args: RunArgs, ctx: ToolContext) -> Any:
    """The named run, the position's, or the newest one; statuses refreshed first."""
    from trainers.jobs.registry import get_run, list_runs
    from trainers.jobs.runner import refresh

    ws = workspace(ctx)
    refresh(ws)
    if args.run_id or (ctx.position or {}).get("run"):
        return get_run(ws, pick("run", args.run_id, ctx, "Which run?", "r-20261127-101500-ab12"))
    runs = list_runs(ws)
    if not runs:
        raise NotFound("There are no training runs yet.", "Start one: 'train on coffee@v2'.")
    return runs[-1]


def _eta(run: Any, step: int, records: list[dict]) -> tuple[int | None, float | None]:
    """Total steps and seconds left, from the recipe's max_steps or the epoch fraction so far."""
    from trainers.jobs.layout import read_spec

    recipe, _ = read_spec(run.paths)
    total = recipe.get("max_steps") if (recipe.get("max_steps") or -1) > 0 else None
    epoch = next((r.get("epoch") for r in reversed(records) if r.get("epoch")), None)
    if total is None and epoch:
        total = round(step / epoch * float(recipe.get("epochs") or 1))
    if run.status != "running" or not (total and step and run.started_at):
        return total, None
    elapsed = (datetime.now(UTC) - datetime.fromisoformat(run.started_at)).total_seconds()
    return total, max(0.0, elapsed / step * (total - step))


def training_status_tool(args: RunArgs, ctx: ToolContext) -> ToolResult:
    from trainers.jobs.layout import read_metrics

    run = _run(args, ctx)
    records = read_metrics(run.paths.metrics)
    losses = [r for r in records if "loss" in r]
    evals = [r for r in records if "eval_loss" in r]
    step = max((int(r.get("step", 0)) for r in records), default=0)
    total, eta = _eta(run, step, records)
    parts = [f"run:{run.id} is {run.status}" + (f" ({run.cause})" if run.cause else "")]
    if step:
        parts.append(f"step {step}" + (f" of ~{total}" if total else ""))
    if losses:
        parts.append(f"last loss {losses[-1]['loss']:.4f}")
    if evals:
        parts.append(f"eval loss {evals[-1]['eval_loss']:.4f}")
    if eta is not None:
        parts.append(f"about {round(eta)} s left")
    png = run.paths.loss_png
    next_step = {
        "succeeded": "Next: evaluate it against the base model.",
        "failed": "Look at its log, fix the cause, or resume it.",
    }.get(run.status, "")
    text = ", ".join(parts) + ". " + next_step
    artifact = {
        "run": f"run:{run.id}",
        "status": run.status,
        "step": step,
        "total_steps": total,
        "loss": losses[-1]["loss"] if losses else None,
        "eval_loss": evals[-1]["eval_loss"] if evals else None,
        "eta_s": eta,
        "image": str(png) if png.is_file() else None,
        "curve": [{"step": r["step"], "loss": r["loss"]} for r in losses[-200:]],
    }
    return ToolResult(text.strip(), artifact, {"run": f"run:{run.id}"})


@checked_approval
def cancel_approval(args: RunArgs, ctx: ToolContext) -> str:
    run = _run(args, ctx)
    return f"Stop run:{run.id} ({run.status}); its last complete checkpoint stays resumable."


def cancel_training_tool(args: RunArgs, ctx: ToolContext) -> ToolResult:
    from trainers.jobs.runner import cancel

    run = cancel(workspace(ctx), _run(args, ctx).id)
    text = f"run:{run.id} is {run.status}. It can be resumed from its last complete checkpoint."
    return ToolResult(
        text, {"run": f"run:{run.id}", "status": run.status}, {"run": f"run:{run.id}"}
    )


START_TRAINING = ToolSpec(
    name="start_training",
    description=(
        "Fine-tune a base model on a dataset version with TRL SFT (LoRA or full), using defaults "
        "chosen for the model, data and hardware, each with its reason; epochs, learning rate and "
        "other settings can be changed. The run goes on in the background. Always asks for "
        "approval first, showing the recipe and the estimated memory and time. Launching the "
        "same request twice returns the existing run."
    ),
    args_schema=StartTrainingArgs,
    run=start_training_tool,
    examples=(
        "train the model on coffee@v2",
        "start fine-tuning now",
        "launch a LoRA run on the dataset",
        "fine-tune smollm on my data for 2 epochs",
        "kick off training with learning rate 1e-4",
        "go ahead and teach the model with this data",
        "fine-tune on support@v2 with LoRA",
        "train it",
        "let's start the training run",
        "begin fine-tuning the base model on our data",
        "run SFT for 3 epochs on the latest dataset",
        "train a LoRA adapter with rank 16",
        "okay go, start training",
        "tune smollm on this dataset please",
    ),
    needs_approval=training_approval,
)

TRAINING_STATUS = ToolSpec(
    name="training_status",
    description=(
        "Report a training run: status, current step, last training and eval loss, estimated "
        "time left, and the loss-curve image. Defaults to the current run, else the latest."
    ),
    args_schema=RunArgs,
    run=training_status_tool,
    examples=(
        "how is training going?",
        "is the run finished yet?",
        "show me the loss curve",
        "what step is it on?",
        "status of the last run",
        "how much longer until it is done?",
        "is my job still going?",
        "progress of r-20261127-101500-ab12?",
        "has training finished?",
        "what's the loss now?",
        "percent complete on the run?",
        "check on the training job",
        "training progress please",
        "any update on the fine-tuning job?",
        "which epoch are we at?",
        "is it done training yet?",
    ),
)

CANCEL_TRAINING = ToolSpec(
    name="cancel_training",
    description=(
        "Stop a queued or running training run (its whole process group, freeing the device). "
        "Its last complete checkpoint stays, so it can be resumed. Needs approval."
    ),
    args_schema=RunArgs,
    run=cancel_training_tool,
    examples=(
        "stop the training",
        "cancel that run",
        "abort the fine-tune, it is taking too long",
        "kill the current job",
        "halt run r-20261127-101500-ab12",
        "never mind, don't train after all",
        "abort training",
        "stop run r-20261127-101500-ab12 now",
        "cancel the fine-tune",
        "terminate the job, something is wrong",
        "please halt the current training",
        "no wait, stop it",
        "end the run early",
        "kill the training process",
    ),
    needs_approval=cancel_approval,
)

TOOLS = [START_TRAINING, TRAINING_STATUS, CANCEL_TRAINING]
