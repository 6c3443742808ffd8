"""`tunesmith test MODEL_REF --suite FILE`: run the person's checklist against a model.

Prints each case as PASS or FAIL with the reason of every failed check, then a summary, and exits
1 when any case failed (2 for a bad suite or model, as every command), so it can gate a script.
"""

from __future__ import annotations

import typer

from ui.console import err, out, print_json, progress_bar, quiet_libraries

SUITE_HELP = (
    "YAML suite: `cases:` list, each with `prompt:` (or `messages:`) and checks: contains, "
    "not_contains, regex, max_words, max_chars, similar_to {text, threshold}, judge {rubric, "
    "min_score}. Optional top-level keys: name, judge (model ref), system, max_new_tokens."
)


def test_(
    model_ref: str = typer.Argument(help="The model to test, e.g. run:<id> or hf:./folder."),
    suite: str = typer.Option(..., "--suite", "-s", help=SUITE_HELP),
    kb: str | None = typer.Option(
        None, "--kb", help="Put this knowledge base's best chunks in every prompt."
    ),
    k: int = typer.Option(3, "-k", help="How many chunks to retrieve with --kb."),
    judge: str | None = typer.Option(
        None, "--judge", help="Judge model ref for rubric checks (overrides the suite's judge:)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Run a YAML test suite against a model; exit 1 if any case fails."""
    from tools.testing import run_suite

    quiet_libraries()
    with progress_bar(not json_out) as update:
        result = run_suite(
            model_ref,
            suite,
            judge=judge,
            kb=kb,
            k=k,
            progress=lambda done, total, stage: update(stage, done, total),
        )
    if json_out:
        print_json(result.to_dict())
    else:
        _print_result(result)
    if not result.ok:
        raise typer.Exit(1)


def _print_result(result) -> None:
    for warning in result.warnings:
        err.print(f"[yellow]Warning:[/] {warning}")
    out.print(
        f"[bold]{result.suite}[/] on {result.model}"
        + (f" with kb:{result.kb}" if result.kb else "")
    )
    for case in result.cases:
        if case.passed:
            out.print(f"  [green]PASS[/] {case.name}")
            continue
        out.print(f"  [red]FAIL[/] {case.name}  [dim](line {case.line})[/]")
        for failure in case.failures:
            out.print(f"       - {failure}", markup=False)
        out.print(f"       answer: {_preview(case.output)!r}", markup=False, style="dim")
    colour = "green" if result.ok else "red"
    out.print(
        f"[{colour}]{result.passed}/{result.total} passed[/]"
        + (f", [red]{result.failed} failed[/]" if result.failed else "")
    )


def _preview(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def register(app: typer.Typer) -> None:
    """Add `test` as a top-level command."""
    app.command("test")(test_)
