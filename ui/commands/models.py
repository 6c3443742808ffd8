"""`tunesmith models ...`: which models can be used here, and why not when they cannot."""

from __future__ import annotations

import typer

from ui.console import out, print_json

app = typer.Typer(help="Model refs: builtin:, hf:, openai:, ollama:, run:.")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Show the models Tunesmith knows and whether each is available (nothing is loaded)."""
    from dataclasses import asdict

    from core.models import list_models
    from core.settings import get_settings

    rows = list_models(get_settings())
    if json_out:
        print_json([asdict(r) for r in rows])
        return
    for row in rows:
        mark = "[green]✓[/]" if row.available else "[red]✗[/]"
        out.print(f"{mark} {row.ref}  [dim]{row.kind}[/]  {row.detail}")
