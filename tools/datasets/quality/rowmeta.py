"""Reading and updating the reserved `id` and `meta` keys of rows without mutating the input.

Quality checks never change the rows they are given: the caller's list is an earlier dataset
version, and versions are immutable. Updates return a new row with a new meta dict.
"""

from __future__ import annotations

from typing import Any

from tools.datasets.rows import meta


def row_id(row: dict, index: int) -> str:
    """The row's id, or `#<index>` for a row that has none yet (so a removal can still name it)."""
    return str(row["id"]) if "id" in row else f"#{index}"


def with_meta(row: dict, **updates: Any) -> dict:
    """A copy of `row` whose meta has `updates` applied (other meta keys kept)."""
    return {**row, "meta": {**meta(row), **updates}}


def with_score(row: dict, name: str, value: float) -> dict:
    """A copy of `row` with `meta.scores[name] = value`."""
    scores = meta(row).get("scores")
    scores = dict(scores) if isinstance(scores, dict) else {}
    scores[name] = value
    return with_meta(row, scores=scores)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int) and str(v)]
    return []


def provenance(row: dict) -> dict[str, Any]:
    value = meta(row).get("provenance")
    return value if isinstance(value, dict) else {}


def documents(row: dict) -> list[str]:
    """The source documents a row was made from: meta.sources plus meta.provenance.sources."""
    found = _strings(meta(row).get("sources")) + _strings(provenance(row).get("sources"))
    return list(dict.fromkeys(found))


def chunk_ids(row: dict) -> list[str]:
    """The knowledge-base chunks a row was made from (meta.provenance.chunk_ids)."""
    return list(dict.fromkeys(_strings(provenance(row).get("chunk_ids"))))


def context_texts(row: dict) -> list[str]:
    """Source text carried in the row itself (meta.context: a string or a list of strings)."""
    return _strings(meta(row).get("context"))
