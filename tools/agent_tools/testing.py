"""run_tests: a model against a YAML suite of cases with assertions, before it is exported."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.agent_tools.common import (
    base_model_of,
    check_refs,
    from_position,
    quote,
    readable_path,
    strip_prefix,
    workspace,
)
from tools.registry import ToolContext, ToolResult, ToolSpec


class RunTestsArgs(BaseModel):
    model: str | None = Field(
        None, description="Model ref to test (default: the current run, else the base model)."
    )
    suite: str | None = Field(
        None, description="Test suite YAML file (default: the shipped sample suite)."
    )
    kb: str | None = Field(None, description="Retrieve passages from this kb for every case.")
    judge: str | None = Field(None, description="Model ref for the suite's judge assertions.")


def run_tests_tool(args: RunTestsArgs, ctx: ToolContext) -> ToolResult:
    from core import sample_data
    from tools.testing import run_suite

    run = from_position(ctx, "run")
    model = check_refs([args.model or (f"run:{run}" if run else base_model_of(None, ctx))])[0]
    suite = readable_path(args.suite, ctx, "test suite") if args.suite else sample_data.suite_path()
    result = run_suite(
        model,
        suite,
        judge=check_refs([args.judge])[0] if args.judge else None,
        kb=strip_prefix("kb", args.kb) if args.kb else None,
        ws=workspace(ctx),
        progress=lambda done, total, *_: ctx.emit("testing", done, total, ""),
    )
    table = [
        {
            "case": case.name,
            "passed": case.passed,
            "failures": "; ".join(case.failures),
            "output": case.output[:500],
        }
        for case in result.cases
    ]
    failing = [
        f"{c.name}: {'; '.join(c.failures)} (output {quote(c.output, 120)})"
        for c in result.cases
        if not c.passed
    ]
    text = f"{model}: {result.passed} of {result.total} cases passed."
    if failing:
        text += " Failed:\n" + "\n".join(failing[:10])
    else:
        text += " Next: export it."
    artifact = {"model": model, "passed": result.passed, "failed": result.failed, "table": table}
    return ToolResult(text, artifact)


RUN_TESTS = ToolSpec(
    name="run_tests",
    description=(
        "Run a model against a test suite (YAML cases with assertions: contains, regex, word "
        "limits, similarity to a reference, judge rubric) and report which cases pass and why the "
        "others fail. Defaults to the current run and the shipped sample suite."
    ),
    args_schema=RunTestsArgs,
    run=run_tests_tool,
    examples=(
        "run the test suite on the tuned model",
        "check the model against my test cases",
        "does it pass the tests in tests.yaml?",
        "verify the fine-tuned model before release",
        "run the assertions from my suite file",
        "quality gate: test it",
        "run tests.yaml against the fine-tuned model",
        "execute my test cases",
        "are all my test cases green?",
        "run the regression suite before we ship",
        "check the model with my assertions",
        "test the new model on the cases in ./tests/support.yaml",
        "pass or fail on my suite?",
        "validate the trained model with the test file",
    ),
)

TOOLS = [RUN_TESTS]
