"""Intent routing by meaning: which tool does a message ask for?

Every tool declares example phrasings. The router embeds them once with MiniLM
(core.embeddings) and scores a message against each tool twice: against the tool's prototype
(the normalised mean of its examples: what the tool is about overall) and against its two
nearest examples (a specific phrasing the prototype blurs). The score is the mean of the two.
Of the rules compared on the held-out paraphrases (best example, top 2, top 3, prototype, with
or without the description), this one routed best. Below a similarity floor the router says it
does not know, and the guide admits it rather than guessing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

FLOOR = 0.3
"""Below this best score a message is 'not understood': off-topic messages ('what is the weather
in Paris?') score about 0.2, routed paraphrases mostly above 0.4."""
TOP_PER_TOOL = 2

_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Route:
    """The best tool for a message (None when below the floor), its score, and the ranking."""

    tool: str | None
    score: float
    ranking: tuple[tuple[str, float], ...]


class Router:
    """Score messages against the example phrasings of every tool in a registry."""

    def __init__(self, registry: Any, floor: float = FLOOR) -> None:
        self.floor = floor
        self.names: list[str] = []
        self.phrases: list[str] = []
        for spec in registry:
            for phrase in spec.examples:
                self.names.append(spec.name)
                self.phrases.append(phrase)
        self._key = tuple(zip(self.names, self.phrases, strict=True))

    def _vectors(self) -> tuple[Any, dict[str, Any]]:
        """(example vectors, prototype per tool), embedded once per set of examples."""
        with _CACHE_LOCK:
            if self._key not in _CACHE:
                import numpy as np

                vectors = _embed(self.phrases)
                prototypes = {}
                for name in dict.fromkeys(self.names):
                    mean = vectors[[i for i, n in enumerate(self.names) if n == name]].mean(0)
                    prototypes[name] = mean / (np.linalg.norm(mean) or 1.0)
                _CACHE[self._key] = (vectors, prototypes)
            return _CACHE[self._key]

    def route(self, text: str) -> Route:
        """The tool whose examples are closest in meaning to `text`."""
        if not self.phrases or not text.strip():
            return Route(None, 0.0, ())
        examples, prototypes = self._vectors()
        query = _embed([text])[0]
        per_tool: dict[str, list[float]] = {}
        for name, score in zip(self.names, (query @ examples.T).tolist(), strict=True):
            per_tool.setdefault(name, []).append(score)
        scored = {}
        for name, values in per_tool.items():
            nearest = sorted(values, reverse=True)[:TOP_PER_TOOL]
            scored[name] = (float(query @ prototypes[name]) + sum(nearest) / len(nearest)) / 2
        ranking = tuple(sorted(scored.items(), key=lambda item: -item[1]))
        best, score = ranking[0]
        return Route(best if score >= self.floor else None, round(score, 4), ranking)


def _embed(texts: list[str]) -> Any:
    from core.embeddings import get_embedder

    return get_embedder().encode(texts)
