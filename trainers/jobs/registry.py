"""The `runs` table: the one truth about every run's status, read and written here only.

Status moves queued -> running -> succeeded | failed | cancelled, and failed/cancelled -> queued
again on resume. Every change of a running run is conditional on (status, attempt), so the job's
watcher, a status refresh and a cancel can race and exactly one of them wins.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import NotFound
from core.workspace import Workspace, utc_now
from trainers.jobs.layout import RunPaths

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass
class RunInfo:
    """One row of the runs table, plus where its folder is."""

    id: str
    status: str
    base_model: str
    dataset: str
    method: str
    request_key: str
    backend: str = "local"
    device: str = "cpu"
    cause: str = ""
    pid: int | None = None
    pgid: int | None = None
    proc_start: int | None = None
    attempt: int = 0
    resume_from: str = ""
    exit_code: int | None = None
    created_at: str = ""
    updated_at: str = ""
    started_at: str | None = None
    ended_at: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    run_dir: Path = field(default=Path())
    duplicate: bool = False  # set by launch: this request was already queued, running or done

    @property
    def paths(self) -> RunPaths:
        return RunPaths(self.run_dir)

    @property
    def ref(self) -> str:
        return f"run:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "run_dir"}
        return {**data, "run_dir": str(self.run_dir)}


def new_run_id() -> str:
    """`r-YYYYMMDD-HHMMSS-xxxx`: sorts by creation time, unique enough with 16 random bits."""
    return f"r-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _info(ws: Workspace, row: sqlite3.Row) -> RunInfo:
    data = dict(row)
    data["summary"] = json.loads(data.get("summary") or "{}")
    return RunInfo(**data, run_dir=ws.artifact_dir("runs", data["id"]))


def get_run(ws: Workspace, run_id: str) -> RunInfo:
    run_id = run_id.removeprefix("run:")
    with ws.connect() as conn:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no run {run_id}.", "`tunesmith runs list` shows the runs.")
    return _info(ws, row)


def list_runs(ws: Workspace, statuses: tuple[str, ...] = ()) -> list[RunInfo]:
    """Runs, oldest first (optionally only those in `statuses`)."""
    query, args = "SELECT * FROM runs", ()
    if statuses:
        query += f" WHERE status IN ({','.join('?' * len(statuses))})"
        args = statuses
    with ws.connect() as conn:
        rows = conn.execute(query + " ORDER BY created_at, id", args).fetchall()
    return [_info(ws, r) for r in rows]


def insert_run(conn: sqlite3.Connection, run: RunInfo) -> None:
    now = utc_now()
    run.created_at = run.updated_at = now
    conn.execute(
        "INSERT INTO runs(id, created_at, updated_at, status, base_model, dataset, method, "
        "request_key, backend, device, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run.id,
            now,
            now,
            run.status,
            run.base_model,
            run.dataset,
            run.method,
            run.request_key,
            run.backend,
            run.device,
            json.dumps(run.summary),
        ),
    )


def update_run(
    conn: sqlite3.Connection, run_id: str, *, where: dict[str, Any] | None = None, **values: Any
) -> bool:
    """Set `values` on one run, only if it still matches `where`; True if it did."""
    if "summary" in values:
        values["summary"] = json.dumps(values["summary"], ensure_ascii=False, default=str)
    values["updated_at"] = utc_now()
    sets = ", ".join(f"{k} = ?" for k in values)
    conditions = "".join(f" AND {k} = ?" for k in (where or {}))
    cursor = conn.execute(
        f"UPDATE runs SET {sets} WHERE id = ?{conditions}",
        (*values.values(), run_id, *(where or {}).values()),
    )
    return cursor.rowcount == 1


def find_request(
    conn: sqlite3.Connection, request_key: str, statuses: tuple[str, ...]
) -> str | None:
    """The newest run of the same request in one of `statuses`, if any."""
    marks = ",".join("?" * len(statuses))
    row = conn.execute(
        f"SELECT id FROM runs WHERE request_key = ? AND status IN ({marks}) "
        "ORDER BY created_at DESC LIMIT 1",
        (request_key, *statuses),
    ).fetchone()
    return row["id"] if row else None
