"""Immutable dataset versions with lineage.

    datasets/<name>/v<N>.jsonl      the rows of version N (written atomically, never changed)
    registry: dataset_versions      (dataset, version, parent, operation, params, rows, sha256)

Writing version N+1 first writes its file atomically, then inserts its registry row in one
transaction: the row is the commit point. A kill before the insert leaves an orphan file that the
next write of that version number simply replaces; earlier versions are never touched. Every
operation (import, synth, filter, edit, revert...) goes through `DatasetStore.commit`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.atomic import write_jsonl
from core.errors import InvalidInput, NotFound
from core.names import validate_name
from core.workspace import Workspace, utc_now

_REF = re.compile(r"^(?:ds:)?(?P<name>[^@]+?)(?:@v(?P<version>\d+))?$")


@dataclass(frozen=True)
class DatasetRef:
    name: str
    version: int | None = None  # None: the latest version

    def __str__(self) -> str:
        return f"{self.name}@v{self.version}" if self.version is not None else self.name


def parse_dataset_ref(text: str) -> DatasetRef:
    """`NAME`, `NAME@vN` or `ds:NAME@vN`."""
    match = _REF.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise InvalidInput(
            f"{text!r} is not a dataset reference.", "Use NAME or NAME@vN, e.g. faq@v2."
        )
    version = int(match["version"]) if match["version"] else None
    if version is not None and version < 1:
        raise InvalidInput(f"{text!r}: versions start at v1.", "Use NAME@v1 or later.")
    return DatasetRef(validate_name(match["name"], "dataset name"), version)


@dataclass
class VersionInfo:
    dataset: str
    version: int
    parent: int | None
    operation: str
    params: dict[str, Any]
    summary: dict[str, Any]
    rows: int
    sha256: str
    created_at: str
    path: Path = field(repr=False, default=Path())

    @property
    def ref(self) -> str:
        return f"ds:{self.dataset}@v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "dataset": self.dataset,
            "version": self.version,
            "parent": self.parent,
            "operation": self.operation,
            "params": self.params,
            "summary": self.summary,
            "rows": self.rows,
            "sha256": self.sha256,
            "created_at": self.created_at,
            "path": str(self.path),
        }


def rows_digest(rows: list[dict]) -> str:
    """A content hash of the rows, to tell identical versions apart from changed ones."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


class DatasetStore:
    """Reads and writes dataset versions of one workspace."""

    def __init__(self, ws: Workspace | None = None) -> None:
        self.ws = ws or Workspace.from_settings()

    def folder(self, name: str) -> Path:
        return self.ws.artifact_dir("datasets", name)

    def commit(
        self,
        name: str,
        rows: list[dict],
        *,
        operation: str,
        parent: int | None,
        params: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> VersionInfo:
        """Store `rows` as the next version of `name` (created if new); return its info."""
        folder = self.folder(name)
        with self.ws.lock(f"ds-{name}"):
            with self.ws.connect() as conn:
                latest = conn.execute(
                    "SELECT max(version) FROM dataset_versions WHERE dataset = ?", (name,)
                ).fetchone()[0]
            version = (latest or 0) + 1
            path = folder / f"v{version}.jsonl"
            write_jsonl(path, rows)
            now = utc_now()
            info = VersionInfo(
                dataset=name,
                version=version,
                parent=parent,
                operation=operation,
                params=params or {},
                summary=summary or {},
                rows=len(rows),
                sha256=rows_digest(rows),
                created_at=now,
                path=path,
            )
            with self.ws.transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO datasets(name, created_at) VALUES (?, ?)", (name, now)
                )
                conn.execute(
                    "INSERT INTO dataset_versions(dataset, version, parent, operation, params, "
                    "summary, rows, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        version,
                        parent,
                        operation,
                        json.dumps(info.params, ensure_ascii=False),
                        json.dumps(info.summary, ensure_ascii=False),
                        info.rows,
                        info.sha256,
                        now,
                    ),
                )
        self.ws.record_event(f"ds.{operation}", info.ref, {"rows": info.rows, "parent": parent})
        return info

    def info(self, ref: str | DatasetRef) -> VersionInfo:
        """The version a reference points at (the latest when no @vN is given)."""
        ref = parse_dataset_ref(ref) if isinstance(ref, str) else ref
        query = "SELECT * FROM dataset_versions WHERE dataset = ? "
        with self.ws.connect() as conn:
            if ref.version is None:
                row = conn.execute(query + "ORDER BY version DESC LIMIT 1", (ref.name,)).fetchone()
            else:
                row = conn.execute(query + "AND version = ?", (ref.name, ref.version)).fetchone()
        if row is None:
            known = self.versions(ref.name) if ref.version is not None else []
            hint = (
                f"{ref.name} has versions v1..v{known[-1].version}."
                if known
                else "`tunesmith data versions` lists datasets; `data import` or `data synth` "
                "makes one."
            )
            raise NotFound(f"There is no dataset {ref}.", hint)
        return self._info(row)

    def read(self, ref: str | DatasetRef) -> tuple[VersionInfo, list[dict]]:
        """The rows of a version, with its info."""
        info = self.info(ref)
        with open(info.path, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return info, rows

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of one dataset, oldest first."""
        with self.ws.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM dataset_versions WHERE dataset = ? ORDER BY version",
                (validate_name(name, "dataset name"),),
            ).fetchall()
        return [self._info(r) for r in rows]

    def names(self) -> list[str]:
        with self.ws.connect() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM datasets ORDER BY name")]

    def _info(self, row: Any) -> VersionInfo:
        return VersionInfo(
            dataset=row["dataset"],
            version=row["version"],
            parent=row["parent"],
            operation=row["operation"],
            params=json.loads(row["params"]),
            summary=json.loads(row["summary"]),
            rows=row["rows"],
            sha256=row["sha256"],
            created_at=row["created_at"],
            path=self.folder(row["dataset"]) / f"v{row['version']}.jsonl",
        )
