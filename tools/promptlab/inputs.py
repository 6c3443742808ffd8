"""Inputs for the prompt lab, from wherever the person has them.

    load_inputs(["Do you ship abroad?", "Is the decaf organic?"])   typed in
    load_inputs("questions.jsonl")   {"input": ..., "reference": optional, other template fields}
    load_inputs("questions.txt")     one input per non-blank line
    load_inputs("faq@v2")            a dataset version: its eval split, else its first rows
    load_inputs("usecase")           the examples of the use case (`usecase:PROJECT` for another)

A reference answer travels with an input where one exists (a dataset row's last assistant turn,
a use-case example's output), so the lab can score outputs the way evaluation does. Bad lines
are refused with their line number rather than skipped: a silently shorter input set would make
two experiments look comparable when they are not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, NotFound

DATASET_ROWS = 20
"""Rows taken from a dataset without an eval split (and no `limit`): enough to compare models
side by side, few enough that a CPU run of several models stays in minutes."""

USECASE = "usecase"


@dataclass(frozen=True)
class LabInput:
    """One input row: the text, an optional reference answer, and extra template fields."""

    id: str
    input: str
    reference: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """What the template is rendered with: the extra fields plus `input`."""
        return {**self.fields, "input": self.input}


def load_inputs(
    spec: str | Path | Sequence[str | dict | LabInput],
    ws: Any = None,
    limit: int | None = None,
    *,
    project: str = "default",
) -> list[LabInput]:
    """The inputs `spec` names (see the module doc), at most `limit` of them.

    A bare 'usecase' means `project`'s use case, so an experiment for a project tries that
    project's examples; 'usecase:OTHER' names another project explicitly.
    """
    if limit is not None and limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {limit}.", "Leave it out for all.")
    if isinstance(spec, Path):
        found = _from_file(spec)
    elif isinstance(spec, str):
        found = _from_text_spec(spec.strip(), ws, limit, project)
    elif isinstance(spec, Sequence):
        found = [_from_item(item, i) for i, item in enumerate(spec, 1)]
    else:
        raise InvalidInput(
            f"Inputs must be a file, a dataset NAME@vN, 'usecase' or a list, not {spec!r}.",
            "e.g. --inputs questions.jsonl, --inputs faq@v2 or --input 'Do you ship abroad?'.",
        )
    found = found[:limit] if limit else found
    if not found:
        raise InvalidInput(f"No inputs found in {spec!r}.", "Give at least one input.")
    return found


def _from_text_spec(spec: str, ws: Any, limit: int | None, project: str) -> list[LabInput]:
    if spec == USECASE or spec.startswith(USECASE + ":"):
        return _from_use_case(spec.partition(":")[2] or project, ws)
    path = Path(spec).expanduser()
    if path.is_file():
        return _from_file(path)
    if "@v" in spec and "/" not in spec:
        return _from_dataset(spec, ws, limit)
    raise NotFound(
        f"{spec!r} is neither a file, a dataset version NAME@vN, nor 'usecase'.",
        "Check the path, or run `tunesmith data list` for dataset names.",
    )


def _from_item(item: str | dict | LabInput, number: int) -> LabInput:
    if isinstance(item, LabInput):
        return item
    if isinstance(item, str):
        if not item.strip():
            raise InvalidInput(f"Input {number} is blank.", "Type the text of each input.")
        return LabInput(f"in{number}", item)
    if isinstance(item, dict):
        return _from_row(item, number, f"input {number}")
    raise InvalidInput(f"Input {number} is {type(item).__name__}, not text.", "Pass strings.")


def _from_row(row: dict, number: int, where: str) -> LabInput:
    text = row.get("input")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            f"{where} has no non-empty 'input' text.",
            'Each row needs {"input": "..."}; "reference" and other template fields are optional.',
        )
    reference = row.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise InvalidInput(f"{where}: 'reference' must be text.", "Quote the reference answer.")
    extra = {k: v for k, v in row.items() if k not in ("id", "input", "reference")}
    return LabInput(str(row.get("id") or f"in{number}"), text, reference, extra)


def _from_file(path: Path) -> list[LabInput]:
    if not path.is_file():
        raise NotFound(f"Input file {path} does not exist.", "Check the path.")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".txt"):
        raise InvalidInput(
            f"{path.name}: input files must be .jsonl or .txt, not {suffix or 'no suffix'}.",
            'Write one {"input": ...} object per line (.jsonl) or one input per line (.txt).',
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text.", "Save it as UTF-8.") from None
    if suffix == ".txt":
        texts = [line.strip() for line in lines if line.strip()]
        return [LabInput(f"in{n}", text) for n, text in enumerate(texts, 1)]
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise InvalidInput(
                f"{path.name} line {number} is not JSON: {error}.", "One JSON object per line."
            ) from None
        if not isinstance(row, dict):
            raise InvalidInput(f"{path.name} line {number} is not a JSON object.", '{"input": ..}')
        found.append(_from_row(row, number, f"{path.name} line {number}"))
    return found


def _from_dataset(spec: str, ws: Any, limit: int | None) -> list[LabInput]:
    """The eval split when the version has one, else its first rows; references from the rows."""
    from tools.datasets.rows import meta
    from tools.datasets.store import DatasetStore
    from tools.evaluation.runner import example_from_row

    info, rows = DatasetStore(ws).read(spec)
    held_out = [(i, r) for i, r in enumerate(rows) if meta(r).get("split") == "eval"]
    chosen = held_out or list(enumerate(rows))[: limit or DATASET_ROWS]
    found = []
    for index, row in chosen:
        example = example_from_row(row, index)
        if example is not None and example.input.strip():
            found.append(LabInput(example.id, example.input, example.reference or None))
    if not found:
        raise InvalidInput(
            f"{info.ref} has no rows with a user turn to use as input.",
            "Use a dataset of chat (messages) or prompt/completion rows.",
        )
    return found


def _from_use_case(project: str, ws: Any) -> list[LabInput]:
    from tools.usecase import get_use_case

    examples = get_use_case(project, ws).examples
    if not examples:
        raise InvalidInput(
            f"Project {project!r} has no use-case examples.",
            "Add some (the agent asks for them, or set_use_case(examples=[...])), "
            "or pass --input / --inputs instead.",
        )
    return [
        LabInput(f"uc{n}", e["input"], e.get("output") or None) for n, e in enumerate(examples, 1)
    ]
