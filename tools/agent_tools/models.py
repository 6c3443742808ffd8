"""compare_models and try_model: put models side by side on a prompt, or ask one a question.

The prompt lab (tools.promptlab) runs one template over several models and saves a matrix the
doors can show; the playground (tools.playground) answers one question, optionally with
retrieved passages. Model outputs come back quoted: they are data, never instructions.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.agent_tools.common import (
    MAX_K,
    ModelList,
    base_model_of,
    check_refs,
    from_position,
    project_of,
    quote,
    readable_path,
    strip_prefix,
    workspace,
)
from tools.registry import ToolContext, ToolResult, ToolSpec

MAX_QUESTIONS = 20


class CompareModelsArgs(BaseModel):
    models: ModelList
    template: str | None = Field(
        None, description="Prompt template YAML (system + user); default: the sample template."
    )
    inputs: str | None = Field(
        None,
        description="'usecase' (the use case's examples), a dataset NAME@vN, or a .jsonl/.txt "
        "file (default: the typed questions, else 'usecase').",
    )
    questions: list[str] | None = Field(
        None, max_length=MAX_QUESTIONS, description="Inputs typed in, up to 20."
    )
    judge: str | None = Field(None, description="Model ref that grades every answer 1-5.")
    project: str | None = Field(None, description="Project (default: the current one).")
    max_new_tokens: int = Field(128, ge=1, le=1024, description="Longest answer, in tokens.")


def _inputs(args: CompareModelsArgs, ctx: ToolContext):
    if args.questions:
        return list(args.questions)
    spec = (args.inputs or "usecase").strip()
    if spec == "usecase" or "@v" in spec or spec.startswith("ds:"):
        return strip_prefix("dataset", spec)
    return readable_path(spec, ctx, "inputs file")


def compare_models_tool(args: CompareModelsArgs, ctx: ToolContext) -> ToolResult:
    from tools.promptlab import run_experiment
    from tools.promptlab.template import sample_template_path

    template = readable_path(args.template, ctx, "template") if args.template else None
    project = project_of(args.project, ctx)
    saved = run_experiment(
        template or sample_template_path(),
        check_refs(args.models),
        _inputs(args, ctx),
        project=project,
        judge=check_refs([args.judge])[0] if args.judge else None,
        max_new_tokens=args.max_new_tokens,
        ws=workspace(ctx),
        progress=lambda stage, done, total: ctx.emit(f"generating {stage}", done, total, ""),
    )
    per_model = saved.summary.get("per_model", {})
    table = [
        {
            "model": ref,
            "failed": stats.get("failed"),
            "latency_s": stats.get("mean_latency_s"),
            "output_tokens": stats.get("mean_output_tokens"),
            "judge": stats.get("judge"),
            **(stats.get("metrics") or {}),
        }
        for ref, stats in per_model.items()
    ]
    lines = [
        f"{row['model']}: "
        + ", ".join(f"{k} {v}" for k, v in row.items() if k != "model" and v is not None)
        for row in table
    ]
    text = (
        f"Experiment exp:{saved.id}: {saved.summary.get('inputs')} inputs x "
        f"{len(per_model)} models.\n" + "\n".join(lines) + f"\nMatrix: {saved.html_path}. "
        "Next: pick one, e.g. 'use builtin:smollm2-135m-instruct as the baseline'."
    )
    for warning in saved.summary.get("warnings") or []:
        text += f"\nWarning: {warning}"
    artifact = {"experiment": f"exp:{saved.id}", "table": table, "html": str(saved.html_path)}
    return ToolResult(text, artifact, {"experiment": f"exp:{saved.id}", "project": project})


class TryModelArgs(BaseModel):
    question: str = Field(min_length=1, max_length=4000, description="What to ask the model.")
    model: str | None = Field(
        None, description="Model ref (default: the current run, else the base model)."
    )
    kb: str | None = Field(None, description="Put this kb's best passages in front of it.")
    k: int = Field(3, ge=1, le=MAX_K, description=f"Passages retrieved, 1 to {MAX_K}.")
    max_new_tokens: int = Field(256, ge=1, le=2048, description="Longest answer, in tokens.")


def try_model_tool(args: TryModelArgs, ctx: ToolContext) -> ToolResult:
    from tools.playground import answer

    run = from_position(ctx, "run")
    model = args.model or (f"run:{run}" if run else base_model_of(None, ctx))
    check_refs([model])
    kb = strip_prefix("kb", args.kb) if args.kb else None
    reply = answer(
        model, args.question, kb=kb, k=args.k, max_new_tokens=args.max_new_tokens, ws=workspace(ctx)
    )
    sources = reply.sources
    text = (
        f"{model} answered (quoted model output): {quote(reply.text, 1500)}"
        + (f"\nSources: {'; '.join(sources)}" if sources else "")
        + f"\n({reply.output_tokens} tokens in {reply.latency_s:.2f} s)"
    )
    artifact = {"model": model, **reply.to_dict()}
    return ToolResult(text, artifact)


COMPARE_MODELS = ToolSpec(
    name="compare_models",
    description=(
        "Run one prompt template over several models and inputs (the use case's examples, a "
        "dataset's eval rows, a file, or typed questions) and save a side-by-side matrix with "
        "outputs, latency, tokens, reference metrics and an optional judge score. Use it to pick "
        "a baseline model before fine-tuning."
    ),
    args_schema=CompareModelsArgs,
    run=compare_models_tool,
    examples=(
        "compare smollm with hf:./other-model on my prompt",
        "try this prompt on several models",
        "which base model handles our questions best?",
        "run the prompt lab across three models",
        "pit model A against model B on the use case examples",
        "show me how different models answer the same inputs",
        "which model should I pick as the starting point?",
        "test the same question on smollm and openai:gpt-4o-mini",
        "line up a few candidate models and let me see their answers",
        "compare base models before we fine-tune anything",
        "how do qwen and smollm differ on these prompts?",
        "choose the best foundation model for this job",
        "evaluate some candidate base models on my sample inputs",
        "side-by-side answers from two models for one prompt",
        "which baseline model suits us best?",
        "help me choose which model to start from",
    ),
)

TRY_MODEL = ToolSpec(
    name="try_model",
    description=(
        "Ask a model one question and show its answer, optionally with passages retrieved from a "
        "knowledge base and their citations. Defaults to the current tuned run, else the base "
        "model. Use it for a quick hands-on check of a model."
    ),
    args_schema=TryModelArgs,
    run=try_model_tool,
    examples=(
        "ask the tuned model: do you ship abroad?",
        "let me chat with the new model",
        "what would the model reply to 'where are you located'?",
        "try a question on the fine-tuned version",
        "answer this with retrieval from the docs: how long is delivery?",
        "play with the model for a bit",
        "ask it: are you open on holidays?",
        "open a conversation with the new model",
        "what would the tuned model reply to a refund request?",
        "send this question to the model: can I return opened items?",
        "chat with the trained model",
        "give the tuned model a quick spin",
        "query the fine-tuned model about prices",
        "how would the model respond to a complaint?",
    ),
)

TOOLS = [COMPARE_MODELS, TRY_MODEL]
