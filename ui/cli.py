"""The `tunesmith` command line. Start-up is cheap: heavy libraries load inside commands.

Every capability also runs alone from here; errors print what was wrong and what to do.
"""

from __future__ import annotations

import sys

import typer

from core.errors import TunesmithError
from ui.commands import (  # noqa: F401 (data_ops and data_synth register on data.app)
    advise,
    chat,
    data,
    data_ops,
    data_synth,
    demo,
    evaluate,
    export,
    kb,
    model_tests,
    models,
    playground,
    prompt,
    runs,
    serve,
    slack,
    tools_list,
    train,
)
from ui.console import err, out, print_json

app = typer.Typer(
    name="tunesmith",
    help="From 'I want a model that does X' to a tested fine-tuned model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(kb.app, name="kb")
app.add_typer(models.app, name="models")
app.add_typer(data.app, name="data")
app.add_typer(runs.app, name="runs")
app.add_typer(prompt.app, name="prompt")
train.register(app)
evaluate.register(app)
advise.register(app)
chat.register(app)
model_tests.register(app)
playground.register(app)
export.register(app)
demo.register(app)
serve.register(app)
slack.register(app)
tools_list.register(app)


@app.command("config")
def config(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Print every setting, its value and where it came from (environment, .env or default)."""
    from dataclasses import asdict

    from core.settings import describe, get_settings

    rows = describe(get_settings())
    if json_out:
        print_json([asdict(r) for r in rows])
        return
    for row in rows:
        out.print(
            f"[bold]{row.name}[/] = {row.value or '[dim](empty)[/]'}  [dim]<- {row.source}[/]"
        )
        out.print(f"    [dim]{row.help}[/]")


@app.command("quickstart")
def quickstart() -> None:
    """Index the shipped sample documents into kb:sample and search them: retrieval in a minute."""
    from core import sample_data

    out.print(
        "[bold]Tunesmith quickstart[/]: indexing the sample company's documents into kb:sample"
    )
    kb.add("sample", [sample_data.docs_dir()], json_out=False)
    question = "How long do I have to return something?"
    out.print(f'\n[bold]Search:[/] "{question}"')
    kb.search("sample", question, k=3, json_out=False)
    out.print('Next: `tunesmith kb add NAME ./your-docs`, then `tunesmith kb search NAME "..."`.')


def main() -> None:
    """Console-script entry point: run the app and turn Tunesmith errors into clear messages."""
    try:
        app()
    except TunesmithError as error:
        err.print(f"[red]Error:[/] {error.message}")
        if error.hint:
            err.print(f"[yellow]What to do:[/] {error.hint}")
        sys.exit(2)


if __name__ == "__main__":
    main()
