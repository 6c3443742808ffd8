"""`tunesmith slack --socket | --http [--port 3000]`: run the Slack app (ui/slack_app.py).

Socket Mode needs no public URL (the app opens a websocket to Slack with the app-level token);
HTTP mode serves Slack's Events API and interactivity at http://HOST:PORT/slack/events behind
your own HTTPS proxy, and verifies every request's signature. Setup: README, "Slack".
"""

from __future__ import annotations

import typer

from core.errors import InvalidInput
from ui.console import out


def slack(
    socket: bool = typer.Option(False, "--socket", help="Socket Mode (no public URL needed)."),
    http: bool = typer.Option(False, "--http", help="HTTP mode: serve /slack/events."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP mode: address to listen on."),
    port: int = typer.Option(3000, "--port", help="HTTP mode: port to listen on (0: any free)."),
) -> None:
    """Run the Slack app: mentions and DMs start conversations, approvals are buttons."""
    if socket == http:
        raise InvalidInput(
            "Choose one mode: --socket or --http.",
            "--socket needs TUNESMITH_SLACK_APP_TOKEN; --http needs a public HTTPS URL that"
            " forwards to /slack/events.",
        )
    if not 0 <= port < 65536:
        raise InvalidInput(
            f"Port {port} is not a TCP port.", "Use 1-65535, e.g. --port 3000 (0: any free port)."
        )
    from core.settings import get_settings
    from ui.console import quiet_libraries
    from ui.slack_app import build_app, serve_http, start_socket

    quiet_libraries()
    settings = get_settings()
    slack_app = build_app(settings, socket_mode=socket)
    if socket:
        out.print("[bold]Tunesmith on Slack[/] (Socket Mode). Ctrl-C stops it.")
        start_socket(slack_app, settings.slack_app_token.get_secret_value())
        return
    server = serve_http(slack_app, host, port)
    out.print("[bold]Tunesmith on Slack[/] (HTTP mode). Ctrl-C stops it. Request URL:")
    out.print(f"http://{host}:{server.server_port}/slack/events", soft_wrap=True)
    out.print("Put your public HTTPS address in front of it (README: Slack).")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        slack_app.door.jobs.shutdown(wait=True)


def register(app: typer.Typer) -> None:
    """Add `slack` as a top-level command."""
    app.command("slack")(slack)
