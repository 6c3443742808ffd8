"""The Gradio workspace: the chat with the agent plus one tab per artifact kind.

Thin on purpose: each tab lives in ui/gradio/<tab>.py, calls tools directly and renders what
comes back; the chat renders AgentSession events. Served on 127.0.0.1 by default, with optional
auth; uploads are capped and copied into the workspace, the only folder the server serves.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.gradio import chat, data, evaluations, knowledge, playground, runs
from ui.gradio.uploads import DEFAULT_LIMIT_MB

TITLE = "Tunesmith"
TABS = (
    ("Knowledge", knowledge.build),
    ("Data", data.build),
    ("Runs", runs.build),
    ("Evaluations", evaluations.build),
    ("Playground", playground.build),
)


def build_app(
    agent_model: str | None = None, upload_limit_mb: float = DEFAULT_LIMIT_MB
) -> gr.Blocks:
    """The whole app; `agent_model` overrides TUNESMITH_AGENT_MODEL (None: the setting)."""
    handlers = chat.ChatHandlers(agent_model, upload_limit_mb)
    with gr.Blocks(title=TITLE, fill_width=True, analytics_enabled=False) as app:
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                start, start_outputs, start_inputs = chat.build(handlers)
            refreshes = []
            for name, build in TABS:
                with gr.Tab(name, id=name.lower()) as tab:
                    refresh, outputs = build()
                tab.select(refresh, outputs=outputs, api_name=False)
                refreshes.append((refresh, outputs))
        app.load(start, inputs=start_inputs, outputs=start_outputs, api_name=False)
        for refresh, outputs in refreshes:
            app.load(refresh, outputs=outputs, api_name=False)
    return app


def launch(
    app: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    auth: tuple[str, str] | None = None,
    upload_limit_mb: float = DEFAULT_LIMIT_MB,
    block: bool = True,
) -> Any:
    """Serve `app`: only the workspace may be served, uploads capped, never a share link."""
    from core.workspace import Workspace

    app.queue(default_concurrency_limit=4)
    return app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        allowed_paths=[str(Workspace.from_settings().root)],
        max_file_size=f"{upload_limit_mb:g}mb",
        prevent_thread_lock=not block,
        ssr_mode=False,
        quiet=True,
        show_error=True,  # a local tool: say what failed instead of a bare "Error"
        footer_links=[],
    )
