"""Validation: every row is checked before anything is stored, and every fault is reported at once.

A person fixing a 10,000-line file wants all of its problems in one pass, each with the line it is
on, not one error per attempt. So the readers (JSON lines here, CSV and HF folders in importing)
turn their input into `(line, object)` records, or `(line, RowFault)` when a line cannot even be
parsed, and `check_records` checks them all, collecting up to `max_faults` faults before raising
one `DatasetInvalid`. Line numbers stay true to the file: blank lines are skipped but counted, a
BOM and CRLF line endings are accepted.

Rows that pass come out normalised: ids are strings (assigned where missing), and top-level keys
that belong to no format are moved into `meta.extra`, so they are kept but never reach the trainer.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import TunesmithError
from tools.datasets.rows import RESERVED_KEYS, assign_ids

MAX_ROW_BYTES = 1_000_000
"""Rows bigger than this (UTF-8 bytes of the line) are refused: they are almost always a mistake."""
MAX_FAULTS = 50
"""Faults collected before validation stops listing them (it still counts them all)."""
ROLES = ("system", "user", "assistant")
FORMAT_KEYS = {"messages": ("messages",), "completion": ("prompt", "completion"), "text": ("text",)}
_ALL_FORMAT_KEYS = ("messages", "prompt", "completion", "text")
_SHOWN = 5  # faults spelled out in the error message; all of them are on the exception

FIXES: dict[str, str] = {
    "empty_file": "the file has no rows; add one JSON object per line",
    "not_utf8": "save the file as UTF-8",
    "not_json": 'write one JSON object per line, e.g. {"prompt": "...", "completion": "..."}',
    "not_object": "each row must be a JSON object {...}, not a list, string or number",
    "row_too_large": "shorten or split the row, or raise the size limit",
    "lone_surrogate": "a \\ud800-\\udfff escape must be half of a pair; re-export as UTF-8",
    "unknown_format": "give each row `messages`, or `prompt` and `completion`, or `text` "
    "(a column mapping renames other keys, e.g. question=prompt answer=completion)",
    "mixed_formats": "use one format for every row (convert the odd rows, or import them apart)",
    "missing_messages": "give the row a `messages` list",
    "empty_messages": "add at least a user turn and an assistant turn",
    "bad_message": 'each message must be an object {"role": ..., "content": ...}',
    "unknown_role": "use the roles system, user and assistant",
    "bad_content": "contents, prompts, completions and texts must be non-empty strings",
    "no_assistant_turn": "add an assistant turn: it is what the model learns to write",
    "bad_id": "make `id` a non-empty string, or drop it to have one assigned",
    "duplicate_id": "give every row its own `id`, or drop the ids to have them assigned",
    "bad_meta": "make `meta` a JSON object (or leave it out)",
    "bad_csv_row": "give every CSV record as many fields as the header has, quoting commas",
}
"""Every fault kind, with how to fix it (an error's hint lists the fixes for the kinds it shows)."""


@dataclass(frozen=True)
class RowFault:
    """One problem with one row. `line` is 1-based in the file (for CSV, the line the record
    starts on; for an HF folder, the row number); 0 means the file as a whole."""

    line: int
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.kind} ({self.detail})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DatasetInvalid(TunesmithError):
    """Rows failed validation. `faults` holds the first `MAX_FAULTS`; `total` counts them all."""

    def __init__(
        self, faults: list[RowFault], *, total: int | None = None, source: str = ""
    ) -> None:
        self.faults = list(faults)
        self.total = max(total or 0, len(self.faults))
        self.source = source or "the rows"
        shown = "; ".join(str(f) for f in self.faults[:_SHOWN])
        more = self.total - min(len(self.faults), _SHOWN)
        plural = "s" if self.total != 1 else ""
        message = f"{self.source}: {self.total} fault{plural}: {shown}" + (
            f"; and {more} more" if more else ""
        )
        kinds = dict.fromkeys(f.kind for f in self.faults[:_SHOWN])
        hint = "Nothing was stored. To fix: " + "; ".join(f"{k}: {FIXES[k]}" for k in kinds)
        super().__init__(message, hint)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "total": self.total,
            "faults": [f.to_dict() for f in self.faults],
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Checked:
    """Rows that passed, and what normalising them did (for import reports)."""

    rows: list[dict]
    row_format: str
    ids_assigned: int = 0
    extra_keys: dict[str, int] = field(default_factory=dict)  # key -> rows it was moved from


# -- readers -----------------------------------------------------------------------------------


def oversize_fault(line: int, size: int, limit: int) -> RowFault | None:
    """The row_too_large fault for a row of `size` bytes, or None when it fits."""
    if size <= limit:
        return None
    return RowFault(line, "row_too_large", f"{size:,} bytes; the limit is {limit:,}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json_line(line: int, text: str) -> Any:
    """One JSON value, or a not_json RowFault that says where the text stopped being JSON."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return RowFault(line, "not_json", f"{exc.msg} at column {exc.colno}")
    except ValueError as exc:  # NaN / Infinity: Python accepts them, JSON does not
        return RowFault(line, "not_json", str(exc))
    except RecursionError:
        return RowFault(line, "not_json", "nested too deeply")


def _raw_lines(source: str | os.PathLike | Iterable[str]) -> Iterator[bytes | str]:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield from handle
    else:
        yield from source


def read_json_lines(
    source: str | os.PathLike | Iterable[str], *, max_row_bytes: int = MAX_ROW_BYTES
) -> Iterator[tuple[int, Any]]:
    """`(line, value)` for every non-blank line of a JSONL file (a path) or of an iterable of lines.

    Oversized lines are refused before they are parsed; bytes that are not UTF-8 are a fault of
    their line only, so one bad line does not hide the faults of the others.
    """
    for number, raw in enumerate(_raw_lines(source), start=1):
        if isinstance(raw, bytes):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            size = len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                too_big = oversize_fault(number, size, max_row_bytes)
                detail = f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not UTF-8"
                yield number, too_big or RowFault(number, "not_utf8", detail)
                continue
        else:
            text = (raw.removeprefix("\ufeff") if number == 1 else raw).rstrip("\r\n")
            if not text.strip():
                continue
            size = len(text.encode("utf-8", "surrogatepass"))
        fault = oversize_fault(number, size, max_row_bytes)
        yield number, fault or parse_json_line(number, text)


# -- checks ------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        if not value:
            return "an empty string"
        return "only whitespace" if not value.strip() else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _surrogate_path(value: Any, path: str) -> str | None:
    """Where in `value` a lone surrogate sits (a str that cannot be encoded as UTF-8), if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        inner = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and _surrogate_path(key, "") is not None:
            return inner
        found = _surrogate_path(item, inner)
        if found is not None:
            return found
    return None


def detect_format(row: dict) -> tuple[str | None, str]:
    """The row's format, or None and why none applies (no format key, or keys of two formats)."""
    present = [key for key in _ALL_FORMAT_KEYS if key in row]
    formats = {fmt for fmt, keys in FORMAT_KEYS.items() if any(k in present for k in keys)}
    if len(formats) == 1:
        return formats.pop(), ""
    if not formats:
        keys = ", ".join(sorted(map(str, row))) or "none"
        return None, f"no messages, prompt/completion or text key (keys: {keys})"
    both = " and ".join(f"'{k}'" for k in present)
    return None, f"has {both}: keys of more than one format"


def _check_messages(line: int, messages: Any) -> list[RowFault]:
    if not isinstance(messages, list):
        return [RowFault(line, "missing_messages", f"'messages' is {_describe(messages)}")]
    if not messages:
        return [RowFault(line, "empty_messages", "'messages' is an empty list")]
    faults = []
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            detail = f"message {number} is {_describe(message)}, not an object"
            faults.append(RowFault(line, "bad_message", detail))
            continue
        role = message.get("role")
        if role not in ROLES:
            shown = "no role" if role is None else f"role {role!r}"
            faults.append(RowFault(line, "unknown_role", f"message {number} has {shown}"))
        if not _is_text(message.get("content")):
            content = message.get("content") if "content" in message else None
            detail = f"message {number} content is {_describe(content)}"
            faults.append(RowFault(line, "bad_content", detail))
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        faults.append(RowFault(line, "no_assistant_turn", "no message has role 'assistant'"))
    return faults


def _check_fields(line: int, row: dict, keys: tuple[str, ...]) -> list[RowFault]:
    faults = []
    for key in keys:
        if key not in row:
            detail = f"no '{key}': a {'/'.join(keys)} row needs {' and '.join(keys)}"
            faults.append(RowFault(line, "bad_content", detail))
        elif not _is_text(row[key]):
            faults.append(RowFault(line, "bad_content", f"'{key}' is {_describe(row[key])}"))
    return faults


def check_row(
    line: int, row: Any, expected_format: str | None
) -> tuple[str | None, list[RowFault]]:
    """Check one parsed row; return its format (None if it has none) and its faults.

    `expected_format` is the format the dataset already has; a row without any format key in a
    messages dataset reads better as "missing messages" than as "unknown format".
    """
    if not isinstance(row, dict):
        return None, [RowFault(line, "not_object", f"the row is {_describe(row)}")]
    faults: list[RowFault] = []
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        where = _surrogate_path(row, "")
        faults.append(RowFault(line, "lone_surrogate", f"in {where}: half a UTF-16 pair"))
    if "meta" in row and not isinstance(row["meta"], dict):
        faults.append(RowFault(line, "bad_meta", f"'meta' is {_describe(row['meta'])}"))
    if "id" in row and not _is_text(row["id"]):
        rid = row["id"]
        if not isinstance(rid, int) or isinstance(rid, bool):
            faults.append(RowFault(line, "bad_id", f"'id' is {_describe(rid)}"))
    extra = _extra_keys(row)
    taken = row.get("meta", {}).get("extra") if isinstance(row.get("meta"), dict) else None
    if extra and taken is not None and not isinstance(taken, dict):
        detail = f"'meta.extra' is {_describe(taken)}, so the keys {', '.join(extra)} have no place"
        faults.append(RowFault(line, "bad_meta", detail))
    fmt, why = detect_format(row)
    if fmt is None:
        has_format_key = any(k in row for k in _ALL_FORMAT_KEYS)
        missing = expected_format == "messages" and not has_format_key
        faults.append(RowFault(line, "missing_messages" if missing else "unknown_format", why))
    elif fmt == "messages":
        faults.extend(_check_messages(line, row["messages"]))
    else:
        faults.extend(_check_fields(line, row, FORMAT_KEYS[fmt]))
    return fmt, faults


def _extra_keys(row: dict) -> list[str]:
    """Top-level keys that belong to no format and are not reserved (kept out of training)."""
    return [key for key in row if key not in _ALL_FORMAT_KEYS and key not in RESERVED_KEYS]


def _normalised(row: dict, extras: Counter) -> dict:
    """The row with a string id and the keys of no format moved into `meta.extra`."""
    out = dict(row)
    if "id" in out:
        out["id"] = str(out["id"])
    moved = {key: out.pop(key) for key in _extra_keys(row)}
    if moved:
        extras.update(moved.keys())
        info = dict(out.get("meta") or {})
        info["extra"] = {**(info.get("extra") or {}), **moved}
        out["meta"] = info
    return out


class _Faults:
    """Collects faults up to a cap while still counting every one."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept: list[RowFault] = []
        self.total = 0

    def add(self, faults: Iterable[RowFault]) -> None:
        for fault in faults:
            self.total += 1
            if len(self.kept) < self.cap:
                self.kept.append(fault)


def check_records(
    records: Iterable[tuple[int, Any]],
    *,
    source: str = "",
    expected_format: str | None = None,
    max_faults: int = MAX_FAULTS,
) -> Checked:
    """Check `(line, row)` records (a row may already be a RowFault from its reader).

    Raises DatasetInvalid listing every fault (up to `max_faults`); otherwise returns the
    normalised rows. The dataset's format is `expected_format`, else the first row's format.
    """
    faults = _Faults(max_faults)
    fmt, fmt_line = expected_format, 0
    first_id_line: dict[str, int] = {}
    extras: Counter = Counter()
    rows: list[dict] = []
    seen = False
    for line, record in records:
        seen = True
        if isinstance(record, RowFault):
            faults.add([record])
            continue
        row_fmt, row_faults = check_row(line, record, fmt)
        if row_fmt and fmt is None:
            fmt, fmt_line = row_fmt, line
        elif row_fmt and row_fmt != fmt:
            origin = f"line {fmt_line} is" if fmt_line else "the dataset is"
            detail = f"this row is {row_fmt}; {origin} {fmt}"
            row_faults.append(RowFault(line, "mixed_formats", detail))
        if (
            isinstance(record, dict)
            and "id" in record
            and not any(f.kind == "bad_id" for f in row_faults)
        ):
            rid = str(record["id"])
            if rid in first_id_line:
                detail = f"id {rid!r} is already used on line {first_id_line[rid]}"
                row_faults.append(RowFault(line, "duplicate_id", detail))
            else:
                first_id_line[rid] = line
        faults.add(row_faults)
        if not faults.total:
            rows.append(_normalised(record, extras))
    if not seen:
        empty = RowFault(0, "empty_file", "no rows: the input is empty or only blank lines")
        raise DatasetInvalid([empty], source=source)
    if faults.total:
        raise DatasetInvalid(faults.kept, total=faults.total, source=source)
    missing = sum(1 for row in rows if "id" not in row)
    return Checked(assign_ids(rows), fmt or "text", missing, dict(extras))


def validate_rows(
    source: str | os.PathLike | Iterable[str],
    *,
    max_row_bytes: int = MAX_ROW_BYTES,
    max_faults: int = MAX_FAULTS,
) -> list[dict]:
    """Validate JSONL rows from a path (str or Path) or an iterable of lines; return the rows.

    Raises DatasetInvalid with every fault found (line numbers true to the file).
    """
    name = Path(source).name if isinstance(source, str | os.PathLike) else ""
    records = read_json_lines(source, max_row_bytes=max_row_bytes)
    return check_records(records, source=name, max_faults=max_faults).rows


def validate_row(row: dict, *, row_format: str, line: int = 0) -> dict:
    """Check one edited or rewritten row against its dataset's format; return it normalised."""
    size = len(json.dumps(row, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    too_big = oversize_fault(line, size, MAX_ROW_BYTES)
    records = [(line, too_big or row)]
    source = f"row {row.get('id', '?')}"
    return check_records(records, source=source, expected_format=row_format).rows[0]


__all__ = [
    "FIXES",
    "MAX_ROW_BYTES",
    "Checked",
    "DatasetInvalid",
    "RowFault",
    "check_records",
    "check_row",
    "read_json_lines",
    "validate_row",
    "validate_rows",
]
