"""Near-copy detection against seed examples (augment), with the knowledge base's embedder.

An augmented row that restates a seed adds weight to one example instead of new coverage, so it is
refused when its normalised text equals a seed's, or when its embedding is within cosine
NEAR_COPY_COSINE of one. Vectors are unit length (core.embeddings), so cosine is a dot product.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.synth.parsing import normalise, preview

if TYPE_CHECKING:
    from core.embeddings import Embedder
    from tools.synth.seeds import SeedExample

NEAR_COPY_COSINE = 0.9


def pair_text(question: str, answer: str) -> str:
    """How an example is embedded and compared: input and output together."""
    return f"{question}\n{answer}"


class SeedMatcher:
    """Compares candidate examples with the seeds; embeds the seeds once."""

    def __init__(self, seeds: list[SeedExample], embedder: Embedder) -> None:
        self.seeds = seeds
        self.embedder = embedder
        self.vectors = embedder.encode([pair_text(s.input, s.output) for s in seeds])
        self.texts: dict[str, str] = {}
        for seed in seeds:
            for text in (seed.input, seed.output, pair_text(seed.input, seed.output)):
                self.texts.setdefault(normalise(text), seed.id)

    def near_copies(self, pairs: list[tuple[str, str]]) -> list[str | None]:
        """For each (input, output): None, or a detail naming the seed it copies and how."""
        if not pairs:
            return []
        found: list[str | None] = []
        vectors = self.embedder.encode([pair_text(q, a) for q, a in pairs])
        similarity = vectors @ self.vectors.T
        for (question, answer), row in zip(pairs, similarity, strict=True):
            same = next(
                (self.texts[t] for t in map(normalise, (question, answer)) if t in self.texts),
                None,
            )
            best = int(row.argmax())
            if same is not None:
                found.append(f"same text as seed {same}: {preview(question)!r}")
            elif float(row[best]) >= NEAR_COPY_COSINE:
                found.append(f"cosine {float(row[best]):.2f} with seed {self.seeds[best].id}")
            else:
                found.append(None)
        return found
