"""What a loader hands the chunker: one extracted text and the sections that index into it.

Every format ends up as plain text plus spans of it, so the chunker, the citations and the search
results all point at the same characters whatever the source was. Format readers build that text
with `TextBuilder` (so offsets are right by construction) and track headings with `HeadingPath`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HEADING_SEPARATOR = " > "


@dataclass(frozen=True)
class Section:
    """A span of a document's text, with where it sits: heading path, PDF page or data row."""

    text: str
    start: int
    heading: str = ""
    page: int | None = None
    row: int | None = None

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class LoadedDocument:
    """A document after extraction: `text` is the whole of it, `sections` are spans of `text`."""

    path: Path
    kind: str
    text: str
    sections: list[Section]


Extraction = tuple[str, list[Section]]
"""What a format reader returns: the full text and its sections."""


def trimmed_section(
    text: str, start: int, end: int, *, heading: str = "", page: int | None = None
) -> Section | None:
    """The section text[start:end] without surrounding whitespace, or None if nothing is left.

    Readers that slice their source in place (Markdown) cut at line boundaries; trimming here keeps
    blank lines out of sections without every reader re-deriving the offsets.
    """
    span = text[start:end]
    stripped = span.strip()
    if not stripped:
        return None
    return Section(stripped, start + len(span) - len(span.lstrip()), heading, page)


class HeadingPath:
    """The chain of headings in force, e.g. "Shipping > Returns", as headings of levels arrive.

    A heading closes every open heading of the same or a deeper level, so a level-2 heading after
    a level-3 one replaces both. Levels only need to be comparable, not consecutive.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, " ".join(title.split())))

    def __str__(self) -> str:
        return HEADING_SEPARATOR.join(title for _, title in self._stack if title)


class TextBuilder:
    """Assembles a document's text from blocks and records each section's offset as it goes.

    Used by readers whose text is rendered rather than sliced (HTML, PDF, CSV, JSONL, DOCX): blocks
    are joined by a blank line, so the chunker's paragraph split finds the block boundaries again.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.sections: list[Section] = []

    def _append(self, block: str) -> int:
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(block)
        self._length += len(block)
        return start

    def add_text(self, block: str) -> None:
        """Add text that belongs to the document but to no section (a heading line)."""
        block = block.strip()
        if block:
            self._append(block)

    def add_section(
        self,
        block: str,
        *,
        heading: str = "",
        page: int | None = None,
        row: int | None = None,
    ) -> None:
        """Add a block as its own section; blank blocks are dropped."""
        block = block.strip()
        if block:
            start = self._append(block)
            self.sections.append(Section(block, start, heading, page, row))

    def build(self) -> Extraction:
        return "".join(self._parts), self.sections


@dataclass(frozen=True)
class Heading:
    """A heading met while reading a structured source (HTML h1-h6, DOCX heading styles)."""

    level: int
    title: str


def build_headed(items: Iterable[Heading | str]) -> Extraction:
    """Text and sections from a stream of headings and body blocks, one section per heading.

    Body blocks under one heading become one section (blocks joined by a blank line); the heading
    title itself goes into the text as its own line but not into a section, since each chunk
    carries its heading path as a prefix anyway.
    """
    builder = TextBuilder()
    path = HeadingPath()
    body: list[str] = []

    def flush() -> None:
        builder.add_section("\n\n".join(body), heading=str(path))
        body.clear()

    for item in items:
        if isinstance(item, Heading):
            if not item.title.strip():
                continue
            flush()
            path.enter(item.level, item.title)
            builder.add_text(" ".join(item.title.split()))
        elif item.strip():
            body.append(item.lstrip("\n").rstrip())  # leading spaces may be <pre> layout
    flush()
    return builder.build()
