"""Seed examples for the augment strategy: a few rows that show the format and style to imitate.

They come from a JSONL file or from a version of an existing dataset, in any of the row formats
(tools/datasets/rows.py); only their input and output text matter here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidInput, NotFound
from core.workspace import Workspace
from tools.datasets.rows import prompt_and_response
from tools.synth.files import digest, json_objects, read_input_file

HINT = (
    'Give rows with "messages" (a user and an assistant turn) or "prompt" and "completion", '
    "one JSON object per line, or a dataset ref such as faq@v2."
)


@dataclass(frozen=True)
class SeedExample:
    id: str
    input: str
    output: str


@dataclass(frozen=True)
class SeedSet:
    examples: list[SeedExample]
    digest: str


def load_seeds(source: str | Path, ws: Workspace) -> SeedSet:
    """Seeds from a JSONL file (when `source` is a file or looks like a path) or a dataset ref."""
    text_source = str(source)
    if Path(text_source).expanduser().exists() or text_source.endswith((".jsonl", ".json")):
        text = read_input_file(source, "seed", HINT)
        return SeedSet(_examples(json_objects(text, source, HINT), str(source)), digest(text))
    from tools.datasets.store import DatasetStore

    try:
        info, rows = DatasetStore(ws).read(text_source)
    except NotFound as exc:
        raise NotFound(f"Seeds {text_source!r}: neither a file nor a dataset.", HINT) from exc
    examples = _examples(enumerate(rows, start=1), info.ref)
    return SeedSet(examples, digest(json.dumps([e.__dict__ for e in examples], sort_keys=True)))


def _examples(rows, label: str) -> list[SeedExample]:
    examples = []
    for number, row in rows:
        if not isinstance(row, dict):
            raise InvalidInput(f"{label} line {number}: not an object.", HINT)
        try:
            prompt, response = prompt_and_response(row)
        except (AttributeError, KeyError, TypeError):
            prompt, response = "", ""
        if not isinstance(prompt, str) or not isinstance(response, str):
            prompt, response = "", ""
        if not prompt.strip() or not response.strip():
            raise InvalidInput(
                f"{label} line {number}: a seed needs both an input and an output.", HINT
            )
        ident = row.get("id", f"line-{number}")
        examples.append(SeedExample(str(ident), prompt.strip(), response.strip()))
    if not examples:
        raise InvalidInput(f"{label} holds no seed examples.", HINT)
    return examples
