"""The Slack app: a Bolt app whose handlers are ui.slack.door's, served over HTTP or Socket Mode.

HTTP mode (`serve_http`): Bolt verifies every request's signature and refuses (401) a bad one or
one more than 5 minutes old; a global middleware acknowledges retries and replays of a delivery
already seen (`X-Slack-Retry-Num`, same event_id, same button press) without running anything;
handlers acknowledge first and run the agent turn on a worker thread (process_before_response is
off), so Slack always has its answer within 3 seconds. Socket Mode (`start_socket`) is for
workspaces without a public URL: the same app, fed over a websocket opened with the app token.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from core.errors import InvalidInput
from core.settings import Settings, get_settings
from core.workspace import Workspace
from ui.slack import blocks
from ui.slack.dedupe import delivery_keys
from ui.slack.door import Jobs, SessionFactory, SlackDoor
from ui.slack.files import SlackFiles
from ui.slack.threads import ThreadOwners, parse_admins

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


@dataclass
class SlackApp:
    """The Bolt app and the door behind it (tests and shutdown wait on `door.jobs`)."""

    app: App
    door: SlackDoor
    listeners: Jobs

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every acknowledged request has finished its work (listeners, then turns)."""
        deadline = time.monotonic() + timeout
        while self.listeners.running or self.door.jobs.running:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.listeners.wait_idle(left)
            self.door.jobs.wait_idle(max(0.0, deadline - time.monotonic()))
        return True


def agent_sessions(ws: Workspace, **options: Any) -> SessionFactory:
    """The real sessions: one checkpointed agent conversation per Slack thread.

    `options` go to AgentSession (model, registry); the defaults come from the settings.
    """

    def new_session(thread_id: str, owner: str):
        from agent.session import AgentSession

        return AgentSession(thread_id, ws=ws, owner=owner, **options)

    return new_session


def build_app(
    settings: Settings | None = None,
    *,
    socket_mode: bool = False,
    new_session: SessionFactory | None = None,
    token_verification: bool = True,
    min_update_interval_s: float = 1.0,
) -> SlackApp:
    """A configured Bolt app; refuses with what to set when a token or the secret is missing."""
    settings = settings or get_settings()
    token = settings.slack_bot_token.get_secret_value()
    secret = settings.slack_signing_secret.get_secret_value()
    if not token:
        raise InvalidInput(
            "No Slack bot token is set.",
            "Set TUNESMITH_SLACK_BOT_TOKEN to the xoxb-... token from the app's OAuth & Permissions"
            " page (README: Slack).",
        )
    if not secret and not socket_mode:
        raise InvalidInput(
            "HTTP mode needs the Slack signing secret to verify requests.",
            "Set TUNESMITH_SLACK_SIGNING_SECRET (Basic Information > Signing Secret),"
            " or use --socket.",
        )
    ws = Workspace.from_settings(settings)
    client = WebClient(token=token, base_url=settings.slack_api_base_url)
    door = SlackDoor(
        client,
        ThreadOwners(ws),
        SlackFiles(
            client, token, ws, int(settings.max_document_mb * 1e6), settings.slack_api_base_url
        ),
        new_session or agent_sessions(ws),
        admins=parse_admins(settings.slack_admins),
        min_update_interval_s=min_update_interval_s,
    )
    listeners = Jobs(10, "slack-listener")
    app = App(
        token=None,  # the client carries it
        signing_secret=secret or None,
        client=client,
        process_before_response=False,
        token_verification_enabled=token_verification,
        request_verification_enabled=not socket_mode,
        listener_executor=listeners,
    )
    wire(app, door)
    return SlackApp(app, door, listeners)


def wire(app: App, door: SlackDoor) -> None:
    """Register the door's handlers; each acknowledges at once and leaves the work to a worker."""

    @app.middleware
    def skip_redeliveries(body: dict[str, Any], request, next):  # noqa: A002 (Bolt's name)
        if door.seen.claim(delivery_keys(body)):
            return next()
        retry = (request.headers.get("x-slack-retry-num") or ["-"])[0]
        log.info("Slack redelivery ignored (retry %s): %s", retry, delivery_keys(body))
        return BoltResponse(status=200, body="")

    @app.event("app_mention")
    def on_mention(event: dict[str, Any]) -> None:
        door.on_mention(event)

    @app.event("message")
    def on_message(event: dict[str, Any], context) -> None:
        door.on_message(event, context.bot_user_id)

    @app.event("file_shared")
    def on_file_shared() -> None:
        """Files arrive with their message (subtype file_share), which carries the thread."""

    @app.action(re.compile("^tunesmith_(approve|edit|reject)$"))
    def on_button(ack, body: dict[str, Any]) -> None:
        ack()
        door.on_action(body)

    @app.view(blocks.EDIT_VIEW)
    def on_edit(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        problem = door.on_edit_submitted(body, view)
        if problem:
            ack(response_action="errors", errors={blocks.ARGS_BLOCK: problem})
        else:
            ack()


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        log.debug("slack http: " + format, *args)


def serve_http(slack: SlackApp, host: str = "127.0.0.1", port: int = 3000) -> WSGIServer:
    """A threaded HTTP server for Slack's requests at /slack/events (call serve_forever on it)."""
    handler = SlackRequestHandler(slack.app, path=EVENTS_PATH)
    return make_server(
        host, port, handler, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )


def start_socket(slack: SlackApp, app_token: str) -> None:
    """Connect over Socket Mode and serve until interrupted (needs an xapp-... token)."""
    if not app_token.startswith("xapp-"):
        raise InvalidInput(
            "Socket mode needs the app-level token (xapp-...).",
            "Create one under Basic Information > App-Level Tokens with connections:write, and set"
            " TUNESMITH_SLACK_APP_TOKEN.",
        )
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(slack.app, app_token).start()
