"""`export_run`: a tuned run as a folder that works outside Tunesmith, with its model card.

What goes in the folder:
- a LoRA run: the adapter (adapter_config.json, adapter_model.safetensors) and the tokenizer;
- `merge=True` (LoRA): the base with the adapter folded in (peft `merge_and_unload`), saved as a
  plain safetensors model folder with the tokenizer: loads with `from_pretrained`, no peft needed;
- a full run: the model folder as trained;
- always README.md (the model card, tools/export/card.py) and export.json (what was exported);
- `gguf=True`: `<run_id>.gguf` through llama.cpp's converter (tools/export/gguf.py). GGUF needs a
  whole model, so on a LoRA run it implies the merge.

The folder is built under a temporary name beside the destination and renamed into place at the
end, so an interrupted export leaves no half folder; a previous export to the same place is
replaced only once the new one is complete. A destination that holds anything else is refused.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.atomic import write_json, write_text
from core.errors import InvalidInput
from core.workspace import Workspace, utc_now

MANIFEST = "export.json"
CARD = "README.md"
SKIPPED_FILES = frozenset({"training_args.bin", CARD})  # a pickle, and peft's stub card


@dataclass
class ExportResult:
    """Where the export is, what is in it, and anything the person should know."""

    run_id: str
    path: Path
    kind: str  # "adapter", "merged" or "full"
    files: list[str]
    card_path: Path
    gguf_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "kind": self.kind,
            "files": self.files,
            "card_path": str(self.card_path),
            "gguf_path": str(self.gguf_path) if self.gguf_path else None,
            "notes": self.notes,
        }


ARTIFACT_NAMES = {"adapter": "LoRA adapter", "merged": "merged model", "full": "full model"}


def export_run(
    run_id: str,
    *,
    merge: bool = False,
    gguf: bool = False,
    out_dir: str | Path | None = None,
    ws: Workspace | None = None,
) -> ExportResult:
    """Export succeeded run `run_id` (default destination `<workspace>/exports/<id>[-merged]/`)."""
    from core.models.tuned import resolve_run
    from tools.export.card import gather_facts, render_card
    from tools.playground import workspace_settings
    from trainers.jobs import runner
    from trainers.jobs.registry import get_run

    ws = ws or Workspace.from_settings()
    run_id = (run_id or "").strip().removeprefix("run:")
    if not run_id:
        raise InvalidInput("No run id given.", "`tunesmith runs list` shows the runs.")
    runner.refresh(ws)  # a job that ended since the last command is marked so first
    tuned = resolve_run(f"run:{run_id}", workspace_settings(ws))
    run = get_run(ws, run_id)

    notes: list[str] = []
    if tuned.is_adapter:
        kind = "merged" if merge or gguf else "adapter"
        if gguf and not merge:
            notes.append("GGUF needs a whole model, so the adapter was merged into its base.")
    else:
        kind = "full"
        if merge:
            notes.append("This is a full fine-tune: the folder is already a whole model.")
    default_name = run_id + ("-merged" if kind == "merged" else "")
    dest = _destination(ws, out_dir, default_name)

    staging = dest.parent / f".{dest.name}.partial-{secrets.token_hex(3)}"
    try:
        staging.mkdir(parents=True)
        if kind == "merged":
            _save_merged(f"run:{run_id}", staging, ws)
        else:
            _copy_folder(tuned.folder, staging)
        facts = gather_facts(ws, run, tuned, ARTIFACT_NAMES[kind])
        write_text(staging / CARD, render_card(facts))
        gguf_name = None
        if gguf:
            from tools.export.gguf import convert

            outcome = convert(staging, staging / f"{run_id}.gguf")
            notes.append(outcome.note)
            gguf_name = outcome.path.name if outcome.path else None
        write_json(
            staging / MANIFEST,
            {
                "run": f"run:{run_id}",
                "kind": kind,
                "base_model": facts.base_ref,
                "dataset": facts.dataset,
                "exported_at": utc_now(),
                "gguf": gguf_name,
                "notes": notes,
            },
        )
        _swap_into_place(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    ws.record_event("run.export", f"run:{run_id}", {"path": str(dest), "kind": kind})
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    return ExportResult(
        run_id,
        dest,
        kind,
        files,
        dest / CARD,
        dest / gguf_name if gguf_name else None,
        notes,
    )


def _destination(ws: Workspace, out_dir: str | Path | None, default_name: str) -> Path:
    """The export folder; one that exists must be empty or an earlier export (it is replaced)."""
    dest = ws.artifact_dir("exports", default_name) if out_dir is None else Path(out_dir)
    dest = dest.expanduser().resolve()
    if dest.exists():
        if not dest.is_dir():
            raise InvalidInput(f"{dest} is a file, not a folder.", "Pass --out a folder path.")
        if any(dest.iterdir()) and not (dest / MANIFEST).is_file():
            raise InvalidInput(
                f"{dest} already holds files that are not a Tunesmith export.",
                "Pass --out an empty or new folder; nothing was written.",
            )
    return dest


def _copy_folder(source: Path, staging: Path) -> None:
    """The run's final/ folder, minus the files that make no sense outside the run."""
    for item in sorted(source.iterdir()):
        if item.name in SKIPPED_FILES or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, staging / item.name)
        else:
            shutil.copy2(item, staging / item.name)


def _save_merged(ref: str, staging: Path, ws: Workspace) -> None:
    """Load base + adapter merged (as `run:` refs load for generation) and save a plain model."""
    from core.models.registry import load_engine
    from tools.playground import workspace_settings

    engine = load_engine(ref, workspace_settings(ws))
    engine.model.save_pretrained(staging)
    engine.tokenizer.save_pretrained(staging)


def _swap_into_place(staging: Path, dest: Path) -> None:
    """Rename the finished folder to `dest`; an earlier export there is removed only after."""
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old-{secrets.token_hex(3)}"
        dest.rename(old)
    try:
        staging.rename(dest)
    except BaseException:
        if old is not None:
            old.rename(dest)
        raise
    if old is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)
