"""FAISS indexes over unit vectors: exact while small, HNSW once large.

Vectors are L2-normalised, so inner product is cosine similarity. A flat index is exact and
fast enough up to tens of thousands of chunks; past `FLAT_MAX` an HNSW graph keeps search
latency low at a small recall cost that `bench/retrieval.py` measures against exact search.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.atomic import write_bytes

if TYPE_CHECKING:
    import faiss
    import numpy as np

FLAT_MAX = 20_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


@dataclass(frozen=True)
class IndexChoice:
    kind: str  # "flat" or "hnsw"
    reason: str


def choose_index(n_vectors: int) -> IndexChoice:
    """Pick the index kind for a collection size, with the reason shown to the person."""
    if n_vectors <= FLAT_MAX:
        return IndexChoice(
            "flat", f"{n_vectors:,} chunks ≤ {FLAT_MAX:,}: exact inner-product search"
        )
    return IndexChoice(
        "hnsw",
        f"{n_vectors:,} chunks > {FLAT_MAX:,}: HNSW graph (M={HNSW_NEIGHBOURS}, "
        f"efSearch={HNSW_EF_SEARCH}) for fast approximate search",
    )


def build_index(vectors: np.ndarray, kind: str | None = None) -> tuple[faiss.Index, IndexChoice]:
    """Build an inner-product index over `vectors` (n, d) float32 unit rows."""
    import faiss
    import numpy as np

    choice = choose_index(len(vectors)) if kind is None else IndexChoice(kind, "requested")
    dim = vectors.shape[1]
    if choice.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif choice.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, choice


def save_index(index: faiss.Index, path: Path) -> None:
    """Write the index atomically (serialised in memory, then one atomic file write)."""
    import faiss

    write_bytes(path, faiss.serialize_index(index).tobytes())


def load_index(path: Path) -> faiss.Index:
    import faiss
    import numpy as np

    index = faiss.deserialize_index(np.fromfile(path, dtype=np.uint8))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def search_index(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query row; ids are -1 where fewer than k vectors exist."""
    import numpy as np

    k = max(1, min(k, index.ntotal)) if index.ntotal else 1
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
