"""What a dataset version holds: counts, token lengths, sources, duplicates, splits and scores.

These numbers drive decisions downstream (max sequence length of a recipe, whether to dedupe,
whether the eval split is big enough), so lengths are counted with an injected token counter:
the CLI passes the base model's tokenizer, and the default (whitespace words) is only a rough
guide. The histogram is a PNG drawn by matplotlib's Agg renderer, imported only when asked for.
"""

from __future__ import annotations

import io
import math
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.atomic import write_bytes
from tools.datasets import fields
from tools.datasets.fields import TokenCounter, count_words
from tools.datasets.quality.text import row_key
from tools.datasets.rows import prompt_and_response, row_format

UNSPLIT = "unsplit"
"""The split count key for rows without `meta.split` (before the dataset is split)."""


@dataclass
class LengthStats:
    """min / median / p95 / max of token lengths (p95: nearest rank)."""

    min: int = 0
    median: float = 0.0
    p95: int = 0
    max: int = 0
    mean: float = 0.0

    @classmethod
    def of(cls, values: list[int]) -> LengthStats:
        if not values:
            return cls()
        ordered = sorted(values)
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
        mean = round(statistics.fmean(ordered), 2)
        return cls(ordered[0], float(statistics.median(ordered)), p95, ordered[-1], mean)


@dataclass
class DatasetStats:
    rows: int
    row_format: str | None
    prompt_tokens: LengthStats
    response_tokens: LengthStats
    sources: dict[str, int]  # document -> rows made from it
    rows_without_source: int
    exact_duplicates: int  # rows whose prompt + response repeat an earlier row's (case/space aside)
    splits: dict[str, int]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> rows/mean/min/max
    histogram: str | None = None  # path of the PNG, when one was drawn

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def token_lengths(rows: list[dict], count_tokens: TokenCounter) -> tuple[list[int], list[int]]:
    """The prompt and the response token count of every row."""
    pairs = [prompt_and_response(row) for row in rows]
    return [count_tokens(p) for p, _ in pairs], [count_tokens(r) for _, r in pairs]


def _score_summary(rows: list[dict]) -> dict[str, dict[str, float]]:
    values: dict[str, list[float]] = {}
    for row in rows:
        for name, value in fields.scores(row).items():
            values.setdefault(name, []).append(value)
    return {
        name: {
            "rows": len(found),
            "mean": round(statistics.fmean(found), 4),
            "min": min(found),
            "max": max(found),
        }
        for name, found in sorted(values.items())
    }


def dataset_stats(
    rows: list[dict],
    *,
    count_tokens: TokenCounter | None = None,
    histogram: str | Path | None = None,
    unit: str = "tokens",
) -> DatasetStats:
    """Summarise `rows`; with `histogram`, also draw the token-length histogram to that PNG path."""
    prompts, responses = token_lengths(rows, count_tokens or count_words)
    sources: Counter = Counter()
    without_source = 0
    for row in rows:
        found = fields.sources(row)
        sources.update(found)
        without_source += not found
    splits = Counter(fields.split_of(row) or UNSPLIT for row in rows)
    keys = [row_key(row) for row in rows]
    stats = DatasetStats(
        rows=len(rows),
        row_format=row_format(rows[0]) if rows else None,
        prompt_tokens=LengthStats.of(prompts),
        response_tokens=LengthStats.of(responses),
        sources=dict(sources.most_common()),
        rows_without_source=without_source,
        exact_duplicates=len(keys) - len(set(keys)),
        splits=dict(sorted(splits.items())),
        scores=_score_summary(rows),
    )
    if histogram is not None:
        stats.histogram = str(save_histogram(prompts, responses, Path(histogram), unit))
    return stats


def save_histogram(
    prompt_lengths: list[int], response_lengths: list[int], path: Path, unit: str = "tokens"
) -> Path:
    """Draw prompt and response lengths (in `unit`) as two histograms in one PNG, atomically."""
    # A bare Figure renders PNGs with the Agg canvas without touching pyplot's global backend,
    # so a GUI process (Gradio) that plots elsewhere is not switched over.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2), dpi=100)
    for axes, lengths, title in zip(
        figure.subplots(1, 2),
        (prompt_lengths, response_lengths),
        (f"prompt {unit}", f"response {unit}"),
        strict=True,
    ):
        axes.hist(lengths or [0], bins=min(40, max(1, len(set(lengths)))), color="#4C72B0")
        axes.set_title(f"{title} (n={len(lengths)})")
        axes.set_xlabel(unit)
        axes.set_ylabel("rows")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    write_bytes(path, buffer.getvalue())
    return path
