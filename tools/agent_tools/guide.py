"""what_next and help: where the person is in the workflow, and what the assistant can do.

"What next" reads only the workflow position (plus the current run's status), so it answers
instantly and the same in every door; each step names the exact phrase to say.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tools.agent_tools.common import from_position, project_of, workspace
from tools.registry import ToolContext, ToolResult, ToolSpec


def _has_use_case(ctx: ToolContext) -> bool:
    if (ctx.position or {}).get("use_case"):
        return True
    from tools.usecase import get_use_case

    return not get_use_case(project_of(None, ctx), workspace(ctx)).is_empty()


def _run_status(run_id: str, ctx: ToolContext) -> str:
    from core.errors import NotFound
    from trainers.jobs.registry import get_run
    from trainers.jobs.runner import refresh

    ws = workspace(ctx)
    refresh(ws)
    try:
        return get_run(ws, run_id).status
    except NotFound:
        return "unknown"


def _compared(eval_id: str, ctx: ToolContext) -> bool:
    """Whether a comparison was saved with this evaluation as its baseline (the event log)."""
    artifact = f"eval:{eval_id.removeprefix('eval:')}"
    return any(e["kind"] == "compare.done" for e in workspace(ctx).events(artifact, limit=20))


def next_step(ctx: ToolContext) -> tuple[str, str, str]:
    """(tool, why, phrase to say) for the first unfinished step of the workflow."""
    kb, dataset = from_position(ctx, "kb"), from_position(ctx, "dataset")
    run, evals = from_position(ctx, "run"), (ctx.position or {}).get("evals") or []
    if not _has_use_case(ctx):
        return (
            "set_use_case",
            "Say what the model should do; evaluation checks answers against it.",
            "I want short friendly answers about our products, under 60 words",
        )
    if not kb and not dataset:
        optional = (
            ""
            if (ctx.position or {}).get("experiment") or (ctx.position or {}).get("base_model")
            else " (Optional first: compare base models with 'try this prompt on several models'.)"
        )
        return (
            "add_documents",
            "Give me your documents so the training data is grounded in them." + optional,
            "add the documents in ./docs",
        )
    if not dataset:
        return (
            "synthesize_dataset",
            f"Build a training set from kb:{kb}.",
            f"make 20 training examples from kb:{kb}",
        )
    if not run:
        return (
            "start_training",
            f"Check the data, then fine-tune on ds:{dataset}.",
            f"train the model on {dataset}",
        )
    status = _run_status(run, ctx)
    if status in ("queued", "running"):
        return ("training_status", f"run:{run} is {status}.", "how is training going?")
    if status in ("failed", "cancelled"):
        return (
            "suggest_next_run",
            f"run:{run} {status}; see why and what to change.",
            "what should I change for the next run?",
        )
    if len(evals) < 2:
        return (
            "evaluate_model",
            f"run:{run} finished; score it against the base model on held-out rows.",
            "evaluate the tuned model",
        )
    if not _compared(evals[0], ctx):
        return ("compare_evaluations", "See which differences beat the noise.", "did it help?")
    return (
        "run_tests",
        "Get advice for another run, or test the model and export it.",
        "run the test suite on the tuned model",
    )


class NoArgs(BaseModel):
    pass


def what_next_tool(args: NoArgs, ctx: ToolContext) -> ToolResult:
    tool, why, phrase = next_step(ctx)
    text = f'Next: {why} Say: "{phrase}"'
    return ToolResult(text, {"next_tool": tool, "say": phrase, "position": dict(ctx.position)})


def _tools(ctx: ToolContext) -> list[Any]:
    if ctx.registry is not None:
        return list(ctx.registry)
    from tools.registry import load_registry

    return list(load_registry())


def help_tool(args: NoArgs, ctx: ToolContext) -> ToolResult:
    tools = _tools(ctx)
    table = [
        {
            "tool": spec.name,
            "does": spec.description.split(". ")[0].rstrip(".") + ".",
            "say": spec.examples[0],
            "source": spec.source,
        }
        for spec in tools
    ]
    lines = [f'- {row["tool"]}: {row["does"]} e.g. "{row["say"]}"' for row in table]
    text = "I can:\n" + "\n".join(lines) + "\nAsk 'what next?' at any point."
    return ToolResult(text, {"table": table})


WHAT_NEXT = ToolSpec(
    name="what_next",
    description=(
        "Say where the person is in the workflow (use case, documents, data, training, "
        "evaluation, tuning, tests, export) and the next step, with the exact phrase to say."
    ),
    args_schema=NoArgs,
    run=what_next_tool,
    examples=(
        "what next?",
        "what should I do now?",
        "where are we in the process?",
        "what's the next step",
        "I'm lost, guide me",
        "ok, done with that, now what?",
        "ok, and now?",
        "what's left to do?",
        "which step comes next?",
        "guide me to the next step",
        "I'm done with that, what's next",
        "what should happen after this?",
        "what do you recommend I do now?",
        "next?",
    ),
)

HELP = ToolSpec(
    name="help",
    description=(
        "List every tool the assistant can use, built-in or from a plugin, with one line each and "
        "a phrase that triggers it."
    ),
    args_schema=NoArgs,
    run=help_tool,
    examples=(
        "help",
        "what can you do?",
        "list your commands",
        "which features do you have?",
        "show me the available tools",
        "how do I use this assistant?",
        "what kinds of requests can you handle?",
        "what are you capable of?",
        "give me an overview of your features",
        "getting started: how do I use you?",
        "help me understand what you offer",
        "list the actions available",
        "what can I ask you?",
        "instructions please",
    ),
)

TOOLS = [WHAT_NEXT, HELP]
