"""Where conversations live: LangGraph checkpoints in `<workspace>/threads.sqlite`, and the list
of threads (id, owner, title, times) in the registry's `threads` table for the doors to show.

One SQLite connection per session, opened with check_same_thread=False: SqliteSaver serialises
its own use of it with a lock, so a Gradio or Slack worker thread may drive the session. WAL
mode lets several sessions (and processes) share the file.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Any

from agent.events import ThreadInfo
from core.errors import InvalidInput
from core.workspace import Workspace, utc_now

TITLE_CHARS = 60
THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
"""Thread ids: uuid hex from new_thread_id, or a door's own (`slack:C0123:1700000000.0001`)."""


def check_thread_id(thread_id: str) -> str:
    """Refuse an id that could not have come from a door (empty, spaces, slashes, too long)."""
    if not isinstance(thread_id, str) or not THREAD_ID.match(thread_id):
        raise InvalidInput(
            f"Not a conversation id: {thread_id!r}.",
            "Use an id from `/threads` (letters, digits, '.', ':', '-', '_'; up to 128).",
        )
    return thread_id


def new_thread_id() -> str:
    """A fresh, unguessable thread id (it is also the checkpoint key)."""
    return uuid.uuid4().hex


def open_checkpointer(ws: Workspace) -> Any:
    """A SqliteSaver over the workspace's threads.sqlite, tables created on first use."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(ws.root / "threads.sqlite", check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def title_from(text: str) -> str:
    """A thread's title: the first words of its first message, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


def touch_thread(ws: Workspace, thread_id: str, owner: str, first_text: str) -> None:
    """Record the thread (title from its first message) or bump its updated_at."""
    now = utc_now()
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO threads(id, owner, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, "
            "title = CASE WHEN threads.title = '' THEN excluded.title ELSE threads.title END",
            (thread_id, owner, title_from(first_text), now, now),
        )


def thread_owner(ws: Workspace, thread_id: str) -> str | None:
    """The owner recorded for a thread, or None when it was never saved."""
    with ws.connect() as conn:
        row = conn.execute("SELECT owner FROM threads WHERE id = ?", (thread_id,)).fetchone()
    return None if row is None else row["owner"]


def list_threads(owner: str | None = None, ws: Workspace | None = None) -> list[ThreadInfo]:
    """Saved conversations, newest first; only `owner`'s when an owner is given."""
    ws = ws or Workspace.from_settings()
    query = "SELECT id, title, updated_at FROM threads"
    args: tuple = ()
    if owner is not None:
        query += " WHERE owner = ?"
        args = (owner,)
    with ws.connect() as conn:
        rows = conn.execute(query + " ORDER BY updated_at DESC, rowid DESC", args).fetchall()
    return [ThreadInfo(r["id"], r["title"], r["updated_at"]) for r in rows]
