"""Rewrite a subset of rows with a model and an instruction ("make the answers friendlier").

A rewrite touches many rows with a model that can be wrong, so it comes in two steps: preview a
few rows (before/after, nothing stored), then apply to every selected row. A generation that
fails, comes back empty, or runs into its token limit leaves its row as it was and is reported;
it never blocks the others. Row text goes into prompts/dataset_rewrite.yaml inside delimited
blocks as data, and any copy of those delimiters inside the text is defused first, so a row can
not close its block and speak as the instruction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import InvalidInput
from core.models.engine import ChatRequest, Engine, Generation, Progress
from prompts import load_prompt, render
from tools.datasets.fields import TokenCounter
from tools.datasets.operations import get_field, parse_where, resolve_field, set_field
from tools.datasets.predicates import Predicate
from tools.datasets.quality.rowmeta import row_id
from tools.datasets.rows import OpResult, prompt_and_response, row_format
from tools.datasets.validation import DatasetInvalid, validate_row

PROMPT = "dataset_rewrite"
TARGETS = ("response", "prompt")
_DELIMITER = re.compile(r"<(/?)(text_to_rewrite|example_context)", re.IGNORECASE)
_ECHOED = re.compile(r"^\s*<text_to_rewrite>\s*(.*?)\s*</text_to_rewrite>\s*$", re.DOTALL)


@dataclass
class RewritePair:
    """One row's rewrite: the text before and after (after is None when it failed, with why)."""

    id: str
    field: str
    before: str
    after: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _defuse(text: str) -> str:
    """Row text with the delimiter tags made inert: `</text_to_rewrite` becomes `‹/text_...`."""
    return _DELIMITER.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", text)


def _request(row: dict, target: str, instruction: str, max_new_tokens: int) -> ChatRequest:
    prompt, response = prompt_and_response(row)
    text, context = (response, prompt) if target == "response" else (prompt, response)
    variables = {
        "instruction": instruction,
        "target": target,
        "context": _defuse(context),
        "text": _defuse(text),
    }
    messages = [
        {"role": "system", "content": render(PROMPT, "system", **variables).strip()},
        {"role": "user", "content": render(PROMPT, "user", **variables).strip()},
    ]
    return ChatRequest(messages, max_new_tokens=max_new_tokens, temperature=0.0)


def _answer(generation: Generation, limit: int) -> tuple[str | None, str | None]:
    """The rewritten text, or None and why the generation cannot be used."""
    if not generation.ok:
        return None, f"generation failed: {generation.error}"
    if generation.output_tokens >= limit:
        return None, f"the answer reached the {limit}-token limit and is probably cut off"
    echoed = _ECHOED.match(generation.text)
    text = (echoed.group(1) if echoed else generation.text).strip()
    return (text, None) if text else (None, "the model answered with nothing")


def _rewrite(
    rows: list[dict],
    indices: list[int],
    engine: Engine,
    instruction: str,
    target: str,
    *,
    max_new_tokens: int,
    batch_size: int | None,
    progress: Progress | None,
) -> dict[int, tuple[RewritePair, dict | None]]:
    """Rewrite rows[i] for i in indices: index -> (before/after pair, new row or None)."""
    if not instruction or not instruction.strip():
        raise InvalidInput(
            "The rewrite instruction is empty.", 'Say what to change, e.g. "Be brief".'
        )
    if target not in TARGETS:
        raise InvalidInput(f"Cannot rewrite {target!r}.", f"Rewrite one of {', '.join(TARGETS)}.")
    for index in indices:  # refuse up front, before any model time is spent
        resolve_field(rows[index], target)
    requests = [_request(rows[i], target, instruction, max_new_tokens) for i in indices]
    generations = engine.generate(requests, batch_size=batch_size, progress=progress)
    out: dict[int, tuple[RewritePair, dict | None]] = {}
    for index, generation in zip(indices, generations, strict=True):
        row = rows[index]
        path = resolve_field(row, target)
        before = get_field(row, path)
        after, error = _answer(generation, max_new_tokens)
        new_row = None
        if after is not None:
            try:
                new_row = validate_row(set_field(row, path, after), row_format=row_format(row))
            except DatasetInvalid as exc:
                after, error = None, f"the rewritten row is invalid: {exc.message}"
        pair = RewritePair(row_id(row, index), path, before, after, error)
        out[index] = (pair, new_row)
    return out


def _selected(
    rows: list[dict], where: str | Predicate | None, count_tokens: TokenCounter | None
) -> list[int]:
    if where is None:
        return list(range(len(rows)))
    predicate: Callable[[dict], bool] = parse_where(where, rows, count_tokens)
    return [i for i, row in enumerate(rows) if predicate(row)]


def preview_rewrite(
    rows: list[dict],
    engine: Engine,
    instruction: str,
    where: str | Predicate | None = None,
    n: int = 3,
    *,
    target: str = "response",
    max_new_tokens: int = 512,
    count_tokens: TokenCounter | None = None,
) -> list[RewritePair]:
    """Rewrite the first `n` selected rows and return before/after pairs; nothing is stored."""
    indices = _selected(rows, where, count_tokens)[: max(0, n)]
    done = _rewrite(
        rows,
        indices,
        engine,
        instruction,
        target,
        max_new_tokens=max_new_tokens,
        batch_size=None,
        progress=None,
    )
    return [done[i][0] for i in indices]


def apply_rewrite(
    rows: list[dict],
    engine: Engine,
    instruction: str,
    where: str | Predicate | None = None,
    *,
    target: str = "response",
    max_new_tokens: int = 512,
    batch_size: int | None = None,
    progress: Progress | None = None,
    count_tokens: TokenCounter | None = None,
) -> OpResult:
    """Rewrite every selected row; failed rows stay as they were and are listed in the notes.

    Use through `apply_operation(store, ref, "rewrite", {"instruction": ..., "where": ...},
    fn=apply_rewrite, engine=engine)` to store the result as a new version.
    """
    indices = _selected(rows, where, count_tokens)
    if not indices:
        raise InvalidInput(f"No row matches {where!r}.", "Check the filter with `data show` first.")
    done = _rewrite(
        rows,
        indices,
        engine,
        instruction,
        target,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        progress=progress,
    )
    kept = [done[i][1] or row if i in done else row for i, row in enumerate(rows)]
    failed = [{"id": p.id, "error": p.error} for p, new in done.values() if new is None]
    notes = {
        "instruction": instruction,
        "target": target,
        "where": str(where) if where is not None else None,
        "model": engine.ref,
        "prompt_version": load_prompt(PROMPT)["version"],
        "selected": len(indices),
        "rewritten": len(indices) - len(failed),
        "failed": failed,
    }
    return OpResult(kept, notes=notes)
