"""`tunesmith try MODEL_REF`: talk to a model in the terminal, optionally with retrieval.

The model loads once, before the first prompt (a bad ref fails at once, not after a question).
Each line is a question; the conversation is kept, `/reset` forgets it, `/quit` (or Ctrl-D)
ends. With `--kb`, every answer lists the chunks it was given. Piped input works too
(`echo "question" | tunesmith try run:<id>`): each line is answered in turn, `--json` prints one
JSON object per answer.
"""

from __future__ import annotations

import json
import sys

import typer

from ui.console import err, out, quiet_libraries

HELP_TEXT = "Commands: /reset forgets the conversation, /quit ends (so does Ctrl-D), /help."


def try_(
    model_ref: str = typer.Argument(help="The model to talk to, e.g. run:<id> or hf:./folder."),
    kb: str | None = typer.Option(
        None, "--kb", help="Put this knowledge base's best chunks in front of each question."
    ),
    k: int = typer.Option(3, "-k", help="How many chunks to retrieve with --kb."),
    system: str | None = typer.Option(None, "--system", help="A system prompt for every turn."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Longest answer, in tokens."),
    json_out: bool = typer.Option(False, "--json", help="Print each answer as a JSON line."),
) -> None:
    """A terminal playground: ask, read the answer, keep the conversation."""
    from rich.markup import escape

    from core.errors import InvalidInput, TunesmithError
    from tools.playground import Conversation, get_engine

    if kb and k < 1:
        raise InvalidInput(f"k must be at least 1, not {k}.", "Use -k 3 for the three best chunks.")
    if max_new_tokens < 1:
        raise InvalidInput(
            f"--max-new-tokens must be at least 1, not {max_new_tokens}.", "Use 256."
        )
    quiet_libraries()
    interactive = sys.stdin.isatty()
    if interactive:
        err.print(f"Loading {model_ref}…")
    get_engine(model_ref)  # load now: the first answer is as quick as the rest
    chat = Conversation(model_ref, kb=kb, k=k, system=system, max_new_tokens=max_new_tokens)
    if interactive:
        where = f" with kb:{kb} (top {k} chunks)" if kb else ""
        err.print(f"Talking to {model_ref}{where}. {HELP_TEXT}")
    while True:
        line = _read(interactive)
        if line is None:
            break
        question = line.strip()
        if not question:
            continue
        if question in ("/quit", "/exit"):
            break
        if question == "/reset":
            chat.reset()
            err.print("[dim]Conversation forgotten.[/]")
            continue
        if question == "/help":
            err.print(HELP_TEXT)
            continue
        try:
            reply = chat.ask(question)
        except TunesmithError as error:
            hint = f" ({error.hint})" if error.hint else ""
            err.print(f"[red]Error:[/] {escape(error.message + hint)}")
            continue
        _print_reply(reply, json_out)


def _read(interactive: bool) -> str | None:
    """The next line, or None at the end of input."""
    if not interactive:
        line = sys.stdin.readline()
        return line if line else None
    try:
        return input("you> ")
    except (EOFError, KeyboardInterrupt):
        err.print("")
        return None


def _print_reply(reply, json_out: bool) -> None:
    if json_out:
        sys.stdout.write(json.dumps(reply.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    out.print(reply.text, markup=False)
    for number, source in enumerate(reply.sources, 1):
        out.print(f"  [{number}] {source}", style="dim", markup=False)
    err.print(
        f"[dim]{reply.prompt_tokens} prompt tokens, {reply.output_tokens} output tokens, "
        f"{reply.latency_s:.2f}s[/]"
    )


def register(app: typer.Typer) -> None:
    """Add `try` as a top-level command."""
    app.command("try")(try_)
