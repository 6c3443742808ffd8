"""`tunesmith tools`: every tool the assistant can call, and every plugin refused with its reason.

Plugin authors run it after `pip install` to see whether their tool loaded; a refused one is
listed with what is wrong (a bad name, no examples, an import error), and never stops the rest.
"""

from __future__ import annotations

import typer

from ui.console import out, print_json


def tools(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the assistant's tools (built-in and plugins) and any refused plugin."""
    from tools.registry import load_registry

    registry = load_registry()
    listing = [
        {
            "name": spec.name,
            "source": spec.source,
            "approval": spec.needs_approval is not None,
            "description": spec.description,
            "arguments": list(spec.args_schema.model_fields),
            "examples": list(spec.examples),
        }
        for spec in registry
    ]
    if json_out:
        print_json({"tools": listing, "refused": registry.refused})
        return
    for item in listing:
        flags = ("" if item["source"] == "builtin" else f" [cyan]({item['source']})[/]") + (
            " [yellow]asks approval[/]" if item["approval"] else ""
        )
        out.print(f'[bold]{item["name"]}[/]{flags}  [dim]e.g. "{item["examples"][0]}"[/]')
        out.print(f"    {item['description'].split('. ')[0].rstrip('.')}.")
    for name, reason in registry.refused.items():
        out.print(f"[red]refused[/] {name}: {reason}")


def register(app: typer.Typer) -> None:
    app.command("tools")(tools)
