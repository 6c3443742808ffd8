"""The workspace: one folder that holds everything Tunesmith makes.

`registry.sqlite` (WAL) catalogues artifacts and keeps an event log; files live in per-kind
folders (`kb/<name>/`, `datasets/<name>/`, `runs/<id>/`, `evals/<id>/`, `models/`). Writers take a
named lock so two processes never interleave writes to the same artifact; every file write goes
through core.atomic. Names pass core.names before they become paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.locks import exclusive_lock
from core.migrations import migrate
from core.names import validate_name
from core.settings import Settings, get_settings

ARTIFACT_FOLDERS = (
    "kb",
    "datasets",
    "runs",
    "evals",
    "models",
    "experiments",
    "exports",
    "uploads",
)


def utc_now() -> str:
    """A sortable UTC timestamp for registry rows."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Workspace:
    """A Tunesmith workspace rooted at one folder (created on first use)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.registry_path = self.root / "registry.sqlite"
        with self.connect() as conn:
            migrate(conn)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Workspace:
        return cls((settings or get_settings()).workspace_dir)

    # -- files ---------------------------------------------------------------------------------

    def artifact_dir(self, folder: str, name: str) -> Path:
        """The folder of one artifact, e.g. `kb/<name>`; the name is validated first."""
        if folder not in ARTIFACT_FOLDERS:
            raise InvalidInput(
                f"Unknown artifact folder {folder!r}.", f"Use one of {ARTIFACT_FOLDERS}."
            )
        path = self.root / folder / validate_name(name)
        self.ensure_inside(path)
        return path

    def ensure_inside(self, path: Path) -> Path:
        """Refuse any path that resolves outside the workspace (symlinks included)."""
        resolved = path.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise InvalidInput(f"{path} is outside the workspace {self.root}.", "Use a plain name.")
        return resolved

    # -- registry ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A registry connection in WAL mode; commits on success, rolls back on error."""
        conn = sqlite3.connect(self.registry_path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE) that commits or rolls back as a whole."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def record_event(self, kind: str, artifact: str, payload: dict[str, Any] | None = None) -> None:
        """Append to the event log (what happened to which artifact, and when)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO events(at, kind, artifact, payload) VALUES (?, ?, ?, ?)",
                (utc_now(), kind, artifact, json.dumps(payload or {}, ensure_ascii=False)),
            )

    def events(self, artifact: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = "SELECT at, kind, artifact, payload FROM events"
        args: tuple = ()
        if artifact:
            query += " WHERE artifact = ?"
            args = (artifact,)
        with self.connect() as conn:
            rows = conn.execute(query + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]

    # -- locking -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        """Hold an exclusive, process-wide lock named `name` (e.g. `kb-docs`).

        The OS drops an flock when its holder dies, so a killed writer never leaves a stale lock.
        """
        path = self.root / "locks" / f"{validate_name(name, 'lock name')}.lock"
        with exclusive_lock(
            path,
            timeout,
            busy=f"'{name}' is being changed by another Tunesmith process",
            hint="Wait for it to finish, or stop that process, then try again.",
        ):
            yield
