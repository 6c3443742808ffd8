"""Plain text (.txt, .rst, .log): the whole text is one section; the chunker finds the paragraphs.

Cutting paragraphs into sections here would only be undone by the chunker, which packs adjacent
pieces under the same heading anyway, so one section keeps a single place that decides the cuts.
"""

from __future__ import annotations

from tools.knowledge.document import Extraction, trimmed_section


def parse_plaintext(text: str) -> Extraction:
    section = trimmed_section(text, 0, len(text))
    return text, [section] if section else []
