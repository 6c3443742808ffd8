"""`tunesmith prompt …`: try one prompt on several models side by side, and pick a baseline.

    tunesmith prompt test --models builtin:smollm2-135m-instruct,hf:./other \\
        --template prompt.yaml --inputs questions.jsonl [--judge MODEL] [--baseline MODEL]
    tunesmith prompt show EXP_ID        the matrix again (and where its files are)
    tunesmith prompt list               experiments, newest first
    tunesmith prompt baseline MODEL     mark the project's baseline model

Inputs come from a file (.jsonl / .txt), a dataset version NAME@vN, `usecase`, or `--input` typed
on the command line (repeatable).
"""

from __future__ import annotations

import typer

from ui.console import err, out, print_json, progress_bar, quiet_libraries

app = typer.Typer(
    help="Prompt lab: one prompt, several models, side by side; pick the baseline.",
    no_args_is_help=True,
)
JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON.")
PROJECT_OPTION = typer.Option("default", "--project", help="Project the experiment belongs to.")


def _print_summary(saved) -> None:
    from tools.promptlab.matrix import model_facts

    summary = saved.summary
    out.print(
        f"[green]experiment {saved.id}[/]: {summary['template']['name']} "
        f"(v{summary['template']['version']}) on {summary['inputs']} input(s)"
    )
    for warning in summary.get("warnings", []):
        err.print(f"[yellow]Warning:[/] {warning}")
    for model in summary["models"]:
        out.print(f"  {model:<40} {model_facts(summary['per_model'][model])}")
    out.print(f"  matrix: {saved.md_path}\n  html:   {saved.html_path}")


@app.command("test")
def test(
    models: str = typer.Option(..., "--models", help="Comma-separated model refs to compare."),
    template: str = typer.Option(
        ..., "--template", help="YAML with `system:` and a Jinja `user:` using {{ input }}."
    ),
    inputs: str | None = typer.Option(
        None, "--inputs", help="A .jsonl/.txt file, a dataset NAME@vN, or 'usecase'."
    ),
    typed: list[str] = typer.Option(
        [], "--input", help="An input typed here (repeat for several); instead of --inputs."
    ),
    judge: str | None = typer.Option(
        None, "--judge", help="Model ref that grades each output 1-5 (a strong model)."
    ),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Also mark this model as the project's baseline."
    ),
    limit: int | None = typer.Option(None, "--limit", help="Use at most this many inputs."),
    max_new_tokens: int = typer.Option(128, "--max-new-tokens", help="Longest answer, in tokens."),
    similarity: bool = typer.Option(
        False, "--similarity", help="Add MiniLM embedding similarity to the reference."
    ),
    project: str = PROJECT_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Run the template on every model and input; save and show the side-by-side matrix."""
    from core.errors import InvalidInput
    from tools.promptlab import load_inputs, run_experiment
    from tools.promptlab.runner import model_list
    from tools.usecase import set_baseline

    if bool(inputs) == bool(typed):
        raise InvalidInput(
            "Give the inputs either as --inputs (file, NAME@vN or usecase) or as --input TEXT.",
            "e.g. --inputs questions.jsonl, or --input 'Do you ship abroad?' --input 'Hi'.",
        )
    refs = model_list(models)
    baseline = model_list(baseline)[0] if baseline else None
    if baseline and baseline not in refs:  # checked before minutes of generation, not after
        raise InvalidInput(
            f"--baseline {baseline} is not one of the models tried ({', '.join(refs)}).",
            "Pick the baseline among --models, or use `tunesmith prompt baseline MODEL`.",
        )
    quiet_libraries()
    items = load_inputs(inputs or typed, limit=limit, project=project)
    with progress_bar(not json_out) as update:
        saved = run_experiment(
            template,
            refs,
            items,
            project=project,
            judge=judge,
            max_new_tokens=max_new_tokens,
            progress=lambda stage, done, total: update(stage, done, total),
            similarity=similarity,
        )
    if baseline:
        set_baseline(project, baseline)
    if json_out:
        print_json(
            {
                "id": saved.id,
                "path": str(saved.path),
                "md_path": str(saved.md_path),
                "html_path": str(saved.html_path),
                "baseline": baseline,
                **saved.summary,
            }
        )
        return
    _print_summary(saved)
    if baseline:
        out.print(f"Baseline of project {project}: {baseline}")
    else:
        out.print(f"Next: `tunesmith prompt baseline MODEL --project {project}` to pick one.")


@app.command("show")
def show(
    experiment_id: str = typer.Argument(help="Experiment id (x-…), see `tunesmith prompt list`."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Print a saved experiment's matrix (Markdown) and where its files are."""
    from tools.promptlab import ExperimentStore

    saved = ExperimentStore().load(experiment_id)
    if json_out:
        print_json({"id": saved.id, "path": str(saved.path), **saved.summary, "rows": saved.rows})
        return
    if saved.md_path.is_file():
        out.print(saved.md_path.read_text(encoding="utf-8"), markup=False)
        out.print(f"html: {saved.html_path}")
    else:  # a sweep: its summary is its content, its ranking is one command away
        print_json(saved.summary)
        out.print(f"Rank its runs: `tunesmith advise --sweep-status {saved.id}`")


@app.command("list")
def list_(
    project: str | None = typer.Option(None, "--project", help="Only this project's."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Saved experiments (prompt tests and sweeps), newest first."""
    from tools.promptlab import ExperimentStore

    rows = ExperimentStore().list(project)
    if json_out:
        print_json(rows)
        return
    if not rows:
        out.print("No experiments yet: `tunesmith prompt test --models A,B --template FILE …`.")
    for row in rows:
        kind = row["summary"].get("kind", "prompt")
        out.print(
            f"{row['id']}  {row['created_at']}  {kind:<6} {row['project']:<12} "
            f"{', '.join(row['models'])}"
        )


@app.command("baseline")
def baseline_(
    model: str = typer.Argument(help="The model ref to start from (e.g. the prompt lab's pick)."),
    project: str = PROJECT_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Mark MODEL as the project's baseline: training and evaluation start from it."""
    from tools.usecase import set_baseline

    use_case = set_baseline(project, model)
    if json_out:
        print_json({"project": project, "baseline_model": use_case.baseline_model})
        return
    out.print(f"Baseline of project {project}: {use_case.baseline_model}")
