"""Versioned schema migrations for the registry (`registry.sqlite`).

The schema version lives in SQLite's `user_version`. Each migration runs once, inside one
transaction together with the version bump, so a crash leaves either the old schema or the new.
Later features append migrations; existing ones are never edited.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the catalogue of artifacts and an append-only event log.
    """
    CREATE TABLE projects (
        name        TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        use_case    TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE knowledge_bases (
        name        TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        summary     TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        kind        TEXT NOT NULL,
        artifact    TEXT NOT NULL,
        payload     TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_artifact ON events(artifact, id);
    """,
    # 2: datasets and their immutable versions (lineage: parent, operation, parameters).
    """
    CREATE TABLE datasets (
        name        TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE dataset_versions (
        dataset     TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
        version     INTEGER NOT NULL,
        parent      INTEGER,
        operation   TEXT NOT NULL,
        params      TEXT NOT NULL DEFAULT '{}',
        summary     TEXT NOT NULL DEFAULT '{}',
        rows        INTEGER NOT NULL,
        sha256      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (dataset, version)
    );
    """,
    # 3: training runs and their status (the job runner's source of truth).
    """
    CREATE TABLE runs (
        id           TEXT PRIMARY KEY,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        status       TEXT NOT NULL,
        base_model   TEXT NOT NULL,
        dataset      TEXT NOT NULL,
        method       TEXT NOT NULL,
        request_key  TEXT NOT NULL,
        backend      TEXT NOT NULL DEFAULT 'local',
        device       TEXT NOT NULL DEFAULT 'cpu',
        pid          INTEGER,
        pgid         INTEGER,
        started_at   TEXT,
        ended_at     TEXT,
        exit_code    INTEGER,
        cause        TEXT NOT NULL DEFAULT '',
        summary      TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX runs_by_status ON runs(status, created_at);
    CREATE INDEX runs_by_request ON runs(request_key);
    """,
    # 4: what the job runner needs to name a process and restart a run: the process's start time
    # (a pid alone may be reused), the attempt number (each start or resume is one), and the
    # checkpoint a queued resume starts from.
    """
    ALTER TABLE runs ADD COLUMN proc_start INTEGER;
    ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN resume_from TEXT NOT NULL DEFAULT ''
    """,
    # 5: evaluations: one model on one dataset split; the files live in evals/<id>/.
    """
    CREATE TABLE evals (
        id          TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        model       TEXT NOT NULL,
        dataset     TEXT NOT NULL,
        split       TEXT NOT NULL,
        summary     TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX evals_by_dataset ON evals(dataset, split, created_at)
    """,
    # 6: prompt-lab experiments (files in experiments/<id>/) and agent conversation threads (the
    # checkpoints themselves live in threads.sqlite; this is the list a door shows, with owners so
    # two browser sessions never see each other's threads).
    """
    CREATE TABLE experiments (
        id          TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        project     TEXT NOT NULL,
        models      TEXT NOT NULL,
        summary     TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE threads (
        id          TEXT PRIMARY KEY,
        owner       TEXT NOT NULL DEFAULT '',
        title       TEXT NOT NULL DEFAULT '',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX threads_by_owner ON threads(owner, updated_at)
    """,
]


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's version; return the final version."""
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        from core.errors import TunesmithError

        raise TunesmithError(
            f"The workspace registry is at schema version {current}, newer than this Tunesmith "
            f"knows ({len(MIGRATIONS)}).",
            "Upgrade Tunesmith, or point TUNESMITH_HOME at another folder.",
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        script = MIGRATIONS[version - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)
