"""Near-duplicate lookup: "which row already kept is most like this one?", by embedding or MinHash.

Dedupe asks it row by row (keeping the first of each cluster) and the leakage check asks it for
eval rows against train rows, so both share one index type with two methods:

* `add(j)` puts row j among the rows that can be matched;
* `best(j)` returns the added row most similar to row j, with its similarity, when that
  similarity reaches the threshold, else None.

Embedding similarity of two rows is min(cos(prompt_a, prompt_b), cos(response_a, response_b)) with
MiniLM unit vectors, so two rows are near duplicates only when they ask *and* answer nearly the same
thing; embedding prompt and response apart also keeps a long prompt from truncating the response
out of MiniLM's 256-token window. Rows without prompts (text rows) compare on the response alone.
Similarities are computed a block of rows at a time (one matrix product per block against all
rows), so the search over 5,000 rows takes about a second on one CPU thread after encoding
(encoding itself is the cost: ~100 short texts/s for MiniLM on one CPU thread, far more on a GPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from core.errors import InvalidInput
from tools.datasets.quality.minhash import MinHashIndex
from tools.datasets.quality.text import row_text
from tools.datasets.rows import prompt_and_response

if TYPE_CHECKING:
    import numpy as np

METHODS = ("embedding", "minhash")
DEFAULT_THRESHOLDS = {"embedding": 0.95, "minhash": 0.8}


class Encoder(Protocol):
    """What dedupe needs from an embedder: `core.embeddings.Embedder` satisfies it."""

    ref: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class NearIndex(Protocol):
    metric: str
    threshold: float

    def add(self, j: int) -> None: ...

    def best(self, j: int) -> tuple[int, float] | None: ...


class EmbeddingIndex:
    """Cosine lookup over one or more aligned sets of unit vectors (similarity = min over sets)."""

    metric = "cosine"

    def __init__(self, parts: Sequence[np.ndarray], threshold: float, block: int = 256) -> None:
        import numpy as np

        if not parts or any(p.shape[0] != parts[0].shape[0] for p in parts):
            raise ValueError("EmbeddingIndex needs one or more vector arrays with equal row counts")
        self.parts = [np.ascontiguousarray(p, dtype=np.float32) for p in parts]
        self.threshold = threshold
        self.block = block
        self._added = np.zeros(parts[0].shape[0], dtype=bool)
        self._cached: tuple[int, np.ndarray] | None = None

    def add(self, j: int) -> None:
        self._added[j] = True

    def _similarities(self, j: int) -> np.ndarray:
        """Row j's similarity to every row, from the cached block of rows around j."""
        import numpy as np

        start = j - j % self.block
        if self._cached is None or self._cached[0] != start:
            stop = start + self.block
            sims = [p[start:stop] @ p.T for p in self.parts]
            self._cached = (start, np.minimum.reduce(sims) if len(sims) > 1 else sims[0])
        return self._cached[1][j - start]

    def best(self, j: int) -> tuple[int, float] | None:
        import numpy as np

        sims = self._similarities(j)
        candidates = np.flatnonzero(self._added & (sims >= self.threshold))
        candidates = candidates[candidates != j]
        if candidates.size == 0:
            return None
        i = int(candidates[np.argmax(sims[candidates])])
        return i, min(1.0, float(sims[i]))


def encode_unique(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Encode each distinct text once (shared prompts are common) and spread the vectors back."""
    import numpy as np

    distinct = list(dict.fromkeys(texts))
    vectors = encoder.encode(distinct)
    position = {t: i for i, t in enumerate(distinct)}
    return vectors[np.array([position[t] for t in texts], dtype=np.int64)]


def embedding_parts(rows: Sequence[dict], encoder: Encoder) -> list[np.ndarray]:
    """[prompt vectors, response vectors], or only response vectors when no row has a prompt."""
    pairs = [prompt_and_response(r) for r in rows]
    responses = encode_unique(encoder, [r for _, r in pairs])
    if not any(p.strip() for p, _ in pairs):
        return [responses]
    return [encode_unique(encoder, [p for p, _ in pairs]), responses]


def check_threshold(method: str, threshold: float | None) -> float:
    """The threshold to use for `method`: the default when None, else validated."""
    if method not in METHODS:
        raise InvalidInput(
            f"Unknown near-duplicate method {method!r}.", f"Use one of: {', '.join(METHODS)}."
        )
    if threshold is None:
        return DEFAULT_THRESHOLDS[method]
    if not 0 < threshold <= 1:
        raise InvalidInput(
            f"A similarity threshold must be in (0, 1], not {threshold}.",
            f"Try {DEFAULT_THRESHOLDS[method]} (the default for {method}).",
        )
    return float(threshold)


def build_index(
    rows: Sequence[dict],
    method: str,
    threshold: float,
    *,
    encoder: Encoder | None = None,
    shingle_words: int = 3,
) -> NearIndex:
    """An empty index over `rows` (nothing added yet) for `method` at `threshold`."""
    if method == "minhash":
        return MinHashIndex([row_text(r) for r in rows], threshold, shingle_words=shingle_words)
    return EmbeddingIndex(embedding_parts(rows, encoder or default_encoder()), threshold)


def default_encoder() -> Encoder:
    """The builtin MiniLM, loaded once per process."""
    from core.embeddings import get_embedder

    return get_embedder()
