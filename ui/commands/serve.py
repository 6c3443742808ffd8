"""`tunesmith ui`: serve the Gradio workspace (chat, knowledge, data, runs, evals, playground).

Loopback only unless --host says otherwise; --auth user:pass puts a login in front. There is
deliberately no --share: a public tunnel would expose the workspace's files and models.
"""

from __future__ import annotations

import typer

from core.errors import InvalidInput
from ui.console import out

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """`user:pass` -> (user, pass); None when not given."""
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise InvalidInput(
            "--auth must look like user:password.", "For example --auth alice:correct-horse."
        )
    return user, password


def ui(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback)."),
    port: int = typer.Option(7860, "--port", help="Port to listen on."),
    auth: str = typer.Option(
        None, "--auth", help="Require a login, as user:password.", show_default=False
    ),
    agent_model: str = typer.Option(
        None,
        "--agent-model",
        help="Chat agent model ref (default: TUNESMITH_AGENT_MODEL).",
        show_default=False,
    ),
    upload_mb: float = typer.Option(50.0, "--upload-mb", help="Largest upload accepted, in MB."),
) -> None:
    """Open Tunesmith in the browser: chat with the agent, and see every artifact it makes."""
    from ui.console import quiet_libraries

    credentials = parse_auth(auth)
    if not 0 < port < 65536:
        raise InvalidInput(f"--port {port} is not a port.", "Use 1-65535, e.g. --port 7860.")
    if upload_mb <= 0:
        raise InvalidInput("--upload-mb must be positive.", "For example --upload-mb 50.")
    if host not in LOOPBACK and credentials is None:
        out.print(
            f"[yellow]Serving on {host} without --auth: anyone who reaches this machine "
            "can use it.[/]"
        )
    quiet_libraries()
    from ui.gradio_app import build_app, launch

    app = build_app(agent_model, upload_mb)
    out.print(f"Tunesmith is at [bold]http://{host}:{port}[/] (Ctrl+C to stop).")
    launch(app, host=host, port=port, auth=credentials, upload_limit_mb=upload_mb)


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)
