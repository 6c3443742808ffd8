"""Saved evaluations: `evals/<id>/` plus one registry row, so every door can point at `eval:<id>`.

    evals/<id>/rows.jsonl     one line per example: input, reference, output, scores, cost, error
    evals/<id>/summary.json   model, dataset, split, n, aggregates with intervals, cost
    evals/<id>/report.md      the human-readable report
    evals/<id>/report.html    the same with plots, self-contained (inline PNGs, no URLs)
    evals/<id>/loss-*.png     the training loss curve, when the model is a run: ref

Files are written atomically first; the registry row is the commit point, so a crash leaves at
worst an unlisted folder, never a listed eval with missing files.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.atomic import write_json, write_jsonl, write_text
from core.errors import NotFound
from core.workspace import Workspace, utc_now
from tools.evaluation.runner import EvalResult


@dataclass
class SavedEval:
    """One stored evaluation: its id, folder, summary and (when loaded) per-example rows."""

    id: str
    path: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def report_path(self) -> Path:
        return self.path / "report.md"

    @property
    def html_path(self) -> Path:
        return self.path / "report.html"


def new_eval_id() -> str:
    """`e-YYYYMMDD-HHMMSS-xxxx`: sorts by time, and the random tail keeps parallel evals apart."""
    return f"e-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _strip(eval_id: str) -> str:
    return eval_id.strip().removeprefix("eval:")


class EvalStore:
    """Reads and writes the evaluations of one workspace."""

    def __init__(self, ws: Workspace | None = None) -> None:
        self.ws = ws or Workspace.from_settings()

    def save(self, result: EvalResult) -> SavedEval:
        """Write the files and the registry row of a finished eval; return it with its id."""
        from tools.evaluation.html import render_eval_html
        from tools.evaluation.plots import eval_images
        from tools.evaluation.report import render_report

        eval_id = new_eval_id()
        folder = self.ws.artifact_dir("evals", eval_id)
        summary = {"id": eval_id, "created_at": utc_now(), **result.summary}
        write_jsonl(folder / "rows.jsonl", result.rows)
        write_json(folder / "summary.json", summary)
        write_text(folder / "report.md", render_report(summary, result.rows))
        saved = SavedEval(eval_id, folder, summary, result.rows)
        images = eval_images([saved], self.ws, folder)
        write_text(saved.html_path, render_eval_html(summary, result.rows, images))
        with self.ws.transaction() as conn:
            conn.execute(
                "INSERT INTO evals(id, created_at, model, dataset, split, summary) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    eval_id,
                    summary["created_at"],
                    result.model,
                    result.dataset,
                    result.split,
                    json.dumps(summary, ensure_ascii=False),
                ),
            )
        self.ws.record_event("eval.done", f"eval:{eval_id}", {"model": result.model})
        return saved

    def load(self, eval_id: str) -> SavedEval:
        """A saved eval with its rows, or NotFound naming the command that lists them."""
        eval_id = _strip(eval_id)
        with self.ws.connect() as conn:
            row = conn.execute("SELECT id FROM evals WHERE id = ?", (eval_id,)).fetchone()
        if row is None:
            raise NotFound(
                f"There is no evaluation {eval_id!r}.",
                "`tunesmith eval MODEL --data NAME@vN` makes one and prints its id.",
            )
        folder = self.ws.artifact_dir("evals", eval_id)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        with open(folder / "rows.jsonl", encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return SavedEval(eval_id, folder, summary, rows)
