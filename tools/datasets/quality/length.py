"""Length bounds in tokens of the model that will be trained.

Characters and words mislead: the trainer truncates by tokens of its own tokenizer, and a response
cut at max length teaches the model to stop mid-sentence, while a two-token response teaches it to
be curt. Counting goes through a `count_tokens(text) -> int` callable so any tokenizer fits;
`tokenizer_counter(model_dir)` builds one from a transformers tokenizer folder. The prompt of a
messages row is its turns joined (see rows.prompt_and_response), counted without the chat
template, so bounds are on content, not on template overhead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, ModelUnavailable
from tools.datasets.quality.rowmeta import row_id
from tools.datasets.rows import OpResult, Removal, prompt_and_response

TokenCounter = Callable[[str], int]


def tokenizer_counter(model_dir: str | Path) -> TokenCounter:
    """A token counter for the tokenizer in `model_dir`, loaded on the first count, not before."""
    folder = Path(model_dir).expanduser()
    tokenizer: Any = None

    def count(text: str) -> int:
        nonlocal tokenizer
        if tokenizer is None:
            tokenizer = _load_tokenizer(folder)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def _load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"No tokenizer could be loaded from {folder}: {exc}",
            "Point at the model folder (it holds tokenizer.json or tokenizer_config.json).",
        ) from exc


def length_filter(
    rows: list[dict],
    count_tokens: TokenCounter,
    *,
    min_prompt: int | None = None,
    max_prompt: int | None = None,
    min_response: int | None = None,
    max_response: int | None = None,
    max_total: int | None = None,
) -> OpResult:
    """Keep rows whose prompt, response and total token counts lie within the given bounds.

    A bound left as None is not checked. A removal names the first bound broken, e.g.
    "response too short: 12 tokens < min 20".
    """
    bounds = {
        "min_prompt": min_prompt,
        "max_prompt": max_prompt,
        "min_response": min_response,
        "max_response": max_response,
        "max_total": max_total,
    }
    _check_bounds(bounds)
    kept: list[dict] = []
    removed: list[Removal] = []
    for i, row in enumerate(rows):
        prompt, response = prompt_and_response(row)
        counts = {
            "prompt": count_tokens(prompt) if prompt else 0,
            "response": count_tokens(response),
        }
        counts["total"] = counts["prompt"] + counts["response"]
        reason = _broken_bound(counts, bounds)
        if reason:
            removed.append(Removal(row_id(row, i), reason))
        else:
            kept.append(row)
    notes = {"unit": "tokens", **{k: v for k, v in bounds.items() if v is not None}}
    return OpResult(kept, removed, notes)


def _check_bounds(bounds: dict[str, int | None]) -> None:
    for name, value in bounds.items():
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidInput(
                f"The length bound {name} must be a whole number of tokens >= 0, not {value!r}.",
                f"Use e.g. {name}=20, or leave it unset to skip the check.",
            )
    for part in ("prompt", "response"):
        low, high = bounds[f"min_{part}"], bounds[f"max_{part}"]
        if low is not None and high is not None and low > high:
            raise InvalidInput(
                f"min_{part} ({low}) is larger than max_{part} ({high}): every row would go.",
                f"Swap them or lower min_{part}.",
            )


def _broken_bound(counts: dict[str, int], bounds: dict[str, int | None]) -> str | None:
    for part in ("prompt", "response", "total"):
        low, high, n = bounds.get(f"min_{part}"), bounds.get(f"max_{part}"), counts[part]
        if low is not None and n < low:
            return f"{part} too short: {n} tokens < min {low}"
        if high is not None and n > high:
            return f"{part} too long: {n} tokens > max {high}"
    return None
