"""Data profiles: how many rows and how long they are, in the base model's own tokens.

The recipe's max_length, epochs and batch sizes all follow from these numbers, so they are
counted the way the trainer will see the rows (chat template applied, end-of-sequence included).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput
from tools.datasets.rows import meta, row_format

TokenCounter = Callable[[str], int]
LENGTH_PERCENTILE = 95
EOS_ALLOWANCE = 1  # a plain token counter does not see the end-of-sequence token the trainer adds


@dataclass
class DataProfile:
    """Size and token statistics of a dataset version, in the base model's tokens.

    Lengths are of the whole formatted example as the trainer sees it (chat template applied,
    end-of-sequence token included) over all rows; `total_tokens` sums the train rows only, since
    that is what an epoch trains on. Rows without a split count as train rows.
    """

    rows: int
    train_rows: int
    eval_rows: int
    row_format: str
    p50_tokens: int
    p95_tokens: int
    max_tokens: int
    total_tokens: int


def profile_dataset(
    rows: list[dict], count_tokens: TokenCounter | None = None, *, tokenizer: Any = None
) -> DataProfile:
    """Token statistics of `rows`, counted with `tokenizer` (preferred) or `count_tokens`.

    With a tokenizer, messages rows are rendered with its chat template and everything is
    tokenized in one batch (fast tokenizers run that in Rust); with only a counter, messages rows
    are joined as `role: content` lines, an approximation of the template.
    """
    if tokenizer is None and count_tokens is None:
        raise InvalidInput("profile_dataset needs a tokenizer or a token counter.", "Pass one.")
    texts = [_example_text(row, tokenizer) for row in rows]
    if tokenizer is not None:
        encoded = (
            tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"] if texts else []
        )
        lengths = [len(ids) for ids in encoded]
    else:
        lengths = [count_tokens(text) + EOS_ALLOWANCE for text in texts]  # type: ignore[misc]
    splits = [_split(row) for row in rows]
    train_lengths = [n for n, split in zip(lengths, splits, strict=True) if split != "eval"]
    formats = Counter(row_format(row) for row in rows)
    ordered = sorted(lengths)
    return DataProfile(
        rows=len(rows),
        train_rows=len(train_lengths),
        eval_rows=len(rows) - len(train_lengths),
        row_format=formats.most_common(1)[0][0] if formats else "messages",
        p50_tokens=_percentile(ordered, 50),
        p95_tokens=_percentile(ordered, LENGTH_PERCENTILE),
        max_tokens=ordered[-1] if ordered else 0,
        total_tokens=sum(train_lengths),
    )


def _example_text(row: dict, tokenizer: Any) -> str:
    """The example as the trainer formats it: chat template for messages, plus EOS otherwise."""
    fmt = row_format(row)
    eos = (getattr(tokenizer, "eos_token", None) or "") if tokenizer is not None else ""
    if fmt == "messages":
        messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
        if tokenizer is not None and getattr(tokenizer, "chat_template", None):
            return tokenizer.apply_chat_template(messages, tokenize=False)
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + eos
    if fmt == "completion":
        return row.get("prompt", "") + row.get("completion", "") + eos
    return row.get("text", "") + eos


def _split(row: dict) -> str:
    return str(meta(row).get("split", "train"))


def _percentile(ordered: list[int], pct: int) -> int:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
