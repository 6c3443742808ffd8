"""Load one document from disk into text plus sections, or refuse it with a reason and a fix.

This is the gate of the knowledge base: the checks every format shares (regular file, size,
emptiness, text decoding) happen here once, then one reader per format (tools/knowledge/formats)
extracts the text. A refusal never stops a batch; the caller reports it next to the file's name.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from functools import partial
from pathlib import Path

from core.errors import DocumentRefused
from tools.knowledge.decoding import decode_text
from tools.knowledge.document import Extraction, LoadedDocument, Section
from tools.knowledge.formats.html_text import parse_html
from tools.knowledge.formats.markdown import parse_markdown
from tools.knowledge.formats.pdf import read_pdf
from tools.knowledge.formats.plaintext import parse_plaintext
from tools.knowledge.formats.records import parse_csv, parse_jsonl
from tools.knowledge.formats.word import read_docx

__all__ = ["SUPPORTED_SUFFIXES", "LoadedDocument", "Section", "load_document"]

Reader = Callable[[bytes], Extraction]


def _decoded(parse: Callable[[str], Extraction]) -> Reader:
    """A reader for a text format: decode (or refuse binary), refuse blank text, then parse."""

    def read(data: bytes) -> Extraction:
        text = decode_text(data)
        if not text.strip():
            raise DocumentRefused("only whitespace", "add a file that has some text in it")
        return parse(text)

    return read


_FORMATS: dict[str, tuple[str, Reader]] = {
    ".md": ("markdown", _decoded(parse_markdown)),
    ".markdown": ("markdown", _decoded(parse_markdown)),
    ".txt": ("text", _decoded(parse_plaintext)),
    ".text": ("text", _decoded(parse_plaintext)),
    ".rst": ("text", _decoded(parse_plaintext)),
    ".log": ("text", _decoded(parse_plaintext)),
    ".html": ("html", _decoded(parse_html)),
    ".htm": ("html", _decoded(parse_html)),
    ".csv": ("csv", _decoded(parse_csv)),
    ".tsv": ("csv", _decoded(partial(parse_csv, tab_separated=True))),
    ".jsonl": ("jsonl", _decoded(parse_jsonl)),
    ".pdf": ("pdf", read_pdf),
    ".docx": ("docx", read_docx),
}
"""Suffix -> (kind, reader). The one table to extend for a new format."""

SUPPORTED_SUFFIXES: dict[str, str] = {suffix: kind for suffix, (kind, _) in _FORMATS.items()}

MB = 1024 * 1024
"""The megabyte of TUNESMITH_MAX_DOCUMENT_MB (max_bytes = max_document_mb * MB), so a limit set
to 25 reads back as "25 MB"."""


def _megabytes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes as MB text, with just enough decimals that the size reads as over the limit."""
    for decimals in range(1, 8):
        shown = f"{size / MB:.{decimals}f}"
        if float(shown) > limit / MB:
            break
    return shown, f"{limit / MB:g}"


def _format(path: Path) -> tuple[str, Reader]:
    found = _FORMATS.get(path.suffix.lower())
    if found is None:
        listed = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise DocumentRefused(
            f"unsupported file type {path.suffix or '(no suffix)'!r}",
            f"supported: {listed}; convert the file to one of them",
        )
    return found


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes after the checks that need no parsing: regular file, size, not empty.

    The kind of file is checked with stat before opening, since opening a FIFO would block.
    At most max_bytes + 1 bytes are read, so a file that grows after the stat is still caught.
    """
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise DocumentRefused("file not found", "check the path") from exc
    except OSError as exc:
        raise DocumentRefused(f"cannot read it: {exc.strerror}", "check the path") from exc
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
        raise DocumentRefused(f"not a regular file: it is {what}", "give the path of a file")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentRefused(
            f"cannot read it: {exc.strerror}", "check that you may read the file"
        ) from exc
    if len(data) > max_bytes:
        size, limit = _megabytes(max(info.st_size, len(data)), max_bytes)
        raise DocumentRefused(
            f"{size} MB is over the {limit} MB limit",
            "split it or raise TUNESMITH_MAX_DOCUMENT_MB",
        )
    if not data:
        raise DocumentRefused("empty file", "add a file that has some text in it")
    return data


def load_document(path: Path, *, max_bytes: int) -> LoadedDocument:
    """Read `path` into a LoadedDocument; raises DocumentRefused with a reason and a hint."""
    path = Path(path)
    kind, read = _format(path)
    text, sections = read(_read_bytes(path, max_bytes))
    if not sections:
        raise DocumentRefused(f"no text found in this {kind} file", "check that it has content")
    return LoadedDocument(path=path, kind=kind, text=text, sections=sections)
