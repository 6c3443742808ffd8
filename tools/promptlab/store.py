"""Saved experiments: `experiments/<id>/` plus one row of the registry's `experiments` table.

A prompt-lab experiment writes template.yaml, results.jsonl, summary.json, matrix.md and
matrix.html; a hyper-parameter sweep (tools.tuning.sweep) writes summary.json only. Both are
experiments so `tunesmith prompt list` and every door find them in one place; `summary["kind"]`
("prompt" or "sweep") tells them apart. Files are written atomically first and the registry row
is the commit point, as for evaluations: a crash leaves at worst an unlisted folder.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.atomic import write_json, write_jsonl, write_text
from core.errors import NotFound
from core.names import validate_name
from core.workspace import Workspace, utc_now

PROMPT = "prompt"
SWEEP = "sweep"


@dataclass
class SavedExperiment:
    """One stored experiment: id, folder, summary, and (when loaded) its result rows."""

    id: str
    path: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.summary.get("kind", PROMPT)

    @property
    def md_path(self) -> Path:
        return self.path / "matrix.md"

    @property
    def html_path(self) -> Path:
        return self.path / "matrix.html"

    @property
    def results_path(self) -> Path:
        return self.path / "results.jsonl"


def new_experiment_id(kind: str = PROMPT) -> str:
    """`x-…` (prompt) or `sw-…` (sweep) + UTC time + random tail: sorts by time, never collides."""
    prefix = "sw" if kind == SWEEP else "x"
    return f"{prefix}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class ExperimentStore:
    """Reads and writes the experiments of one workspace."""

    def __init__(self, ws: Workspace | None = None) -> None:
        self.ws = ws or Workspace.from_settings()

    def save(
        self,
        summary: dict[str, Any],
        *,
        project: str,
        models: list[str],
        rows: list[dict[str, Any]] | None = None,
        texts: dict[str, str] | None = None,
    ) -> SavedExperiment:
        """Write `texts` (file name -> content), rows and summary, then the registry row.

        The summary's `id` and `created_at` are kept when given (a matrix that prints its own id
        is rendered before the save), else made here.
        """
        kind = summary.get("kind", PROMPT)
        summary = {"id": new_experiment_id(kind), "kind": kind, "created_at": utc_now(), **summary}
        exp_id = summary["id"]
        folder = self.ws.artifact_dir("experiments", exp_id)
        for name, text in (texts or {}).items():
            write_text(folder / validate_name(name, "file name"), text)
        if rows is not None:
            write_jsonl(folder / "results.jsonl", rows)
        write_json(folder / "summary.json", summary)
        with self.ws.transaction() as conn:
            conn.execute(
                "INSERT INTO experiments(id, created_at, project, models, summary) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    exp_id,
                    summary["created_at"],
                    project,
                    json.dumps(models, ensure_ascii=False),
                    json.dumps(summary, ensure_ascii=False),
                ),
            )
        self.ws.record_event(f"experiment.{kind}", f"exp:{exp_id}", {"models": models})
        return SavedExperiment(exp_id, folder, summary, rows or [])

    def load(self, exp_id: str, kind: str | None = None) -> SavedExperiment:
        """A saved experiment with its rows (id with or without `exp:`); NotFound when missing."""
        exp_id = exp_id.strip().removeprefix("exp:").removeprefix("experiment:")
        with self.ws.connect() as conn:
            row = conn.execute("SELECT summary FROM experiments WHERE id = ?", (exp_id,)).fetchone()
        found = row is not None and (kind is None or json.loads(row["summary"]).get("kind") == kind)
        if not found:
            what = "sweep" if kind == SWEEP else "experiment"
            raise NotFound(
                f"There is no {what} {exp_id!r}.", "`tunesmith prompt list` shows them all."
            )
        folder = self.ws.artifact_dir("experiments", exp_id)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        saved = SavedExperiment(exp_id, folder, summary)
        if saved.results_path.is_file():
            lines = saved.results_path.read_text(encoding="utf-8").splitlines()
            saved.rows = [json.loads(line) for line in lines if line.strip()]
        return saved

    def list(self, project: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Registry rows, newest first: id, created_at, project, models, summary."""
        query, args = "SELECT * FROM experiments", ()
        if project:
            query, args = query + " WHERE project = ?", (project,)
        with self.ws.connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at DESC, id DESC", args).fetchall()
        found = [
            {**dict(r), "models": json.loads(r["models"]), "summary": json.loads(r["summary"])}
            for r in rows
        ]
        return [r for r in found if kind is None or r["summary"].get("kind", PROMPT) == kind]
