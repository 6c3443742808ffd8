"""What a row says about itself, read the same way by the predicates and the stats.

rows.py fixes the row formats; this module answers the questions every operation asks of a row
(its training text, its sources, its split, its scores, how long it is) so that `source == "a.md"`
in a filter and "sources covered" in stats can never disagree about where a row came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.datasets.quality.rowmeta import documents
from tools.datasets.rows import RESERVED_KEYS, meta, row_format

TokenCounter = Callable[[str], int]
"""Counts tokens in a text. The CLI passes the base model's tokenizer; tests use `count_words`."""


def count_words(text: str) -> int:
    """The default token counter: whitespace-separated words (no tokenizer to load)."""
    return len(text.split())


def training_content(row: dict) -> dict[str, Any]:
    """The part of a row the trainer sees: everything but the reserved keys (`id`, `meta`)."""
    return {key: value for key, value in row.items() if key not in RESERVED_KEYS}


def all_text(row: dict) -> str:
    """Every string the trainer sees in the row (system turns included), joined by newlines."""
    if row_format(row) == "messages":
        return "\n".join(str(m.get("content", "")) for m in row.get("messages", []))
    return "\n".join(str(v) for v in training_content(row).values() if isinstance(v, str))


def sources(row: dict) -> list[str]:
    """The documents a row was made from (`meta.sources` and `meta.provenance.sources`).

    The quality pipeline's reading is used, so a filter on `source` and the split grouped by
    document never disagree about where a row came from.
    """
    return documents(row)


def split_of(row: dict) -> str | None:
    """The split a row is in (`meta.split`), or None before the dataset is split."""
    value = meta(row).get("split")
    return value if isinstance(value, str) else None


def scores(row: dict) -> dict[str, float]:
    """The numeric scores quality steps wrote into `meta.scores` (non-numbers are skipped)."""
    found = meta(row).get("scores")
    if not isinstance(found, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in found.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
