"""Export a dataset version: OpenAI chat JSONL, a Hugging Face dataset folder, CSV, or plain JSONL.

Exports are what other tools train on, so each is written whole or not at all: files through
core.atomic, HF folders saved into a hidden sibling folder and renamed into place. Importing an
export gives back the same training content (the tests check it as a property): CSV and HF keep
`id` and `meta`, with `messages` and `meta` as JSON text in their cells, since neither format has
a faithful place for nested values; OpenAI chat JSONL holds only `messages`, as OpenAI requires.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.atomic import atomic_open, write_jsonl
from core.errors import InvalidInput
from tools.datasets.rows import row_format
from tools.datasets.store import DatasetRef, DatasetStore
from tools.datasets.validation import FORMAT_KEYS

EXPORT_FORMATS = ("openai", "hf", "csv", "jsonl")
_JSON_CELLS = ("messages", "meta")


@dataclass
class ExportReport:
    path: str
    fmt: str
    rows: int
    ref: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def openai_row(row: dict) -> dict:
    """A row as an OpenAI chat fine-tuning example: messages of role and content, nothing else."""
    fmt = row_format(row)
    if fmt == "messages":
        return {"messages": [{"role": m["role"], "content": m["content"]} for m in row["messages"]]}
    if fmt == "completion":
        return {
            "messages": [
                {"role": "user", "content": row["prompt"]},
                {"role": "assistant", "content": row["completion"]},
            ]
        }
    raise InvalidInput(
        "Text rows have no user turn, and OpenAI chat fine-tuning needs user and assistant turns.",
        "Export them as csv, hf or jsonl, or rebuild the dataset with prompts and completions.",
    )


def _columns(rows: list[dict]) -> list[str]:
    """id, the format's keys, and meta when any row has one (rows share one format)."""
    keys = list(FORMAT_KEYS[row_format(rows[0])]) if rows else []
    has_meta = any("meta" in row for row in rows)
    return ["id", *keys, *(["meta"] if has_meta else [])]


def _cell(row: dict, column: str) -> Any:
    value = row.get(column)
    if column in _JSON_CELLS and value is not None:
        return json.dumps(value, ensure_ascii=False)
    return value


def _refuse_existing(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise InvalidInput(f"{path} already exists.", "Pick another path, or allow overwriting.")


def export_openai(rows: list[dict], path: Path) -> None:
    write_jsonl(path, [openai_row(row) for row in rows])


def export_jsonl(rows: list[dict], path: Path) -> None:
    write_jsonl(path, rows)


def export_csv(rows: list[dict], path: Path) -> None:
    columns = _columns(rows)
    with atomic_open(path, "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if (c := _cell(row, col)) is None else c for col in columns])


def export_hf(rows: list[dict], path: Path) -> None:
    """`Dataset.save_to_disk` into a hidden sibling, then renamed over `path` in one step."""
    from datasets import Dataset

    columns = _columns(rows)
    dataset = Dataset.from_dict({col: [_cell(row, col) for row in rows] for col in columns})
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    staging = path.with_name(f".{path.name}.tmp-{tag}")
    retired = path.with_name(f".{path.name}.old-{tag}")
    try:
        dataset.save_to_disk(str(staging))
        if path.exists():
            os.replace(path, retired)
        os.replace(staging, path)
    finally:
        for leftover in (staging, retired):
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(leftover)


_BY_SUFFIX = {".jsonl": "openai", ".csv": "csv"}
_WRITERS = {"openai": export_openai, "jsonl": export_jsonl, "csv": export_csv, "hf": export_hf}


def guess_export_format(path: Path) -> str:
    """.jsonl -> openai (fmt="jsonl" writes Tunesmith's own rows), .csv -> csv, a folder -> hf."""
    suffix = path.suffix.lower()
    if path.is_dir() or not suffix:
        return "hf"
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    raise InvalidInput(
        f"Cannot tell which export format {path.name} is for.",
        f"Name it .jsonl or .csv, or a folder for hf; or give one of {', '.join(EXPORT_FORMATS)}.",
    )


def export_rows(
    rows: list[dict], path: str | Path, *, fmt: str | None = None, overwrite: bool = False
) -> ExportReport:
    """Write `rows` to `path` as `fmt` (guessed from the path when None)."""
    path = Path(path).expanduser()
    fmt = fmt or guess_export_format(path)
    if fmt not in _WRITERS:
        raise InvalidInput(
            f"Unknown export format {fmt!r}.", f"Use one of {', '.join(EXPORT_FORMATS)}."
        )
    _refuse_existing(path, overwrite)
    if fmt == "hf" and path.exists() and not path.is_dir():
        raise InvalidInput(f"{path} is a file; an HF dataset is a folder.", "Give a folder path.")
    if fmt != "hf" and path.is_dir():
        raise InvalidInput(f"{path} is a folder.", f"Give a file path for a {fmt} export.")
    _WRITERS[fmt](rows, path)
    return ExportReport(str(path.resolve()), fmt, len(rows))


def export_dataset(
    store: DatasetStore,
    ref: str | DatasetRef,
    path: str | Path,
    *,
    fmt: str | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Export one stored version (the latest when `ref` has no @vN)."""
    info, rows = store.read(ref)
    report = export_rows(rows, path, fmt=fmt, overwrite=overwrite)
    report.ref = info.ref
    store.ws.record_event("ds.export", info.ref, {"path": report.path, "fmt": report.fmt})
    return report
