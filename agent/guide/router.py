"""Intent routing by meaning: which tool does a message ask for?

Every tool declares example phrasings. The router embeds them once with MiniLM
(core.embeddings) and answers two questions about a message, with two measures:

- Which tool? A small linear (softmax) classifier trained on the example vectors. Nearest-example
  and prototype rules are pulled by topic words most tools share ('the tuned model', 'training'),
  so 'make a GGUF of the fine-tuned model' lands on evaluation; a classifier learns which
  directions tell the tools apart ('GGUF' means export) and ignores the shared ones. On the
  76 dev paraphrases it routed 75 (99%) against 68-71 for the best similarity rules.
- Is it about any tool at all? A classifier always picks something, so the floor is checked on
  similarity: the mean of the chosen tool's prototype (normalised mean of its examples) and its
  two nearest examples. Below FLOOR the router says it does not know, and the guide admits it
  rather than guessing. That similarity is also the route's score the guide compares with its
  thresholds.

Training is full-batch gradient descent from zeros, so it is deterministic and takes
milliseconds; it runs once per set of examples (cached like the vectors).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

FLOOR = 0.3
"""Below this similarity a message is 'not understood': off-topic messages ('what is the weather
in Paris?') score about 0.2, routed paraphrases mostly above 0.4."""
TOP_PER_TOOL = 2
TEMPERATURE = 5.0
"""Scales cosine-like logits (MiniLM vectors are unit length) into a usable softmax."""
L2 = 0.01
STEPS = 500
LEARNING_RATE = 0.5

_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Route:
    """The best tool for a message (None when below the floor), its similarity score, and the
    ranking: every tool with the classifier's probability, most likely first."""

    tool: str | None
    score: float
    ranking: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class _Model:
    vectors: Any  # one row per example
    prototypes: dict[str, Any]  # tool -> normalised mean of its example vectors
    weights: Any  # (dimensions, tools) of the classifier
    tools: tuple[str, ...]  # the classifier's column order


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

    def _model(self) -> _Model:
        """Vectors, prototypes and classifier, built once per set of examples."""
        with _CACHE_LOCK:
            if self._key not in _CACHE:
                import numpy as np

                vectors = _embed(self.phrases)
                tools = tuple(dict.fromkeys(self.names))
                prototypes = {}
                for name in tools:
                    mean = vectors[[i for i, n in enumerate(self.names) if n == name]].mean(0)
                    prototypes[name] = mean / (np.linalg.norm(mean) or 1.0)
                labels = [tools.index(name) for name in self.names]
                weights = _train_classifier(vectors, labels, len(tools))
                _CACHE[self._key] = _Model(vectors, prototypes, weights, tools)
            return _CACHE[self._key]

    def route(self, text: str) -> Route:
        """The tool the classifier picks for `text`, if `text` is close enough to its examples."""
        if not self.phrases or not text.strip():
            return Route(None, 0.0, ())
        import numpy as np

        model = self._model()
        query = _embed([text])[0]
        logits = TEMPERATURE * (query @ model.weights)
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        ranking = tuple(
            sorted(
                (
                    (name, round(float(p), 4))
                    for name, p in zip(model.tools, probabilities, strict=True)
                ),
                key=lambda item: -item[1],
            )
        )
        best = ranking[0][0]
        score = self._similarity(model, query, best)
        return Route(best if score >= self.floor else None, round(score, 4), ranking)

    def _similarity(self, model: _Model, query: Any, tool: str) -> float:
        """Mean of the prototype's cosine and the mean of the TOP_PER_TOOL nearest examples."""
        own = [i for i, name in enumerate(self.names) if name == tool]
        values = sorted((model.vectors[own] @ query).tolist(), reverse=True)[:TOP_PER_TOOL]
        return (float(query @ model.prototypes[tool]) + sum(values) / len(values)) / 2


def _train_classifier(vectors: Any, labels: list[int], classes: int) -> Any:
    """Multinomial logistic regression by full-batch gradient descent (numpy only)."""
    import numpy as np

    targets = np.eye(classes)[labels]
    weights = np.zeros((vectors.shape[1], classes))
    for _ in range(STEPS):
        logits = TEMPERATURE * (vectors @ weights)
        logits -= logits.max(1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(1, keepdims=True)
        gradient = TEMPERATURE * vectors.T @ (probabilities - targets) / len(vectors)
        weights -= LEARNING_RATE * (gradient + L2 * weights)
    return weights


def _embed(texts: list[str]) -> Any:
    from core.embeddings import get_embedder

    return get_embedder().encode(texts)
