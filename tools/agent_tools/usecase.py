"""set_use_case: the person's goal, kept as a spec that evaluation and synthesis can check."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.agent_tools.common import base_model_of, project_of, workspace
from tools.registry import ToolContext, ToolResult, ToolSpec


class UseCaseExample(BaseModel):
    input: str = Field(min_length=1, max_length=2000, description="A question a user would ask.")
    output: str | None = Field(None, max_length=4000, description="The ideal answer, if known.")


class SetUseCaseArgs(BaseModel):
    description: str | None = Field(
        None, max_length=2000, description="What the model should do, in the person's words."
    )
    max_words: int | None = Field(
        None, ge=1, le=10_000, description="Longest acceptable answer, in words."
    )
    output_format: Literal["text", "json", "markdown"] | None = Field(
        None, description="Shape of every answer: text, json or markdown."
    )
    must_contain: list[str] | None = Field(
        None, max_length=20, description="Strings every answer must contain, e.g. a brand tag."
    )
    must_not_contain: list[str] | None = Field(
        None, max_length=20, description="Strings no answer may contain."
    )
    system_prompt: str | None = Field(
        None, max_length=4000, description="Instruction given to the model before each question."
    )
    examples: list[UseCaseExample] | None = Field(
        None, max_length=50, description="Example inputs (and ideal outputs) the prompt lab uses."
    )
    model: str | None = Field(
        None, description="Model ref to keep as the project's baseline, e.g. hf:./my-model."
    )
    project: str | None = Field(None, description="Project name (default: the current one).")


def set_use_case_tool(args: SetUseCaseArgs, ctx: ToolContext) -> ToolResult:
    from tools.usecase import set_baseline, set_use_case

    ws = workspace(ctx)
    project = project_of(args.project, ctx)
    updates = args.model_dump(exclude_none=True, exclude={"model", "project", "examples"})
    if args.examples is not None:
        updates["examples"] = [e.model_dump(exclude_none=True) for e in args.examples]
    use_case = set_use_case(project, ws, **updates)
    if args.model:
        use_case = set_baseline(project, base_model_of(args.model, ctx), ws)
    checks = use_case.format_checks()
    spec = use_case.to_dict()
    text = (
        f"Saved the use case of project {project!r}: {use_case.description or '(no description)'}"
        + (f"; checks: {checks}" if checks else "")
        + (f"; baseline model {use_case.baseline_model}" if use_case.baseline_model else "")
        + ". Next: add your documents, then synthesize a training set."
    )
    position = {"project": project, "use_case": spec}
    if use_case.baseline_model:
        position["base_model"] = use_case.baseline_model
    return ToolResult(text, {"use_case": spec, "checks": checks}, position)


SET_USE_CASE = ToolSpec(
    name="set_use_case",
    description=(
        "Record what the fine-tuned model should do: a description of the task, the longest "
        "acceptable answer in words, the output format (text/json/markdown), strings answers must "
        "or must not contain, a system prompt, and the baseline model. Evaluation turns these into "
        "format checks. Call it when the person describes their goal or a rule for answers."
    ),
    args_schema=SetUseCaseArgs,
    run=set_use_case_tool,
    examples=(
        "I want a model that answers customer questions about our coffee",
        "answers should stay under 60 words",
        "the goal is short friendly replies in our brand voice",
        "every reply must mention #Gullhaven",
        "make the output JSON only",
        "use hf:./my-model as the baseline from now on",
        "my use case: write social media posts for a coffee roaster",
        "the model should help customers of our bike shop",
        "we need a bot that drafts polite email replies",
        "limit replies to 30 words",
        "it's for answering questions about our hotel, keep it brief and friendly",
        "always end with a link to the shop",
        "write in a formal tone, no emojis",
        "the task: summarise support tickets in two sentences",
        "never mention competitor names",
        "here's what I need: a chatbot for our dental clinic",
    ),
)

TOOLS = [SET_USE_CASE]
