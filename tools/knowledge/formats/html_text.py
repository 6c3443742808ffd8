"""HTML: visible text through the stdlib parser, h1-h6 as section headings.

Navigation, scripts and styles are page furniture, not knowledge, so they are dropped. Block
elements end a paragraph and inline whitespace collapses the way a browser shows it, so the text
reads like the rendered page; <pre> keeps its layout.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tools.knowledge.document import Extraction, Heading, build_headed

_SKIPPED = frozenset(
    {"script", "style", "nav", "noscript", "template", "title", "svg", "iframe", "object", "select"}
)
"""Not <head> as a whole: pages that never close it would lose everything. Its only text is the
<title>, and its scripts and styles are dropped by name."""
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "html",
        "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead",
        "tr", "ul",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_WHITESPACE = re.compile(r"\s+")


class _VisibleText(HTMLParser):
    """Collects `items`: Heading objects and paragraph strings, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[Heading | str] = []
        self._buffer: list[str] = []
        self._skipping = 0
        self._in_pre = 0
        self._heading_level: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        if self._skipping:
            return
        if tag in _HEADINGS:
            self._end_heading()
            self._flush()
            self._heading_level = _HEADINGS[tag]
        elif tag == "br":
            self._buffer.append("\n")
        elif tag in _CELLS:
            if "".join(self._buffer).strip():
                self._buffer.append(" | ")
        elif tag in _BLOCKS:
            self._flush()
        if tag == "pre":
            self._in_pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
            return
        if self._skipping:
            return
        if tag in _HEADINGS:
            self._end_heading()
        elif tag in _BLOCKS:
            self._flush()
        if tag == "pre":
            self._in_pre = max(0, self._in_pre - 1)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._buffer.append(data if self._in_pre else _WHITESPACE.sub(" ", data))

    def close(self) -> None:
        super().close()
        self._end_heading()
        self._flush()

    def _take(self) -> str:
        raw = "".join(self._buffer)
        self._buffer.clear()
        if self._in_pre:
            return "\n".join(line.rstrip() for line in raw.strip("\n").split("\n"))
        lines = (" ".join(line.split()) for line in raw.split("\n"))
        return "\n".join(line for line in lines if line)

    def _flush(self) -> None:
        if self._heading_level is None:  # a block inside a heading stays part of its title
            text = self._take()
            if text:
                self.items.append(text)

    def _end_heading(self) -> None:
        if self._heading_level is not None:
            level, self._heading_level = self._heading_level, None
            self.items.append(Heading(level, self._take()))


def parse_html(text: str) -> Extraction:
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    return build_headed(parser.items)
