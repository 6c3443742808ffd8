"""CSV/TSV and JSONL: one section per record, rendered as "field: value" lines.

A row only makes sense with its column names, so each record carries them; and a record is a
unit of meaning, so it keeps its row number for citations and is never merged with its neighbours.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from core.errors import DocumentRefused
from tools.knowledge.document import Extraction, TextBuilder

_SNIFF_CHARS = 64 * 1024
_DELIMITERS = ",;\t|"


def _shown(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_fields(fields: Iterable[tuple[str, object]]) -> str:
    """One "name: value" line per field; empty and null values are left out, nested values are
    shown as compact JSON."""
    return "\n".join(
        f"{name}: {_shown(value)}" for name, value in fields if value is not None and value != ""
    )


def _sniff(text: str, *, tab_separated: bool) -> type[csv.Dialect] | csv.Dialect:
    try:
        delimiters = "\t" if tab_separated else _DELIMITERS
        return csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=delimiters)
    except csv.Error:  # a single column, or too little text to tell
        return csv.excel_tab if tab_separated else csv.excel


def parse_csv(text: str, *, tab_separated: bool = False) -> Extraction:
    """The first non-blank row names the columns; every later non-blank row is one section."""
    reader = csv.reader(io.StringIO(text, newline=""), _sniff(text, tab_separated=tab_separated))
    builder = TextBuilder()
    header: list[str] | None = None
    row = 0
    try:
        for cells in reader:
            values = [cell.strip() for cell in cells]
            if not any(values):
                continue
            if header is None:
                header = [name or f"column {i}" for i, name in enumerate(values, start=1)]
                continue
            row += 1
            names = header + [f"column {i}" for i in range(len(header) + 1, len(values) + 1)]
            builder.add_section(render_fields(zip(names, values, strict=False)), row=row)
    except csv.Error as exc:
        raise DocumentRefused(
            f"malformed CSV at line {reader.line_num}: {exc}", "fix that line and add it again"
        ) from exc
    if row == 0:
        raise DocumentRefused(
            "CSV has no data rows, only a header" if header else "CSV has no rows",
            "add rows under the header, or save the file as .txt if it is not a table",
        )
    return builder.build()


def parse_jsonl(text: str) -> Extraction:
    """One section per non-empty line; objects become "key: value" lines, `row` counts records."""
    builder = TextBuilder()
    row = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentRefused(
                f"line {number} is not JSON: {exc.msg} (column {exc.colno})",
                "fix or remove that line: each line of a .jsonl file must be one JSON value",
            ) from exc
        row += 1
        rendered = render_fields(value.items()) if isinstance(value, dict) else _shown(value)
        builder.add_section(rendered, row=row)
    return builder.build()
