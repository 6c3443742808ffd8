"""`tunesmith chat` (the terminal door) and `tunesmith route` (what the offline guide would call).

The chat renders the agent's events as they stream: the reply word by word, each tool step with
its arguments and result, progress bars for long work, and approvals as a prompt (approve, edit
the arguments, or reject). `/threads`, `/new`, `/thread ID` and `/quit` manage conversations,
which persist in the workspace: `--thread ID` picks one up after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import typer

from ui.console import err, out, print_json, progress_bar, quiet_libraries

CHAT_HELP = "Commands: /threads (list), /new (new thread), /thread ID (switch), /quit."


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
    app.command("route")(route)


def chat(
    model: str = typer.Option(
        None, "--model", help="Agent model ref (openai:..., ollama:...). Default: offline guide."
    ),
    thread: str = typer.Option(None, "--thread", help="Continue this conversation thread."),
) -> None:
    """Talk to Tunesmith in the terminal: it walks you from a goal to a tested fine-tuned model."""
    quiet_libraries()
    from agent.session import AgentSession

    session = AgentSession(thread, model=model)
    brain = getattr(session.brain, "label", "")
    out.print(f"[bold]Tunesmith[/] ({brain}) thread {session.thread_id}. {CHAT_HELP}")
    history = session.history()
    if thread and not history:
        out.print(f"[yellow]No saved conversation {thread}; starting it new.[/]")
    replay(history)
    ask = session.pending()
    if ask is not None:
        render(session, [ask], read=_read)
    while True:
        try:
            text = _read("[bold cyan]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        command, _, rest = text.strip().partition(" ")
        if command == "/quit":
            break
        if command == "/new":
            session = AgentSession(model=model)
            out.print(f"New thread {session.thread_id}.")
        elif command == "/thread" and rest.strip():
            session = AgentSession(rest.strip(), model=model)
            out.print(f"Thread {session.thread_id}.")
            replay(session.history())
        elif command == "/threads":
            _print_threads(session.thread_id)
        elif command.startswith("/"):
            out.print(CHAT_HELP)
        elif text.strip():
            render(session, session.send(text), read=_read)


def _read(prompt: str) -> str:
    return out.input(prompt)


def _print_threads(current: str) -> None:
    from agent.session import list_threads

    threads = list_threads(owner="")
    if not threads:
        out.print("No saved threads yet.")
    for info in threads:
        mark = "*" if info.id == current else " "
        out.print(f"{mark} {info.id}  {info.updated_at}  {info.title}")


def replay(history: list[dict[str, Any]]) -> None:
    """Show a resumed thread's conversation so far (tool results in one line each)."""
    for row in history:
        if row["role"] == "user":
            out.print(f"[bold cyan]you>[/] {row['content']}")
        elif row["role"] == "tool":
            out.print(f"  [dim]{row['tool']}: {_one_line(row['content'])}[/]")
        elif row["content"]:
            out.print(f"[bold green]tunesmith>[/] {row['content']}")


def render(session: Any, events: Iterable[Any], read: Callable[[str], str]) -> None:
    """Print one turn's events; an approval prompts, and the decision's events follow."""
    from agent.events import Decision

    streaming = False
    with progress_bar() as bar:
        for event in events:
            data = event.data
            if event.kind == "token":
                if not streaming:
                    out.print("[bold green]tunesmith>[/] ", end="")
                    streaming = True
                out.print(event.text, end="", markup=False)
            elif event.kind == "message":
                if not streaming:
                    out.print("[bold green]tunesmith>[/] ", end="")
                    out.print(event.text, markup=False, end="")
                out.print()
                streaming = False
            elif event.kind == "tool_start":
                out.print(f"  [dim]→ {data['tool']}({_args(data.get('args'))})[/]")
            elif event.kind == "progress":
                bar(data.get("stage", ""), data.get("done", 0), data.get("total", 0), "")
            elif event.kind == "tool_end":
                mark = "[green]✓[/]" if data.get("ok") else "[red]✗[/]"
                seconds = data.get("duration_s", 0)
                out.print(f"  {mark} {data['tool']} ({seconds:.1f}s): ", end="")
                out.print(_one_line(event.text, 160), markup=False)
            elif event.kind == "error":
                err.print(f"[red]Error:[/] {event.text}")
                if data.get("hint"):
                    err.print(f"[yellow]What to do:[/] {data['hint']}")
            elif event.kind == "approval":
                decision = _ask_approval(event, read, Decision)
                render(session, session.resume(decision), read)
                return


def _ask_approval(event: Any, read: Callable[[str], str], decision_type: type) -> Any:
    data = event.data
    out.print(f"[bold yellow]Approval needed[/] for {data['tool']}({_args(data.get('args'))})")
    out.print(f"  {event.text}")
    while True:
        answer = read(r"  \[a]pprove, \[e]dit, \[r]eject? ").strip().lower()
        if answer in ("a", "approve", "y", "yes"):
            return decision_type("approve")
        if answer in ("r", "reject", "n", "no"):
            return decision_type("reject", reason=read("  why (optional)? ").strip())
        if answer in ("e", "edit"):
            changes = _parse_edit(read("  new arguments (key=value ... or JSON)? "))
            if changes is not None:
                return decision_type("edit", args=changes)
        out.print("  Answer a, e or r.")


def _parse_edit(text: str) -> dict[str, Any] | None:
    """`steps=20 name=big` or a JSON object; values parse as JSON when they can."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            out.print("  That is not valid JSON.")
            return None
        return value if isinstance(value, dict) else None
    changes: dict[str, Any] = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if not sep or not key:
            out.print(f"  {part!r} is not key=value.")
            return None
        try:
            changes[key] = json.loads(value)
        except ValueError:
            changes[key] = value
    return changes


def _args(args: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in (args or {}).items())


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def route(
    message: str = typer.Argument(..., help="A message, as a person would type it."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Print the tool and arguments the offline guide would call for MESSAGE, without calling it."""
    quiet_libraries()
    from agent.brains.guide import Guide
    from tools.registry import load_registry

    plan = Guide(load_registry()).plan(message)
    if json_out:
        print_json(plan.to_dict())
    elif plan.tool and not plan.reply:
        out.print(f"[bold]{plan.tool}[/]  (similarity {plan.score:.2f})")
        out.print(json.dumps(plan.args, indent=2, ensure_ascii=False), markup=False)
    else:
        if plan.tool:
            out.print(f"[bold]{plan.tool}[/]  (similarity {plan.score:.2f}), but it would ask:")
        out.print(plan.reply, markup=False)
    if plan.tool is None:
        raise typer.Exit(1)
