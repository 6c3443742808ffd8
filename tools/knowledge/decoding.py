"""Bytes to text for the text-based formats: pick the encoding, refuse binary, unify newlines.

People's files come from everywhere: UTF-8 with or without a BOM, UTF-16 from Windows tools,
cp1252 or latin-1 from old editors. Guessing wrong silently ruins retrieval, and a binary file
renamed to .txt would fill the index with noise, so this module either returns clean text or
refuses with a reason.
"""

from __future__ import annotations

import codecs
import re

from core.errors import DocumentRefused

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
"""UTF-32 first: its little-endian BOM starts with UTF-16's."""

_MAX_CONTROL_RATIO = 0.05
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
"""Unicode's control characters (category Cc) minus those real text carries: whitespace, and ESC
from coloured logs."""

_MULTI_BYTE = ("utf", "cp9", "big5", "euc", "gb", "shift", "iso2022", "hz", "johab")
_CHAOS_TOLERANCE = 0.1

_NOT_TEXT_HINT = "convert it to a text format (.txt, .md, .pdf, .docx) before adding it"


def _bom_encoding(data: bytes) -> tuple[str, bytes] | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, data[len(bom) :]
    return None


def _guess_legacy(data: bytes) -> str:
    """Decode non-UTF-8 bytes with charset-normalizer's best guess, leaning towards cp1252.

    On short Western text several single-byte code pages score alike, and charset-normalizer
    may settle on cp1250 or cp1257 (turning "crème" into "crčme"). cp1252 is by far the most
    common legacy encoding (and covers latin-1's printable range), so it wins when it is nearly
    as free of oddities (`chaos`) and reads at least as much like a language (`coherence`).
    Genuine Baltic or Turkish text keeps its code page: it reads better in it.
    """
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DocumentRefused("not text: no character encoding fits its bytes", _NOT_TEXT_HINT)
    if best.encoding != "cp1252" and not best.encoding.startswith(_MULTI_BYTE):
        western = from_bytes(data, cp_isolation=["cp1252"]).best()
        if (
            western is not None
            and western.chaos <= best.chaos + _CHAOS_TOLERANCE
            and western.coherence >= best.coherence
        ):
            return str(western)
    return str(best)


def _looks_binary(text: str) -> bool:
    return len(_CONTROLS.findall(text)) > _MAX_CONTROL_RATIO * len(text)


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF, so offsets and line splits mean one thing everywhere."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes) -> str:
    """The text in `data`, with LF newlines; raises DocumentRefused for binary content.

    Order: a BOM decides; else strict UTF-8; else charset-normalizer. NUL bytes are checked after
    the BOM (UTF-16 is full of them) and mean binary; so does a high share of control characters.
    """
    bom = _bom_encoding(data)
    if bom is not None:
        encoding, payload = bom
        try:
            text = payload.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DocumentRefused(
                f"not text: it starts with a {encoding} byte-order mark but does not decode",
                _NOT_TEXT_HINT,
            ) from exc
    elif b"\x00" in data:
        raise DocumentRefused("not text: it contains NUL bytes (a binary file?)", _NOT_TEXT_HINT)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _guess_legacy(data)
    if _looks_binary(text):
        raise DocumentRefused(
            "not text: too many control characters (a binary file?)", _NOT_TEXT_HINT
        )
    return normalize_newlines(text)
