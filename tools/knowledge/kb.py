"""Knowledge bases: add documents, search them with citations, list, show and remove.

These are the plain functions behind `tunesmith kb ...` and, later, the agent's tools. One bad
document never stops the others: each file gets an outcome (added, unchanged, replaced, refused
with the reason). Writes happen under the knowledge base's lock and commit as one generation
(see tools.knowledge.store), so an interrupted `kb add` leaves the previous index usable.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import DocumentRefused, InvalidInput, NotFound
from core.settings import Settings, get_settings
from core.workspace import Workspace, utc_now
from tools.knowledge.discover import discover
from tools.knowledge.store import (
    ChunkRecord,
    DocumentRecord,
    Snapshot,
    commit_snapshot,
    load_snapshot,
    read_manifest,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
CHUNK_MAX_TOKENS = 200  # MiniLM reads 256 word pieces; leave room for the heading prefix


@dataclass
class FileOutcome:
    name: str
    status: str  # added | unchanged | replaced | refused
    reason: str = ""
    chunks: int = 0


@dataclass
class AddReport:
    kb: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    duplicates_skipped: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """False only when nothing could be used: every file refused, or no file at all."""
        return any(o.status != "refused" for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class Hit:
    score: float
    chunk: ChunkRecord

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "citation": self.chunk.citation(),
            **asdict(self.chunk),
        }


def kb_dir(ws: Workspace, name: str) -> Path:
    return ws.artifact_dir("kb", name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dedupe_key(body: str) -> str:
    return hashlib.sha1(re.sub(r"\s+", " ", body).strip().encode()).hexdigest()


def add_documents(
    name: str,
    paths: list[str | Path],
    *,
    ws: Workspace | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> AddReport:
    """Ingest files and folders into knowledge base `name` (created on first use)."""
    from tools.knowledge.chunking import chunk_document, minilm_token_counter
    from tools.knowledge.loaders import load_document

    settings = settings or get_settings()
    ws = ws or Workspace.from_settings(settings)
    folder = kb_dir(ws, name)
    report = AddReport(kb=name)
    if not paths:
        raise InvalidInput("No files or folders were given.", "Name at least one, e.g. ./docs")
    candidates, refusals = discover(paths)
    report.outcomes += [FileOutcome(r.path, "refused", r.reason) for r in refusals]
    max_bytes = int(settings.max_document_mb * 1024 * 1024)

    with ws.lock(f"kb-{name}"):
        previous = load_snapshot(folder, with_index=False)
        embedder_ref = settings.embedding_model
        docs = {d.source: d for d in previous.documents} if previous else {}
        chunks_by_doc: dict[str, list[ChunkRecord]] = {}
        if previous:
            for chunk in previous.chunks:
                chunks_by_doc.setdefault(chunk.doc_id, []).append(chunk)
        old_vectors = (
            {c.id: previous.vectors[i] for i, c in enumerate(previous.chunks)} if previous else {}
        )
        changed = False
        count_tokens = minilm_token_counter()
        for done, cand in enumerate(candidates):
            if progress:
                progress("reading", done, len(candidates))
            source = str(cand.path)
            try:
                sha = _sha256(cand.path)
                if source in docs and docs[source].sha256 == sha:
                    report.outcomes.append(
                        FileOutcome(cand.name, "unchanged", chunks=docs[source].chunks)
                    )
                    continue
                loaded = load_document(cand.path, max_bytes=max_bytes)
                pieces = chunk_document(
                    loaded, max_tokens=CHUNK_MAX_TOKENS, count_tokens=count_tokens
                )
            except DocumentRefused as err:
                report.outcomes.append(FileOutcome(cand.name, "refused", str(err)))
                continue
            if not pieces:
                report.outcomes.append(FileOutcome(cand.name, "refused", "no text to index"))
                continue
            doc_id = hashlib.sha1(source.encode()).hexdigest()[:12]
            status = "replaced" if source in docs else "added"
            chunks_by_doc[doc_id] = [
                ChunkRecord(
                    id=f"{doc_id}:{i}",
                    doc_id=doc_id,
                    source=cand.name,
                    text=p.text,
                    body=p.body,
                    start=p.start,
                    end=p.end,
                    heading=p.heading,
                    page=p.page,
                    row=p.row,
                )
                for i, p in enumerate(pieces)
            ]
            docs[source] = DocumentRecord(
                doc_id=doc_id,
                source=source,
                name=cand.name,
                sha256=sha,
                size=cand.path.stat().st_size,
                kind=loaded.kind,
                chunks=len(pieces),
                added_at=utc_now(),
            )
            report.outcomes.append(FileOutcome(cand.name, status, chunks=len(pieces)))
            changed = True

        if changed or (previous and previous.embedding_model != embedder_ref):
            snapshot = _assemble(
                previous, docs, chunks_by_doc, old_vectors, embedder_ref, settings, report, progress
            )
            commit_snapshot(folder, snapshot)
            _register(ws, name, snapshot.summary())
            ws.record_event(
                "kb.add",
                f"kb:{name}",
                {s: report.count(s) for s in ("added", "replaced", "unchanged", "refused")},
            )
        report.summary = read_manifest(folder) or {}
    return report


def _assemble(
    previous: Snapshot | None,
    docs: dict[str, DocumentRecord],
    chunks_by_doc: dict[str, list[ChunkRecord]],
    old_vectors: dict[str, Any],
    embedder_ref: str,
    settings: Settings,
    report: AddReport,
    progress: Progress | None,
) -> Snapshot:
    """Build the next generation: keep old chunks' vectors, embed new ones, skip duplicates."""
    import numpy as np

    from core.embeddings import embedding_device, get_embedder

    reuse = previous is not None and previous.embedding_model == embedder_ref
    seen: set[str] = set()
    kept: list[ChunkRecord] = []
    for doc in docs.values():
        doc_chunks = []
        for chunk in chunks_by_doc.get(doc.doc_id, []):
            key = _dedupe_key(chunk.body)
            if key in seen:
                report.duplicates_skipped += 1
                continue
            seen.add(key)
            doc_chunks.append(chunk)
        doc.chunks = len(doc_chunks)
        kept += doc_chunks
    missing = [i for i, c in enumerate(kept) if not (reuse and c.id in old_vectors)]
    embedder = None
    dim = previous.vectors.shape[1] if reuse and previous.vectors is not None else 0
    if missing:
        embedder = get_embedder(embedder_ref, embedding_device(settings))
        dim = embedder.dim
    vectors = np.zeros((len(kept), dim), dtype=np.float32)
    for i, chunk in enumerate(kept):
        if reuse and chunk.id in old_vectors:
            vectors[i] = old_vectors[chunk.id]
    if missing:
        report_progress = (lambda d, t: progress("embedding", d, t)) if progress else None
        vectors[missing] = embedder.encode(
            [kept[i].text for i in missing], progress=report_progress
        )
    return Snapshot(
        generation=(previous.generation + 1) if previous else 1,
        embedding_model=embedder_ref,
        documents=list(docs.values()),
        chunks=kept,
        vectors=vectors,
    )


def _register(ws: Workspace, name: str, summary: dict[str, Any]) -> None:
    import json

    now = utc_now()
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO knowledge_bases(name, created_at, updated_at, summary) "
            "VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at, "
            "summary = excluded.summary",
            (name, now, now, json.dumps(summary)),
        )


_SNAPSHOT_CACHE: dict[tuple[Path, int], Snapshot] = {}


def open_kb(name: str, ws: Workspace | None = None) -> Snapshot:
    """The committed state of a knowledge base, cached per generation within the process."""
    ws = ws or Workspace.from_settings()
    folder = kb_dir(ws, name)
    manifest = read_manifest(folder)
    if manifest is None:
        raise NotFound(
            f"There is no knowledge base named {name!r}.",
            f"Create it with `tunesmith kb add {name} PATH...`; "
            "`tunesmith kb list` shows what exists.",
        )
    key = (folder, manifest["generation"])
    if key not in _SNAPSHOT_CACHE:
        _SNAPSHOT_CACHE.clear()
        _SNAPSHOT_CACHE[key] = load_snapshot(folder)
    return _SNAPSHOT_CACHE[key]


def search(
    name: str,
    query: str,
    k: int = 5,
    *,
    ws: Workspace | None = None,
    settings: Settings | None = None,
) -> list[Hit]:
    """The `k` chunks most similar to `query`, best first, each with its score and citation."""
    from core.embeddings import embedding_device, get_embedder
    from tools.knowledge.index import search_index

    if not query.strip():
        raise InvalidInput("The search query is empty.", 'Ask something, e.g. "refund policy".')
    if k < 1:
        raise InvalidInput(f"k must be at least 1, not {k}.", "Use -k 5 for the five best chunks.")
    settings = settings or get_settings()
    snapshot = open_kb(name, ws or Workspace.from_settings(settings))
    if not snapshot.chunks:
        return []
    embedder = get_embedder(snapshot.embedding_model, embedding_device(settings))
    scores, ids = search_index(snapshot.index, embedder.encode([query]), k)
    return [
        Hit(float(score), snapshot.chunks[int(i)])
        for score, i in zip(scores[0], ids[0], strict=True)
        if i >= 0
    ]


def list_kbs(ws: Workspace | None = None) -> list[dict[str, Any]]:
    """Every knowledge base with its summary, most recently updated first.

    The manifests are the truth (they are the commit point); the registry adds timestamps.
    """
    ws = ws or Workspace.from_settings()
    with ws.connect() as conn:
        dates = {
            r["name"]: dict(r)
            for r in conn.execute("SELECT name, created_at, updated_at FROM knowledge_bases")
        }
    found = []
    for manifest_path in sorted((ws.root / "kb").glob("*/manifest.json")):
        name = manifest_path.parent.name
        manifest = read_manifest(manifest_path.parent) or {}
        found.append(
            {
                **dates.get(name, {"created_at": "", "updated_at": ""}),
                "name": name,
                "summary": manifest,
            }
        )
    return sorted(found, key=lambda row: row["updated_at"], reverse=True)


def show_kb(name: str, ws: Workspace | None = None) -> dict[str, Any]:
    """Summary plus the document table of one knowledge base."""
    snapshot = open_kb(name, ws)
    return {
        "name": name,
        **snapshot.summary(),
        "documents_list": [asdict(d) for d in snapshot.documents],
    }


def remove_kb(name: str, ws: Workspace | None = None) -> None:
    """Delete a knowledge base: its registry row first, then its folder."""
    ws = ws or Workspace.from_settings()
    folder = kb_dir(ws, name)
    with ws.lock(f"kb-{name}"):
        if read_manifest(folder) is None and not folder.exists():
            raise NotFound(
                f"There is no knowledge base named {name!r}.", "`tunesmith kb list` shows them."
            )
        with ws.transaction() as conn:
            conn.execute("DELETE FROM knowledge_bases WHERE name = ?", (name,))
        trash = folder.with_name(f".{folder.name}.removing")
        shutil.rmtree(trash, ignore_errors=True)
        folder.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
        ws.record_event("kb.remove", f"kb:{name}")
