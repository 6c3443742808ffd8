"""On-disk state of one knowledge base, written as immutable generations.

    kb/<name>/manifest.json      {"generation": N, ...summary}   <- the single commit point
    kb/<name>/gen-<N>/documents.json, chunks.jsonl, vectors.npy, index.faiss

An ingest writes a complete new `gen-<N+1>/` and only then replaces `manifest.json` atomically.
A kill at any moment leaves the manifest naming a complete generation, so the previous index
stays usable; half-written generations are swept on the next write.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.atomic import atomic_open, write_json, write_jsonl
from tools.knowledge.index import build_index, load_index, save_index

if TYPE_CHECKING:
    import faiss
    import numpy as np

MANIFEST = "manifest.json"


@dataclass
class DocumentRecord:
    doc_id: str
    source: str  # absolute path of the file as ingested (the identity for re-ingest)
    name: str  # display name: the path relative to the folder it was added from
    sha256: str
    size: int
    kind: str
    chunks: int
    added_at: str


@dataclass
class ChunkRecord:
    id: str
    doc_id: str
    source: str  # display name of the document
    text: str  # what was embedded (heading path + body)
    body: str
    start: int
    end: int
    heading: str = ""
    page: int | None = None
    row: int | None = None

    def citation(self) -> str:
        """Where this chunk came from, in words a person can follow."""
        where = [self.source]
        if self.page is not None:
            where.append(f"p. {self.page}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.heading:
            where.append(f"§ {self.heading}")
        where.append(f"chars {self.start}-{self.end}")
        return ", ".join(where)


@dataclass
class Snapshot:
    """One complete generation: documents, chunks, their vectors and the index over them."""

    generation: int
    embedding_model: str
    documents: list[DocumentRecord] = field(default_factory=list)
    chunks: list[ChunkRecord] = field(default_factory=list)
    vectors: np.ndarray | None = None
    index: faiss.Index | None = None
    index_kind: str = "flat"
    index_reason: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "documents": len(self.documents),
            "chunks": len(self.chunks),
            "embedding_model": self.embedding_model,
            "index_kind": self.index_kind,
            "index_reason": self.index_reason,
        }


def read_manifest(kb_dir: Path) -> dict[str, Any] | None:
    path = kb_dir / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def load_snapshot(kb_dir: Path, with_index: bool = True) -> Snapshot | None:
    """The committed generation of a knowledge base, or None if it has none yet."""
    import numpy as np

    manifest = read_manifest(kb_dir)
    if manifest is None:
        return None
    gen_dir = kb_dir / f"gen-{manifest['generation']}"
    documents = [
        DocumentRecord(**d) for d in json.loads((gen_dir / "documents.json").read_text("utf-8"))
    ]
    with open(gen_dir / "chunks.jsonl", encoding="utf-8") as handle:
        chunks = [ChunkRecord(**json.loads(line)) for line in handle if line.strip()]
    return Snapshot(
        generation=manifest["generation"],
        embedding_model=manifest["embedding_model"],
        documents=documents,
        chunks=chunks,
        vectors=np.load(gen_dir / "vectors.npy"),
        index=load_index(gen_dir / "index.faiss") if with_index else None,
        index_kind=manifest["index_kind"],
        index_reason=manifest.get("index_reason", ""),
    )


def commit_snapshot(kb_dir: Path, snapshot: Snapshot) -> None:
    """Write `snapshot` as a new generation, then point the manifest at it (atomically)."""
    import numpy as np

    vectors = snapshot.vectors if snapshot.vectors is not None else np.zeros((0, 1), np.float32)
    index, choice = build_index(vectors)
    snapshot.index, snapshot.index_kind, snapshot.index_reason = index, choice.kind, choice.reason
    gen_dir = kb_dir / f"gen-{snapshot.generation}"
    if gen_dir.exists():  # a leftover from a killed ingest: never committed, safe to drop
        shutil.rmtree(gen_dir)
    gen_dir.mkdir(parents=True)
    write_json(gen_dir / "documents.json", [asdict(d) for d in snapshot.documents])
    write_jsonl(gen_dir / "chunks.jsonl", [asdict(c) for c in snapshot.chunks])
    with atomic_open(gen_dir / "vectors.npy", "wb") as handle:
        np.save(handle, vectors)
    save_index(index, gen_dir / "index.faiss")
    write_json(kb_dir / MANIFEST, snapshot.summary())
    sweep_generations(kb_dir, keep={snapshot.generation, snapshot.generation - 1})


def sweep_generations(kb_dir: Path, keep: set[int]) -> None:
    """Remove generation folders other than `keep` (the committed one and its predecessor).

    The predecessor stays so a reader that read the old manifest a moment ago can still finish.
    """
    for child in kb_dir.glob("gen-*"):
        suffix = child.name.removeprefix("gen-")
        if child.is_dir() and (not suffix.isdigit() or int(suffix) not in keep):
            shutil.rmtree(child, ignore_errors=True)
