"""Properties every row filter must keep: rows in = rows kept + rows removed with a reason, and the
kept rows are the input's rows (or their edited copies) in input order."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.embeddings import get_embedder
from tools.datasets.quality import dedupe, length_filter, pii_filter
from tools.datasets.rows import OpResult

WORDS = [
    "coffee",
    "Norway",
    "ships",
    "in",
    "five",
    "days",
    "12",
    "euros",
    "call",
    "+44 20 7946 0958",
    "ada@example.com",
    "$17.00",
    "2026-11-27",
    "order #4111111111111111",
    "4111 1111 1111 1111",
]

texts = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)
completion_rows = st.builds(lambda p, c: {"prompt": p, "completion": c}, texts, texts)
text_rows = st.builds(lambda t: {"text": t}, texts)
chat_rows = st.builds(
    lambda u, a: {
        "messages": [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
    },
    texts,
    texts,
)
row_lists = st.lists(st.one_of(completion_rows, text_rows, chat_rows), max_size=12).map(
    lambda rows: [{"id": f"r{i}", **row} for i, row in enumerate(rows)]
)


def assert_partition(rows: list[dict], result: OpResult) -> None:
    kept_ids = [r["id"] for r in result.kept]
    removed_ids = [r.id for r in result.removed]
    assert len(rows) == len(result.kept) + len(result.removed)
    assert all(r.reason.strip() for r in result.removed)
    assert sorted(kept_ids + removed_ids) == sorted(r["id"] for r in rows)
    order = [r["id"] for r in rows if r["id"] in set(kept_ids)]
    assert kept_ids == order  # a subsequence of the input, in input order


@settings(max_examples=80, deadline=None)
@given(row_lists, st.sampled_from(["exact", "minhash"]), st.floats(0.3, 1.0))
def test_dedupe_exact_and_minhash_partition_the_rows(rows, method, threshold):
    result = dedupe(rows, method=method, threshold=threshold)
    assert_partition(rows, result)
    assert all(r is next(x for x in rows if x["id"] == r["id"]) for r in result.kept)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row_lists)
def test_dedupe_embedding_partitions_the_rows(rows):
    assert_partition(rows, dedupe(rows, encoder=get_embedder()))


@settings(max_examples=80, deadline=None)
@given(row_lists, st.integers(0, 6), st.integers(0, 10))
def test_length_filter_partitions_the_rows(rows, low, high):
    result = length_filter(
        rows, lambda t: len(t.split()), min_response=low, max_response=max(low, high)
    )
    assert_partition(rows, result)


@settings(max_examples=80, deadline=None)
@given(row_lists)
def test_pii_drop_partitions_and_redact_leaves_nothing_to_find(rows):
    dropped = pii_filter(rows, mode="drop")
    assert_partition(rows, dropped)
    redacted = pii_filter(rows, mode="redact")
    assert_partition(rows, redacted)
    assert redacted.removed == [] and len(redacted.kept) == len(rows)
    assert pii_filter(redacted.kept, mode="drop").removed == []
    clean = {r["id"] for r in dropped.kept}
    assert [r for r in redacted.kept if r["id"] in clean] == dropped.kept  # clean rows unchanged
