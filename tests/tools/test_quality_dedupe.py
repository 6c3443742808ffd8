"""Exact and near-duplicate removal on the real MiniLM, MinHash, and at 5k-row scale."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from core.embeddings import get_embedder
from core.errors import InvalidInput
from tools.datasets.quality import dedupe
from tools.datasets.quality.minhash import jaccard, rows_per_band, shingles


def row(rid: str, prompt: str, response: str) -> dict:
    return {"id": rid, "prompt": prompt, "completion": response}


NORWAY = row(
    "a",
    "How much does shipping to Norway cost?",
    "Shipping to Norway costs 12 euros and takes five days.",
)
REWORDED = row(  # cosine ~0.98 on both prompt and response: a near duplicate of NORWAY
    "b", "How much is shipping to Norway?", "Shipping to Norway costs 12 euros and takes 5 days."
)
RELATED = row(  # same topic, other wording: cosine ~0.81, not a duplicate at 0.95
    "c", "What does delivery to Norway cost?", "We deliver to Norway for a fee of 12 euros."
)
OTHER = row("d", "Which coffee suits espresso?", "Our Brazil Cerrado makes a sweet espresso.")


@pytest.fixture(scope="module")
def encoder():
    return get_embedder()


def cosine(encoder, a: str, b: str) -> float:
    va, vb = encoder.encode([a, b])
    return float(va @ vb)


def test_exact_duplicates_ignore_case_and_whitespace():
    copy = row("a2", "  how much does SHIPPING to norway cost? ", NORWAY["completion"].upper())
    result = dedupe([NORWAY, copy, OTHER], method="exact")
    assert result.kept == [NORWAY, OTHER]
    assert [(r.id, r.reason) for r in result.removed] == [("a2", "exact duplicate: same as a")]
    assert result.notes == {"method": "exact", "exact_removed": 1, "threshold": None}


def test_near_duplicate_at_097_is_removed_and_080_is_kept(encoder):
    near = min(
        cosine(encoder, NORWAY["prompt"], REWORDED["prompt"]),
        cosine(encoder, NORWAY["completion"], REWORDED["completion"]),
    )
    related = min(
        cosine(encoder, NORWAY["prompt"], RELATED["prompt"]),
        cosine(encoder, NORWAY["completion"], RELATED["completion"]),
    )
    assert 0.96 < near < 0.99 and 0.75 < related < 0.85  # the premise of this test

    result = dedupe([NORWAY, REWORDED, RELATED, OTHER], encoder=encoder)
    assert [r["id"] for r in result.kept] == ["a", "c", "d"]
    [removal] = result.removed
    assert removal.id == "b"
    assert removal.reason == f"near duplicate: of a, cosine {near:.3f} >= 0.95"
    assert result.notes["method"] == "embedding" and result.notes["threshold"] == 0.95
    assert result.notes["model"] == "builtin:all-minilm-l6-v2"
    assert result.notes["near_removed"] == 1 and result.notes["exact_removed"] == 0

    looser = dedupe([NORWAY, REWORDED, RELATED, OTHER], threshold=0.8, encoder=encoder)
    assert [r["id"] for r in looser.kept] == ["a", "d"]
    assert looser.removed[1].reason.startswith("near duplicate: of a, cosine 0.8")


def test_same_answer_to_a_different_question_is_not_a_duplicate(encoder):
    other_question = row("e", "Do you sell gift cards?", NORWAY["completion"])
    result = dedupe([NORWAY, other_question], encoder=encoder)
    assert result.removed == []


def test_text_rows_compare_on_the_response_alone(encoder):
    rows = [
        {"id": "t1", "text": NORWAY["completion"]},
        {"id": "t2", "text": REWORDED["completion"]},
    ]
    result = dedupe(rows, encoder=encoder)
    assert [r.id for r in result.removed] == ["t2"]


def test_minhash_removes_a_copy_with_one_word_changed():
    text = "the roastery ships every order within two working days from our warehouse in Bergen"
    rows = [
        row("1", "When do orders ship?", text),
        row("2", "When do orders ship?", text.replace("Bergen", "Oslo")),
        row("3", "Do you roast decaf?", "Yes, a Swiss Water decaf from Colombia, roasted weekly."),
    ]
    result = dedupe(rows, method="minhash")
    [removal] = result.removed
    expected = jaccard(
        shingles(rows[0]["prompt"] + "\n" + text),
        shingles(rows[1]["prompt"] + "\n" + rows[1]["completion"]),
    )
    assert removal.id == "2"
    assert removal.reason == f"near duplicate: of 1, Jaccard {expected:.3f} >= 0.8"
    assert result.notes["method"] == "minhash" and result.notes["threshold"] == 0.8


def test_a_chain_never_removes_a_row_unlike_every_kept_row():
    words = [f"w{i}" for i in range(20)]
    a, b, c = (" ".join(words[k : k + 10]) for k in (0, 1, 2))  # J(a,b)=J(b,c)=0.82, J(a,c)=0.67
    rows = [{"id": "a", "text": a}, {"id": "b", "text": b}, {"id": "c", "text": c}]
    result = dedupe(rows, method="minhash", threshold=0.75, shingle_words=1)
    assert [r["id"] for r in result.kept] == ["a", "c"]
    assert [r.id for r in result.removed] == ["b"]


def test_band_width_catches_pairs_at_the_threshold():
    r = rows_per_band(0.8, 128)
    assert 128 % r == 0
    assert 1 - (1 - 0.8**r) ** (128 // r) >= 0.99


@pytest.mark.parametrize(
    ("method", "threshold"), [("cosine", None), ("embedding", 1.5), ("minhash", 0.0)]
)
def test_bad_method_or_threshold_is_refused_with_a_hint(method, threshold):
    with pytest.raises(InvalidInput) as err:
        dedupe([NORWAY], method=method, threshold=threshold)
    assert err.value.hint


def _planted(n: int, copies: int, seed: int = 0) -> tuple[list[dict], set[str]]:
    """n distinct random rows, then `copies` of them again with the last word changed."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    rows = [
        row(f"r{i:05d}", " ".join(rng.choices(vocab, k=12)), " ".join(rng.choices(vocab, k=30)))
        for i in range(n)
    ]
    planted = set()
    for k, source in enumerate(rng.sample(rows, copies)):
        changed = source["completion"].rsplit(" ", 1)[0] + " changed"
        planted.add(f"p{k:05d}")
        rows.append(row(f"p{k:05d}", source["prompt"], changed))
    return rows, planted


def test_minhash_on_5k_rows_runs_in_seconds():
    rows, planted = _planted(5000, 100)
    started = time.perf_counter()
    result = dedupe(rows, method="minhash")
    assert time.perf_counter() - started < 10
    assert {r.id for r in result.removed} == planted


class PrecomputedVectors:
    """The Encoder interface over vectors made in advance: MiniLM would spend ~90 s on 10k texts
    on one CPU thread, and this test measures the similarity search, not the encoder."""

    ref = "precomputed"

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def encode(self, texts):
        return np.stack([self.vectors[t] for t in texts])


def test_embedding_search_on_5k_rows_runs_in_seconds():
    rows, planted = _planted(5000, 100)
    rng = np.random.default_rng(0)
    vectors = {}
    for r in rows[:5000]:
        for text in (r["prompt"], r["completion"]):
            v = rng.standard_normal(384).astype(np.float32)
            vectors[text] = v / np.linalg.norm(v)
    by_prompt = {r["prompt"]: r for r in rows[:5000]}
    for r in rows[5000:]:  # a planted copy: its source's response vector, slightly moved
        source = vectors[by_prompt[r["prompt"]]["completion"]]
        noisy = source + 0.05 * rng.standard_normal(384).astype(np.float32) / np.sqrt(384)
        vectors[r["completion"]] = noisy / np.linalg.norm(noisy)
    started = time.perf_counter()
    result = dedupe(rows, encoder=PrecomputedVectors(vectors))
    assert time.perf_counter() - started < 10
    assert {r.id for r in result.removed} == planted
    assert len(result.kept) == 5000
