"""Uploaded files become tool calls: documents go to a knowledge base, datasets are imported.

A door saves the upload first (in the workspace's uploads/ folder) and passes the paths to
`AgentSession.send(text, files)`. The decision is made by content, not only by the name: a JSONL
or CSV file whose records look like training rows (messages, prompt/completion, text,
input/output...) is a dataset; any other file is a document for the current knowledge base (or
kb:uploads). The calls run through the graph like any other, so approvals and history apply.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage

from core.errors import InvalidInput, NotFound

UPLOAD_KB = "uploads"
UPLOAD_NOTE = "Uploaded files:"
UPLOAD_CALL_PREFIX = "upload-"
DATASET_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv")
ROW_KEYS = {
    "messages",
    "prompt",
    "completion",
    "text",
    "instruction",
    "input",
    "output",
    "question",
    "answer",
    "response",
}
SNIFF_LINES = 5


def looks_like_dataset(path: Path) -> bool:
    """True when the file's first records carry training-row fields."""
    if path.suffix.lower() not in DATASET_SUFFIXES:
        return False
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            if path.suffix.lower() in (".csv", ".tsv"):
                delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
                header = next(csv.reader(handle, delimiter=delimiter), [])
                columns = {c.strip().lower() for c in header}
                return len(columns & ROW_KEYS) >= 2 or "messages" in columns
            records = []
            for line in handle:
                if line.strip():
                    records.append(json.loads(line))
                if len(records) >= SNIFF_LINES:
                    break
    except (OSError, ValueError, csv.Error):
        return False
    return bool(records) and all(isinstance(r, dict) and set(r) & ROW_KEYS for r in records)


def upload_calls(
    files: list[Path], position: dict[str, Any], registry: Any, ws: Any
) -> tuple[str, AIMessage]:
    """(a note for the conversation, an AI message carrying the tool calls that take the files)."""
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise NotFound(
            f"Uploaded file(s) not found: {', '.join(missing)}.", "Upload the file(s) again."
        )
    datasets = [f for f in files if looks_like_dataset(f)]
    documents = [f for f in files if f not in datasets]
    calls = []
    if documents:
        _require(registry, "add_documents")
        kb = str(position.get("kb") or UPLOAD_KB).removeprefix("kb:")
        calls.append(_call("add_documents", {"paths": [str(f) for f in documents], "kb": kb}))
    for file in datasets:
        _require(registry, "import_dataset")
        calls.append(_call("import_dataset", {"paths": [str(file)]}))
    lines = [f"- {f.name}: document, added to a knowledge base" for f in documents]
    lines += [f"- {f.name}: dataset, imported" for f in datasets]
    note = UPLOAD_NOTE + "\n" + "\n".join(lines)
    return note, AIMessage(content="", tool_calls=calls)


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "args": args,
        "id": f"{UPLOAD_CALL_PREFIX}{uuid.uuid4().hex[:12]}",
        "type": "tool_call",
    }


def _require(registry: Any, name: str) -> None:
    if name not in registry.names():
        raise InvalidInput(
            f"This assistant has no {name} tool, so it cannot take that upload.",
            "Install the built-in tools (pip install -e .) or remove the file.",
        )
