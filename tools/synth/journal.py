"""The job file: an append-only JSONL record of finished items, so a killed job resumes.

    <home>/synth/<dataset>/<job key>.partial.jsonl

The first line describes the job (for people reading it); every later line is one finished item,
kept (with its row) or rejected (with the reason). Each batch is appended with a single write,
flushed and fsynced, so a kill -9 loses at most the batch in flight. A kill in the middle of that
write can leave a last line without its newline: it is cut off before the next append (otherwise
the next record would be glued onto it), and any line that does not parse is ignored.

The key hashes everything that shapes the rows (strategy, knowledge base generation, input files'
content, model, n, seed, prompt version...), so the same command finds its own file and a changed
one starts afresh. Batch size is deliberately not part of it: resuming with another is fine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from core.names import validate_name
from core.workspace import Workspace

SUFFIX = ".partial.jsonl"


def job_key(parts: dict[str, Any]) -> str:
    """A short, stable hash of the job's defining parameters."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def job_path(ws: Workspace, dataset: str, key: str) -> Path:
    """Where the job file of `key` lives (inside the workspace, name checked)."""
    path = ws.root / "synth" / validate_name(dataset, "dataset name") / f"{key}{SUFFIX}"
    ws.ensure_inside(path.parent)
    return path


class Journal:
    """Reads and appends one job file."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self.ignored_lines = 0

    def load(self) -> dict[str, dict[str, Any]]:
        """Finished items by key (a later record for a key wins); repairs a torn last line."""
        if not self.path.exists():
            return {}
        self._repair_tail()
        records: dict[str, dict[str, Any]] = {}
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    self.ignored_lines += 1
                    continue
                if isinstance(record, dict) and isinstance(record.get("key"), str):
                    records[record["key"]] = record
        return records

    def append(self, records: list[dict[str, Any]]) -> None:
        """Append records durably (one write, flush, fsync); writes the header on first use."""
        if not records:
            return
        lines = []
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lines.append(json.dumps({"job": self.header}, ensure_ascii=False, default=str))
        lines += [json.dumps(r, ensure_ascii=False) for r in records]
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def remove(self) -> None:
        """Forget the job (after its rows were committed), so a re-run starts afresh."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _repair_tail(self) -> None:
        """Cut a last line that lacks its newline (a write interrupted by a kill)."""
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "rb+") as handle:
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            step = 1 << 16
            position = size
            while position > 0:
                begin = max(0, position - step)
                handle.seek(begin)
                block = handle.read(position - begin)
                cut = block.rfind(b"\n")
                if cut >= 0:
                    handle.truncate(begin + cut + 1)
                    break
                position = begin
            else:
                handle.truncate(0)
            handle.flush()
            os.fsync(handle.fileno())
        self.ignored_lines += 1
