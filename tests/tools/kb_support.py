"""A small knowledge base built from a few literal documents, for tests that retrieve from one."""

from __future__ import annotations

from pathlib import Path

from core.workspace import Workspace
from tools.knowledge.kb import add_documents


def kb_from_texts(ws: Workspace, name: str, folder: Path, documents: dict[str, str]) -> Path:
    """Write `documents` (file name -> text) into a new `folder` and index them as kb `name`
    (real embeddings, real FAISS index); returns the folder."""
    folder.mkdir()
    for file_name, text in documents.items():
        (folder / file_name).write_text(text)
    add_documents(name, [folder], ws=ws)
    return folder
