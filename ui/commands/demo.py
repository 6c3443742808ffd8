"""`tunesmith demo`: the whole workflow on the sample data with the embedded models, no questions.

Prints each step as it finishes (what it did, how long it took), then where every artifact is.
"""

from __future__ import annotations

import typer

from ui.console import out, progress_bar, quiet_libraries


def demo(
    model: str | None = typer.Option(
        None, "--model", help="Base model to compare, train and evaluate (default: the builtin)."
    ),
    writer: str | None = typer.Option(
        None, "--writer", help="Model that writes the synthetic inputs (default: --model)."
    ),
    judge: str | None = typer.Option(
        None, "--judge", help="Model that grades the test suite's rubric case (default: builtin)."
    ),
    baselines: str | None = typer.Option(
        None, "--baselines", help="Comma-separated model refs for the prompt lab."
    ),
    max_steps: int = typer.Option(20, "--max-steps", help="Training steps of the demo run."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", help="Longest answer, in tokens."),
) -> None:
    """Run prompt lab, synthesis, training, evaluation, advice, tests and export on the sample data.

    Sized for 2 CPU cores and the builtin SmolLM2-135M (see the README for the time it took).
    """
    from tools.demo import BUILTIN, DemoOptions, artifact_lines, run_demo, total_seconds

    quiet_libraries()
    if max_steps < 1:
        from core.errors import InvalidInput

        raise InvalidInput(f"--max-steps must be at least 1, got {max_steps}.", "Use e.g. 20.")
    options = DemoOptions(
        base_model=model or BUILTIN,
        writer=writer,
        judge=judge,
        baselines=[m.strip() for m in (baselines or "").split(",") if m.strip()],
        max_steps=max_steps,
        max_new_tokens=max_new_tokens,
    )
    out.print(f"[bold]Tunesmith demo[/] on the sample data with {options.base_model}")

    def show(step) -> None:
        out.print(f"[green]✓ {step.name}[/] ({step.seconds:.0f} s): {step.summary}")

    with progress_bar() as update:
        outcomes = run_demo(options, emit=update, on_step=show)
    out.print("\n[bold]Artifacts[/]")
    for line in artifact_lines(outcomes):
        out.print(f"  {line}")
    minutes = total_seconds(outcomes) / 60
    out.print(
        f"\nDone in {minutes:.1f} min. Next: `tunesmith ui` to look around, or `tunesmith chat`."
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
