"""`tunesmith train`: a recipe chosen for your model, data and hardware, explained, then launched.

It prints every setting with the one-line reason it was chosen and an estimate (peak memory,
tokens, time), asks before starting unless --yes, and starts the run in the background: the
command returns at once (or follows the log with --follow) and `tunesmith runs` watches it.
"""

from __future__ import annotations

import typer

from ui.console import out, print_json, quiet_libraries

SHOWN_FIRST = (
    "base_model",
    "dataset",
    "method",
    "device",
    "precision",
    "max_length",
    "loss",
    "packing",
    "epochs",
    "learning_rate",
    "batch_size",
    "grad_accum",
)


def _recipe_help(value: bool) -> None:
    if not value:
        return
    from trainers.recipe import field_help
    from trainers.recipes import shipped_recipes

    for name, text in field_help().items():
        if name != "reasons":
            out.print(f"[bold]{name}[/]: {text}")
    out.print(f"\nShipped recipes (--recipe NAME): {', '.join(shipped_recipes())}")
    raise typer.Exit()


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    from core.errors import InvalidInput

    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--set {pair!r} is not key=value.", "e.g. --set epochs=2")
        parsed[key.strip()] = value.strip()
    return parsed


def print_recipe(recipe, estimate) -> None:
    """Every setting with its reason, the most consequential first, then the estimate."""
    data = recipe.to_dict()
    order = [k for k in SHOWN_FIRST if k in data] + [
        k for k in data if k not in SHOWN_FIRST and k != "reasons"
    ]
    if data["method"] != "lora":
        order = [k for k in order if not k.startswith("lora_")]
    for key in order:
        reason = recipe.reasons.get(key, "")
        out.print(f"  [bold]{key:<24}[/] {data[key]!s:<18} [dim]{reason}[/]")
    out.print(f"\n[bold]Estimate:[/] {estimate.describe()}")
    out.print(f"  {estimate.advice}")


def train(
    data: str = typer.Option(..., "--data", help="Dataset version to train on, NAME@vN."),
    model: str | None = typer.Option(
        None, "--model", help="Base model ref (default: TUNESMITH_BASE_MODEL)."
    ),
    method: str | None = typer.Option(None, "--method", help="lora or full (default: by size)."),
    recipe_file: str | None = typer.Option(
        None, "--recipe", help="A shipped recipe name or a YAML file whose keys override defaults."
    ),
    sets: list[str] = typer.Option([], "--set", help="Override one setting: --set epochs=2."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Start without asking."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Follow the log until it ends."),
    json_out: bool = typer.Option(False, "--json", help="Print recipe, estimate and run as JSON."),
    help_recipe: bool = typer.Option(
        False,
        "--help-recipe",
        callback=_recipe_help,
        is_eager=True,
        help="List every recipe setting and the shipped recipes.",
    ),
) -> None:
    """Fine-tune a model on a dataset with explained defaults; the run goes on in the background."""
    from dataclasses import asdict

    from core.settings import get_settings
    from core.workspace import Workspace
    from trainers.defaults import check_trainable, default_recipe
    from trainers.estimate import estimate as estimate_run
    from trainers.hardware import detect_hardware
    from trainers.jobs.runner import launch
    from trainers.model_info import model_shape
    from trainers.recipes import read_recipe_overrides, resolve_recipe

    del help_recipe
    quiet_libraries()
    settings = get_settings()
    base = model or settings.base_model
    hardware = detect_hardware(settings.device)
    recipe, profile = default_recipe(base, data, method=method, hardware=hardware)
    if recipe_file:
        path = resolve_recipe(recipe_file)
        from_file = read_recipe_overrides(path)
        recipe = recipe.with_overrides(from_file)
        recipe.reasons |= {key: f"from {path.name}" for key in from_file}
    if sets:
        recipe = recipe.with_overrides(_parse_sets(sets))
    estimate = estimate_run(recipe, profile, model_shape(recipe.base_model, settings), hardware)
    check_trainable(recipe, profile, hardware, estimate)
    if not json_out:
        out.print(f"[bold]Recipe[/] for {recipe.base_model} on ds:{recipe.dataset}:")
        print_recipe(recipe, estimate)
    if not yes and not typer.confirm("\nStart this run?", default=True):
        raise typer.Exit(1)
    run = launch(recipe, ws=Workspace.from_settings(settings), settings=settings)
    if json_out:
        print_json(
            {
                "recipe": recipe.to_dict(),
                "estimate": asdict(estimate),
                "run": {
                    "id": run.id,
                    "status": run.status,
                    "duplicate": run.duplicate,
                    "run_dir": str(run.run_dir),
                },
            }
        )
    elif run.duplicate:
        out.print(f"\nThe same run already exists: {run.id} ({run.status}); not started twice.")
    else:
        out.print(
            f"\nStarted run {run.id} ({run.status}). Watch it: tunesmith runs logs {run.id} -f"
        )
    if follow:
        from ui.commands.runs import logs

        logs(run.id, follow=True)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
