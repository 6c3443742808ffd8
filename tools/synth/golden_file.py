"""Golden outputs: texts the person already wrote and wants the tuned model to write like.

Two forms are accepted, told apart by the first non-blank line: JSONL, one object per line with a
non-empty string `text` and optional `id`, `kind` (e.g. social_post) and `context` (a note such as
"Instagram, release day"); or plain text, one golden output per block, blocks separated by blank
lines. Ids must be unique, because each golden output becomes exactly one row that is resumed and
cited by its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidInput
from tools.synth.files import digest, json_objects, looks_like_jsonl, read_input_file

HINT = (
    'Give one JSON object per line with a "text" field (optional "id", "kind", "context"), '
    "or plain texts separated by blank lines."
)


@dataclass(frozen=True)
class GoldenOutput:
    id: str
    text: str
    kind: str = ""
    context: str = ""
    line: int = 0


@dataclass(frozen=True)
class GoldenFile:
    outputs: list[GoldenOutput]
    digest: str


def load_golden_file(path: str | Path) -> GoldenFile:
    """Read and validate a golden file; any fault is one InvalidInput/NotFound line."""
    text = read_input_file(path, "golden", HINT)
    outputs = _from_jsonl(text, path) if looks_like_jsonl(text) else _from_blocks(text)
    seen: dict[str, int] = {}
    for output in outputs:
        if output.id in seen:
            raise InvalidInput(
                f"{path} line {output.line}: id {output.id!r} is already used on line "
                f"{seen[output.id]}.",
                "Give every golden output its own id, or leave ids out.",
            )
        seen[output.id] = output.line
    return GoldenFile(outputs, digest(text))


def _from_jsonl(text: str, path: str | Path) -> list[GoldenOutput]:
    outputs = []
    for number, obj in json_objects(text, path, HINT):
        body = obj.get("text")
        if not isinstance(body, str) or not body.strip():
            raise InvalidInput(f'{path} line {number}: "text" is missing or empty.', HINT)
        for key in ("kind", "context"):
            if key in obj and not isinstance(obj[key], str):
                raise InvalidInput(f'{path} line {number}: "{key}" must be a string.', HINT)
        ident = obj.get("id", f"line-{number}")
        if not isinstance(ident, str | int) or isinstance(ident, bool) or not str(ident).strip():
            raise InvalidInput(f'{path} line {number}: "id" must be a string or a number.', HINT)
        outputs.append(
            GoldenOutput(
                id=str(ident).strip(),
                text=body.strip(),
                kind=obj.get("kind", "").strip(),
                context=obj.get("context", "").strip(),
                line=number,
            )
        )
    return outputs


def _from_blocks(text: str) -> list[GoldenOutput]:
    outputs: list[GoldenOutput] = []
    block: list[str] = []
    start = 0
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line.rstrip())
        elif block:
            outputs.append(GoldenOutput(f"block-{len(outputs) + 1}", "\n".join(block), line=start))
            block = []
    return outputs
