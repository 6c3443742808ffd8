"""`tunesmith export RUN_ID [--merge] [--gguf] [--out DIR]`: a tuned run, ready to use elsewhere.

The adapter (LoRA runs) or the model folder (full runs), a merged safetensors model with
`--merge`, a GGUF file with `--gguf` when llama.cpp's converter is installed, and always a model
card (README.md) with the base model, data lineage, recipe, evaluations and intended use.
"""

from __future__ import annotations

import typer

from ui.console import err, out, print_json, quiet_libraries


def export_(
    run_id: str = typer.Argument(help="The run to export (`tunesmith runs list` shows them)."),
    merge: bool = typer.Option(
        False, "--merge", help="Fold the LoRA adapter into the base: a plain safetensors model."
    ),
    gguf: bool = typer.Option(
        False,
        "--gguf",
        help="Also write a GGUF file with llama.cpp's converter (TUNESMITH_LLAMA_CPP_DIR or "
        "PATH); implies --merge for LoRA runs.",
    ),
    out_dir: str | None = typer.Option(
        None, "--out", help="Destination folder (default: <workspace>/exports/<run_id>[-merged])."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Export a succeeded run with its model card."""
    from rich.markup import escape

    from tools.export import export_run

    quiet_libraries()
    if merge or gguf:
        err.print("[dim]Merging the adapter into its base…[/]")
    result = export_run(run_id, merge=merge, gguf=gguf, out_dir=out_dir)
    if json_out:
        print_json(result.to_dict())
        return
    out.print(f"[green]Exported run:{result.run_id}[/] ({result.kind}) to {result.path}")
    for name in result.files:
        out.print(f"  {name}", markup=False)
    for note in result.notes:
        colour = "yellow" if note.startswith("GGUF") and result.gguf_path is None else "dim"
        out.print(f"[{colour}]Note:[/] {escape(note)}")
    out.print(f"Model card: {result.card_path}")
    if result.kind != "adapter":
        out.print(f"Next: `tunesmith try hf:{result.path}`")


def register(app: typer.Typer) -> None:
    """Add `export` as a top-level command."""
    app.command("export")(export_)
