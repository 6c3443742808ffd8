"""PDF through pypdf: one section per page, so every answer can cite its page.

A PDF that opens but yields nothing is worse than one that fails: the knowledge base would look
filled and answer nothing. So encrypted, damaged and image-only files are refused with the tool
that fixes each.
"""

from __future__ import annotations

import io

from core.errors import DocumentRefused
from tools.knowledge.decoding import normalize_newlines
from tools.knowledge.document import Extraction, TextBuilder

_HEADER_WINDOW = 1024
"""Readers accept junk before `%PDF-` within the first kilobyte; so do we."""


def read_pdf(data: bytes) -> Extraction:
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise DocumentRefused(
            "corrupt PDF: it has no %PDF- header", "check that the file really is a PDF"
        )
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        # An empty user password only restricts permissions: such files open for everyone.
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentRefused(
                "encrypted PDF",
                "decrypt it first, e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`",
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentRefused:
        raise
    except Exception as exc:  # pypdf raises many types (PdfReadError, KeyError, ValueError...)
        raise DocumentRefused(
            f"corrupt PDF: {exc or type(exc).__name__}",
            "re-export or repair it, e.g. `qpdf in.pdf out.pdf`, and add it again",
        ) from exc
    builder = TextBuilder()
    for number, page_text in enumerate(pages, start=1):
        builder.add_section(normalize_newlines(page_text), page=number)
    if not builder.sections:
        raise DocumentRefused(
            "scanned PDF without a text layer",
            "run OCR first, e.g. `ocrmypdf in.pdf out.pdf`, and add the result",
        )
    return builder.build()
