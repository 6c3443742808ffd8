"""`run:<id>` refs: a model tuned here, found from the workspace's runs table and run folder.

A run's `final/` folder holds either a PEFT adapter (`adapter_config.json`, LoRA runs) plus the
tokenizer, or a whole model folder (full runs). Core imports nothing from trainers/, so the run is
read straight from the workspace: the `runs` row (status, base model, method) in registry.sqlite
and the folder `runs/<id>/final/`. Resolving touches no weights and never imports torch; loading
an adapter (base model + adapter, merged for fast generation) happens in `load_adapter_model`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelUnavailable, NotFound
from core.models.refs import ModelRef, parse_ref
from core.settings import Settings, get_settings
from core.workspace import Workspace

ADAPTER_CONFIG = "adapter_config.json"
MODEL_CONFIG = "config.json"
RUNS_HINT = "`tunesmith runs list` shows the runs"


class UnknownRun(NotFound, ModelUnavailable):
    """No run has this id: a NotFound, and (for callers of load_engine) a ModelUnavailable."""


@dataclass(frozen=True)
class TunedModel:
    """A succeeded run's model: its base ref, training method, and its `final/` folder."""

    run_id: str
    base_ref: str
    method: str
    folder: Path

    @property
    def ref(self) -> str:
        return f"run:{self.run_id}"

    def trained_on(self) -> Path | None:
        """The model folder the run was launched on (recipe.yaml's resolved.model_dir), if any.

        A run records its base as typed (`hf:./model` is relative to where it was launched), so
        this absolute folder finds the base again from anywhere. None if unrecorded or gone.
        """
        import yaml

        try:
            data = yaml.safe_load((self.folder.parent / "recipe.yaml").read_text("utf-8"))
            folder = Path(str(data["resolved"]["model_dir"]))
        except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
            return None
        return folder if (folder / MODEL_CONFIG).is_file() else None

    @property
    def is_adapter(self) -> bool:
        """True when final/ is a PEFT adapter (LoRA); False for a whole model folder."""
        return (self.folder / ADAPTER_CONFIG).is_file()


@dataclass(frozen=True)
class RunRow:
    """The few columns of a `runs` row that model loading needs."""

    id: str
    status: str
    base_model: str
    method: str
    ended_at: str | None


def _workspace(settings: Settings) -> Workspace | None:
    """The workspace if it has a registry yet; None (and nothing created) otherwise."""
    if not (settings.workspace_dir / "registry.sqlite").is_file():
        return None
    return Workspace(settings.workspace_dir)


def _rows(ws: Workspace, where: str = "", args: tuple = ()) -> list[RunRow]:
    query = "SELECT id, status, base_model, method, ended_at FROM runs"
    with ws.connect() as conn:
        found = conn.execute(f"{query} {where} ORDER BY created_at, id", args).fetchall()
    return [RunRow(*tuple(r)) for r in found]


def succeeded_runs(settings: Settings | None = None) -> list[tuple[RunRow, Path]]:
    """Succeeded runs, oldest first, with their final/ folders (checked by the caller).

    Reads the registry only: nothing is loaded, and a workspace without a registry has no runs.
    """
    settings = settings or get_settings()
    try:
        ws = _workspace(settings)
        if ws is None:
            return []
        rows = _rows(ws, "WHERE status = ?", ("succeeded",))
        return [(row, ws.artifact_dir("runs", row.id) / "final") for row in rows]
    except sqlite3.Error:  # an unreadable registry means "no runs to offer", not a crash
        return []


def final_problem(folder: Path) -> str | None:
    """Why `folder` cannot be a run's model (None when it holds an adapter or a model)."""
    if not folder.is_dir():
        return f"its model folder {folder} is missing"
    if not (folder / ADAPTER_CONFIG).is_file() and not (folder / MODEL_CONFIG).is_file():
        return f"its model folder {folder} has neither {ADAPTER_CONFIG} nor {MODEL_CONFIG}"
    return None


def resolve_run(ref: str | ModelRef, settings: Settings | None = None) -> TunedModel:
    """The succeeded run behind `run:<id>`, with its final/ folder checked; nothing is loaded.

    Raises UnknownRun (a NotFound and a ModelUnavailable) for an id with no run, and
    ModelUnavailable for a run that has not succeeded or whose final/ folder is gone.
    """
    settings = settings or get_settings()
    parsed = ref if isinstance(ref, ModelRef) else parse_ref(ref)
    if parsed.scheme != "run":
        raise ModelUnavailable(f"{parsed.canonical} is not a run: ref.", "Write run:<id>.")
    run_id = parsed.target
    ws = _workspace(settings)
    rows = _rows(ws, "WHERE id = ?", (run_id,)) if ws is not None else []
    if not rows:
        raise UnknownRun(
            f"There is no run {run_id} in {settings.workspace_dir}, so {parsed.canonical} "
            "cannot be loaded.",
            f"{RUNS_HINT}; a model folder made elsewhere loads with hf:<folder>.",
        )
    row = rows[0]
    if row.status != "succeeded":
        if row.status in ("queued", "running"):
            hint = f"Wait for it: tunesmith runs logs {run_id} -f"
        else:
            hint = (
                f"`tunesmith runs logs {run_id}` shows what happened; `tunesmith runs resume "
                f"{run_id}` retries it, or pick a succeeded run ({RUNS_HINT})."
            )
        raise ModelUnavailable(
            f"{parsed.canonical} is {row.status}, so it has no tuned model yet.", hint
        )
    assert ws is not None
    folder = ws.artifact_dir("runs", run_id) / "final"
    problem = final_problem(folder)
    if problem is not None:
        raise ModelUnavailable(
            f"{parsed.canonical} succeeded, but {problem}.",
            f"It was moved or deleted by hand; train again with `tunesmith train` ({RUNS_HINT}).",
        )
    return TunedModel(run_id, row.base_model, row.method, folder)


def load_adapter_model(tuned: TunedModel, base_source: str | Path, dtype: Any) -> tuple[Any, Any]:
    """(model, tokenizer) for a LoRA run: the base at `base_source` with the adapter merged in.

    Merging (`merge_and_unload`) folds the adapter into the base weights, so generation runs at
    the base model's speed. The tokenizer saved in final/ is used (the base's if it has none).
    """
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelUnavailable(
            f"{tuned.ref} is a LoRA adapter, and loading one needs the package peft.",
            "Install it with: pip install peft",
        ) from exc
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = str(tuned.folder)
    has_tokenizer = (tuned.folder / "tokenizer_config.json").is_file()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder if has_tokenizer else str(base_source))
        base = AutoModelForCausalLM.from_pretrained(str(base_source), dtype=dtype)
        model = PeftModel.from_pretrained(base, folder).merge_and_unload()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelUnavailable(
            f"Could not load {tuned.ref} (adapter {folder} on {tuned.base_ref}): {exc}",
            f"Check that {tuned.base_ref} is still the model this run was trained from.",
        ) from exc
    return model, tokenizer
