"""What every tab shares: the workspace, errors shown as Gradio errors, small Markdown helpers.

Tabs call tools directly and render what comes back; a TunesmithError becomes a `gr.Error` that
says what was wrong and what to do, so a bad input never shows a Python traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from core.errors import TunesmithError
from core.workspace import Workspace

CELL_CHARS = 160


def workspace() -> Workspace:
    """The workspace of the current settings (read per call, so tests can point it elsewhere)."""
    return Workspace.from_settings()


def explain(error: TunesmithError) -> str:
    """One line for a person: what was wrong and, when known, what to do."""
    return f"{error.message} {error.hint}".strip() if error.hint else error.message


def shows_errors(fn: Callable) -> Callable:
    """Turn Tunesmith errors raised by a handler into a Gradio error toast."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TunesmithError as error:
            raise gr.Error(explain(error)) from error

    return wrapper


def clip(value: Any, limit: int = CELL_CHARS) -> str:
    """A value as one short table cell (newlines and pipes would break a Markdown table)."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; empty string when there are no rows."""
    if not rows:
        return ""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(clip(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: Any) -> str:
    """Numbers to 4 significant digits, everything else as text."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)
