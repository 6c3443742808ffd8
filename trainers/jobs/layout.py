"""The files of one run folder, in one place, so the trainer, the job runner and the CLI agree.

    runs/<id>/recipe.yaml        the recipe plus what it resolved to (model folder, dataset file)
    runs/<id>/train.log          stdout and stderr of the job
    runs/<id>/metrics.jsonl      one JSON object per log (step, loss, learning rate, tokens/s...)
    runs/<id>/loss.png           loss and eval-loss curves
    runs/<id>/checkpoints/checkpoint-N/COMPLETE   written only after checkpoint N is on disk
    runs/<id>/final/             the adapter (LoRA) or model (full), plus the tokenizer
    runs/<id>/result.json        written last by a successful run: its commit point
    runs/<id>/error.json         written by a failed run: the cause and what to do
    runs/<id>/exit.json          written by the job's watcher: how the process ended

Only this module knows these names; nothing here imports torch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.atomic import write_text
from core.errors import InvalidInput, NotFound

COMPLETE_MARKER = "COMPLETE"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class RunPaths:
    """Where each file of a run lives, given the run folder."""

    root: Path

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.yaml"

    @property
    def log(self) -> Path:
        return self.root / "train.log"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def loss_png(self) -> Path:
        return self.root / "loss.png"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def final(self) -> Path:
        return self.root / "final"

    @property
    def result(self) -> Path:
        return self.root / "result.json"

    @property
    def error(self) -> Path:
        return self.root / "error.json"

    @property
    def exit(self) -> Path:
        return self.root / "exit.json"

    @property
    def cancel_request(self) -> Path:
        return self.root / "CANCEL"

    @property
    def accelerate_config(self) -> Path:
        return self.root / "accelerate.yaml"


# -- the run spec (recipe.yaml) ----------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """What a recipe's refs pointed at when the run was launched, so the job needs no lookups."""

    model_dir: str
    dataset_file: str
    dataset_ref: str
    dataset_sha256: str
    workspace: str = ""


def write_spec(paths: RunPaths, recipe: dict[str, Any], resolved: Resolved) -> None:
    """Write recipe.yaml: the recipe (every key, as `Recipe.to_dict` gives it) and `resolved`."""
    body = yaml.safe_dump(
        {"recipe": recipe, "resolved": resolved.__dict__}, sort_keys=False, allow_unicode=True
    )
    header = "# Written by Tunesmith when the run was launched; the job reads it back.\n"
    write_text(paths.recipe, header + body)


def read_spec(paths: RunPaths) -> tuple[dict[str, Any], Resolved]:
    """Read recipe.yaml back: (recipe data, resolved paths)."""
    if not paths.recipe.is_file():
        raise NotFound(
            f"{paths.recipe} does not exist.", "Launch runs with `tunesmith train`, not by hand."
        )
    data = yaml.safe_load(paths.recipe.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or "recipe" not in data or "resolved" not in data:
        raise InvalidInput(
            f"{paths.recipe} has no `recipe:` and `resolved:` sections.",
            "Launch the run again with `tunesmith train`.",
        )
    return dict(data["recipe"]), Resolved(**data["resolved"])


# -- checkpoints -------------------------------------------------------------------------------


def checkpoint_step(folder: Path) -> int | None:
    """The global step of a `checkpoint-N` folder, or None for anything else."""
    match = _CHECKPOINT.match(folder.name)
    return int(match.group(1)) if match else None


def complete_checkpoints(checkpoints: Path) -> list[Path]:
    """Checkpoints that carry the COMPLETE marker, oldest step first.

    A folder without the marker may be half written (the job died while saving): never use it.
    """
    if not checkpoints.is_dir():
        return []
    found = [
        (step, folder)
        for folder in checkpoints.iterdir()
        if (step := checkpoint_step(folder)) is not None and (folder / COMPLETE_MARKER).is_file()
    ]
    return [folder for _, folder in sorted(found)]


def last_complete_checkpoint(checkpoints: Path) -> Path | None:
    done = complete_checkpoints(checkpoints)
    return done[-1] if done else None


# -- small readers shared by the runner and the CLI --------------------------------------------


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it is missing or unreadable (a job may be mid-write)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every complete line of metrics.jsonl (a torn last line from a killed job is skipped)."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
