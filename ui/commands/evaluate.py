"""`tunesmith eval` and `tunesmith compare`: score models on held-out data, then side by side.

`eval MODEL_REF... --data NAME@vN` runs every model on the same eval examples and saves one
evaluation per model (`evals/<id>/`: rows.jsonl, summary.json, report.md, report.html); `--kb`,
`--prompt` and `--judge` add retrieval, prompt files and a judge. `compare ID...` says which
differences against the first are larger than the noise and saves comparison.md/.html.
"""

from __future__ import annotations

import typer

from ui.console import out, print_json, progress_bar, quiet_libraries

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON.")


def _print_eval(saved) -> None:
    from tools.evaluation.report import loss_and_judge_lines

    summary = saved.summary
    failed = f", [red]{summary['failed']} failed[/]" if summary["failed"] else ""
    out.print(
        f"[green]eval:{saved.id}[/] {summary['model']} on {summary['dataset']} "
        f"({summary['split']}, {summary['n']} examples{failed})"
    )
    for name, stats in summary["metrics"].items():
        out.print(
            f"  {name:<22} {stats['mean']:.3f}  [dim][{stats['low']:.3f}, {stats['high']:.3f}][/]"
        )
    cost = summary["cost"]
    out.print(
        f"  [dim]mean prompt tokens {cost['mean_prompt_tokens']:.1f}, output tokens "
        f"{cost['mean_output_tokens']:.1f}, latency {cost['mean_latency_s']:.3f}s[/]"
    )
    for line in loss_and_judge_lines(
        summary,
        loss_line="  eval loss {eval_loss:.4f}, perplexity {perplexity:.2f} "
        "[dim]({tokens} reference tokens)[/]",
        skipped_line="  [dim]eval loss skipped: {reason}[/]",
        judge_line="  judge {model}: {scored} scored, {unscored} unscored",
    ):
        out.print(line)
    out.print(f"  report: {saved.report_path}")
    out.print(f"  html:   {saved.html_path}")


def eval_(
    model_refs: list[str] = typer.Argument(help="One or more model refs, evaluated in turn."),
    data: str = typer.Option(..., "--data", help="Dataset version to evaluate on, NAME@vN."),
    split: str = typer.Option("eval", "--split", help="Which split's rows to use."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Longest answer, in tokens."),
    batch_size: int | None = typer.Option(
        None, "--batch-size", help="Prompts per batch (default: the engine's)."
    ),
    kb: str | None = typer.Option(
        None, "--kb", help="Put the top chunks of this knowledge base in every prompt (RAG)."
    ),
    k: int = typer.Option(3, "-k", "--top-k", help="Chunks retrieved per example with --kb."),
    prompt: list[str] = typer.Option(
        [],
        "--prompt",
        help="Prompt file (YAML system:/user: with {{ input }}, or .txt = system prompt) for "
        "all models, or MODEL_REF=FILE for one (repeatable).",
    ),
    judge: str | None = typer.Option(
        None, "--judge", help="Model ref that grades every answer 1-5 against the reference."
    ),
    project: str = typer.Option(
        "default", "--project", help="Project whose use case gives the format checks."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Generate an answer for every eval example, score it, and save a report per model."""
    from tools.evaluation.judge import weak_judge_warning
    from tools.evaluation.prompts_file import parse_prompt_options
    from tools.evaluation.runner import evaluate

    quiet_libraries()
    prompts = parse_prompt_options(prompt, model_refs)
    warning = weak_judge_warning(judge) if judge else None
    if warning and not json_out:
        out.print(f"[yellow]warning:[/] {warning}")
    with progress_bar(not json_out) as update:
        saved = evaluate(
            model_refs,
            data,
            split=split,
            kb=kb,
            k=k,
            prompts=prompts,
            judge=judge,
            project=project,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            progress=lambda ref, done, total: update(f"eval {ref}", done, total),
        )
    if json_out:
        print_json(
            [
                {"id": s.id, "path": str(s.path), "html": str(s.html_path), **s.summary}
                for s in saved
            ]
        )
        return
    for item in saved:
        _print_eval(item)
    if len(saved) > 1:
        ids = " ".join(s.id for s in saved)
        out.print(f"Next: `tunesmith compare {ids}`")


def compare_(
    eval_ids: list[str] = typer.Argument(help="Evaluation ids; the first is the baseline."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Deltas against the first evaluation, with which ones are larger than the noise.

    Saves comparison.md and comparison.html (plots, the ten examples that improved and worsened
    most) under the workspace and prints their paths.
    """
    from tools.evaluation.compare import render_comparison, save_comparison

    quiet_libraries()
    saved = save_comparison(eval_ids)
    if json_out:
        print_json(
            {"id": saved.id, "md": str(saved.md_path), "html": str(saved.html_path)} | saved.result
        )
        return
    out.print(render_comparison(saved.result), markup=False)
    out.print(f"saved: {saved.md_path}\n       {saved.html_path}", markup=False)


def register(app: typer.Typer) -> None:
    """Add `eval` and `compare` as top-level commands."""
    app.command("eval")(eval_)
    app.command("compare")(compare_)
