"""Markdown: the source text as-is, cut into sections at ATX headings (`#` to `######`).

The text is kept verbatim (code, tables, links) because that is what a person will want quoted
back; only the heading lines stay out of the sections, since every chunk carries its heading path.
"""

from __future__ import annotations

import re

from tools.knowledge.document import Extraction, HeadingPath, Section, trimmed_section

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
"""CommonMark ATX heading: up to 3 spaces, 1-6 '#', then a space or the end; closing #s dropped."""
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def parse_markdown(text: str) -> Extraction:
    """Sections of `text`, one per heading (plus one for text before the first heading).

    Lines inside fenced code blocks are never headings: a `# comment` in a shell snippet must not
    open a section. A fence closes at a line of the same character at least as long.
    """
    path = HeadingPath()
    sections: list[Section] = []
    heading, body_start, offset = "", 0, 0
    fence: str | None = None

    def close(end: int) -> None:
        section = trimmed_section(text, body_start, end, heading=heading)
        if section is not None:
            sections.append(section)

    for bare in text.split("\n"):
        line_start, offset = offset, offset + len(bare) + 1
        fence_match = _FENCE.match(bare)
        marker = fence_match.group(1) if fence_match else ""
        rest = bare[fence_match.end() :] if fence_match else ""
        if fence is not None:
            if marker[:1] == fence[0] and len(marker) >= len(fence) and not rest.strip():
                fence = None
            continue
        if marker and not (marker[0] == "`" and "`" in rest):  # a backtick fence's info has none
            fence = marker
            continue
        heading_match = _HEADING.match(bare)
        if heading_match:
            close(line_start)
            path.enter(len(heading_match.group(1)), heading_match.group(2) or "")
            heading, body_start = str(path), offset
    close(len(text))
    return text, sections
