"""Reading the person's input files (golden outputs, seed examples) with precise complaints.

Both are hand-made files, so the faults are human ones: a wrong path, a folder, an empty file, a
stray line that is not JSON, a Windows editor's BOM and CRLF. Each fault is one line that names
the file, the line number and the fix; BOM and CRLF are simply accepted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from core.errors import InvalidInput, NotFound

MAX_INPUT_MB = 50


def read_input_file(path: str | Path, what: str, hint: str) -> str:
    """The text of `path` (UTF-8, BOM dropped), or a one-line error naming `what` and `hint`."""
    file = Path(path).expanduser()
    if not file.exists():
        raise NotFound(f"The {what} file {file} does not exist.", hint)
    if not file.is_file():
        raise InvalidInput(f"The {what} path {file} is not a file.", hint)
    if file.stat().st_size > MAX_INPUT_MB * 1024 * 1024:
        raise InvalidInput(
            f"The {what} file {file} is larger than {MAX_INPUT_MB} MB.", "Split it or trim it."
        )
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The {what} file {file} is not UTF-8 text (byte {exc.start}).",
            "Save it as UTF-8 and try again.",
        ) from exc
    if not text.strip():
        raise InvalidInput(f"The {what} file {file} is empty.", hint)
    return text


def looks_like_jsonl(text: str) -> bool:
    """True when the first non-blank line opens a JSON object."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


def json_objects(text: str, file: str | Path, hint: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line; the first bad line raises InvalidInput."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{file} line {number}: not JSON ({exc.msg}).", hint) from None
        if not isinstance(value, dict):
            raise InvalidInput(
                f"{file} line {number}: a JSON {type(value).__name__}, not an object.", hint
            )
        yield number, value


def digest(text: str) -> str:
    """A short content hash: part of the job key, so an edited file starts a new job."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
