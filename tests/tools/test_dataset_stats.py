"""Dataset statistics and the token-length histogram PNG."""

from __future__ import annotations

import struct

from tools.datasets.stats import UNSPLIT, LengthStats, dataset_stats


def _row(i: int, prompt_words: int, response_words: int, **meta) -> dict:
    row = {"id": f"r{i}", "prompt": " ".join(["ask"] * prompt_words)}
    row["completion"] = " ".join(["say"] * response_words)
    return {**row, "meta": meta} if meta else row


ROWS = [
    _row(1, 2, 10, sources=["faq.md"], split="train", scores={"grounding": 0.5}),
    _row(2, 4, 20, sources=["faq.md", "products.md"], split="train", scores={"grounding": 1.0}),
    _row(3, 6, 30, provenance={"sources": ["returns.pdf"]}, split="eval"),
    _row(4, 8, 40),
    {"id": "r5", "prompt": "ASK  ask", "completion": " ".join(["say"] * 10)},  # duplicate of r1
]


def test_counts_lengths_sources_duplicates_splits_and_scores():
    stats = dataset_stats(ROWS)
    assert stats.rows == 5 and stats.row_format == "completion"
    assert stats.prompt_tokens == LengthStats(min=2, median=4.0, p95=8, max=8, mean=4.4)
    assert stats.response_tokens == LengthStats(min=10, median=20.0, p95=40, max=40, mean=22.0)
    assert stats.sources == {"faq.md": 2, "products.md": 1, "returns.pdf": 1}
    assert stats.rows_without_source == 2
    assert stats.exact_duplicates == 1  # r5 repeats r1 once case and spacing are ignored
    assert stats.splits == {"eval": 1, "train": 2, UNSPLIT: 2}
    assert stats.scores == {"grounding": {"rows": 2, "mean": 0.75, "min": 0.5, "max": 1.0}}
    assert stats.histogram is None and stats.to_dict()["prompt_tokens"]["p95"] == 8


def test_the_token_counter_is_injectable_and_p95_is_nearest_rank():
    stats = dataset_stats(ROWS, count_tokens=len)  # characters
    assert stats.prompt_tokens.max == len(" ".join(["ask"] * 8))
    assert LengthStats.of(list(range(1, 101))).p95 == 95
    assert LengthStats.of([]) == LengthStats()


def test_histogram_is_a_valid_png(tmp_path):
    path = tmp_path / "plots" / "lengths.png"
    stats = dataset_stats(ROWS, histogram=path)
    assert stats.histogram == str(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (800, 320)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left
