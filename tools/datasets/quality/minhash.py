"""MinHash near-duplicate search over word shingles, in numpy (no extra dependency).

A row becomes the set of its `k`-word shingles (k=3 by default; a text shorter than k words is one
shingle). Two rows are near duplicates when the Jaccard similarity of their shingle sets,
|A ∩ B| / |A ∪ B|, reaches the threshold.

Comparing every pair is quadratic, so MinHash + LSH banding proposes candidates first:
    h_i(x) = (a_i * x + b_i) mod p,  p = 2^31 - 1,  x = crc32(shingle) mod p,  i = 1..num_perm
    signature_i(A) = min over x in A of h_i(x)      (P[sig_i(A) = sig_i(B)] = Jaccard(A, B))
The signature is cut into b bands of r values; rows that agree on a whole band share a bucket and
become candidates, which happens with probability 1 - (1 - J^r)^b. r is chosen as the largest
divisor of num_perm that still catches a pair at the threshold with probability >= 0.99. Each
candidate is then checked with the exact Jaccard of the shingle sets, so a reported similarity is
never an estimate and there are no false positives; a rare pair at the threshold may be missed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from tools.datasets.quality.text import words

_PRIME = (1 << 31) - 1
CATCH_PROBABILITY = 0.99


def shingles(text: str, k: int = 3) -> frozenset[int]:
    """The hashed `k`-word shingles of `text` (empty for a text without words)."""
    tokens = words(text)
    if not tokens:
        return frozenset()
    if len(tokens) <= k:
        grams = [" ".join(tokens)]
    else:
        grams = [" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]
    return frozenset(zlib.crc32(g.encode()) % _PRIME for g in grams)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def rows_per_band(threshold: float, num_perm: int) -> int:
    """The largest band width r (a divisor of num_perm) that still catches pairs at `threshold`."""
    best = 1
    for r in range(1, num_perm + 1):
        if num_perm % r:
            continue
        bands = num_perm // r
        if 1 - (1 - threshold**r) ** bands >= CATCH_PROBABILITY:
            best = r
    return best


class MinHashIndex:
    """Near-duplicate lookup by Jaccard over word shingles; rows join the index with `add`."""

    metric = "Jaccard"

    def __init__(
        self,
        texts: Sequence[str],
        threshold: float,
        *,
        num_perm: int = 128,
        shingle_words: int = 3,
        seed: int = 1,
    ) -> None:
        self.threshold = threshold
        self.sets = [shingles(t, shingle_words) for t in texts]
        rng = np.random.default_rng(seed)
        a = rng.integers(1, _PRIME, size=num_perm, dtype=np.uint64)
        b = rng.integers(0, _PRIME, size=num_perm, dtype=np.uint64)
        self.rows_per_band = rows_per_band(threshold, num_perm)
        self._keys = [self._band_keys(s, a, b) for s in self.sets]
        self._buckets: dict[tuple[int, bytes], list[int]] = {}

    def _band_keys(self, items: frozenset[int], a: np.ndarray, b: np.ndarray) -> list:
        if not items:
            return []
        x = np.fromiter(items, dtype=np.uint64, count=len(items))
        signature = ((a[:, None] * x[None, :] + b[:, None]) % _PRIME).min(axis=1)
        bands = signature.reshape(-1, self.rows_per_band)
        return [(i, band.tobytes()) for i, band in enumerate(bands)]

    def add(self, j: int) -> None:
        for key in self._keys[j]:
            self._buckets.setdefault(key, []).append(j)

    def best(self, j: int) -> tuple[int, float] | None:
        """The added row most similar to row `j`, if its Jaccard reaches the threshold."""
        candidates = {i for key in self._keys[j] for i in self._buckets.get(key, ())}
        scored = [(jaccard(self.sets[j], self.sets[i]), -i) for i in candidates if i != j]
        if not scored:
            return None
        similarity, neg_i = max(scored)
        return (-neg_i, similarity) if similarity >= self.threshold else None
