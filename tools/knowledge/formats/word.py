"""DOCX through python-docx (an optional extra): paragraphs and tables, heading styles as headings.

Word documents mark structure with paragraph styles rather than markup, so "Heading 2" and
"Title" give the heading path; tables become one "cell | cell" line per row.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from core.errors import DocumentRefused
from tools.knowledge.document import Extraction, Heading, build_headed

_HEADING_STYLE = re.compile(r"heading\s*(\d)", re.IGNORECASE)


def _heading_level(paragraph: Any) -> int | None:
    style = paragraph.style
    if style is None:
        return None
    names = (style.name or "", style.style_id or "")
    if names[0].lower() == "title":
        return 0
    matches = (_HEADING_STYLE.fullmatch(name) for name in names)
    match = next((found for found in matches if found), None)
    return int(match.group(1)) if match else None


def _blocks(document: Any) -> Iterator[Heading | str]:
    from docx.text.paragraph import Paragraph

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            level = _heading_level(block)
            yield block.text if level is None else Heading(level, block.text)
        else:
            for table_row in block.rows:
                yield " | ".join(cell.text.strip() for cell in table_row.cells if cell.text.strip())


def read_docx(data: bytes) -> Extraction:
    try:
        import docx
    except ImportError as exc:
        raise DocumentRefused(
            "DOCX support is not installed", "install python-docx: pip install 'tunesmith[docx]'"
        ) from exc
    try:
        document = docx.Document(io.BytesIO(data))
        return build_headed(_blocks(document))
    except Exception as exc:  # python-docx surfaces zip, XML and package errors alike
        raise DocumentRefused(
            f"corrupt DOCX: {exc or type(exc).__name__}",
            "open it in Word or LibreOffice, save it again as .docx, and add it again",
        ) from exc
