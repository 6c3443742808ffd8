"""Grounding: how much of a row's response is supported by the source text it was made from.

Synthetic answers drift: a small model adds facts its chunks never stated. The score is a cheap,
explainable proxy for "the output says what the sources say", in [0, 1]:

    U        = the distinct content words of the response (stemmed, no stopwords; numbers count)
    S        = the content words of all its sources
    unigram  = |U ∩ S| / |U|
    bigram   = share of the response's content-word bigrams (consecutive content words) that also
               occur as content-word bigrams in the sources; it rewards facts kept together
               ("12 euros") over words merely present somewhere
    lexical  = (unigram + bigram) / 2           (unigram alone when the response has one word)
    semantic = mean over response sentences s of max(0, max over source sentences u of cos(s, u))
               (MiniLM unit vectors; only when an encoder is given)
    score    = lexical                                    without an encoder
             = (1 - w) * lexical + w * semantic           with one (w = semantic_weight, 0.5)

It catches answers that are off-topic or invented wholesale; a single wrong number in an
otherwise faithful answer costs little, so it complements the judge rather than replacing it.

Sources are the chunks named in meta.provenance.chunk_ids (resolved by `chunk_lookup`, e.g.
`kb_chunk_lookup("docs")`) plus any meta.context text. A row with no resolvable source, or with no
content words in its response, gets no score; it is counted in the notes and kept, unless
`require_sources` asks to remove rows that cannot be checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput
from tools.datasets.quality.near import Encoder
from tools.datasets.quality.rowmeta import chunk_ids, context_texts, row_id, with_score
from tools.datasets.quality.text import content_words, sentences
from tools.datasets.rows import OpResult, Removal, prompt_and_response

if TYPE_CHECKING:
    from core.workspace import Workspace

ChunkLookup = Callable[[str], str | None]
"""Maps a knowledge-base chunk id to its text, or None when the chunk is unknown."""

DEFAULT_THRESHOLD = 0.3
NO_SOURCES = "no source text"
NO_CONTENT = "no content words in the response"


def lexical_support(response: str, sources: Sequence[str]) -> float | None:
    """(unigram + bigram) / 2 support of `response` by `sources` (see the module docstring)."""
    said = content_words(response)
    if not said:
        return None
    known = content_words("\n".join(sources))
    unigram = len(set(said) & set(known)) / len(set(said))
    said_pairs = set(zip(said, said[1:], strict=False))
    if not said_pairs:
        return unigram
    known_pairs = set(zip(known, known[1:], strict=False))
    return (unigram + len(said_pairs & known_pairs) / len(said_pairs)) / 2


def kb_chunk_lookup(kb_name: str, ws: Workspace | None = None) -> ChunkLookup:
    """A chunk lookup over the current generation of knowledge base `kb_name`."""
    from tools.knowledge.kb import open_kb

    bodies = {chunk.id: chunk.body for chunk in open_kb(kb_name, ws).chunks}
    return bodies.get


def grounding(
    rows: list[dict],
    *,
    chunk_lookup: ChunkLookup | None = None,
    threshold: float | None = DEFAULT_THRESHOLD,
    encoder: Encoder | None = None,
    semantic_weight: float = 0.5,
    require_sources: bool = False,
) -> OpResult:
    """Score every row with sources into meta.scores.grounding; drop rows below `threshold`.

    `threshold` None scores without removing anything. Without an `encoder` the score is lexical.
    """
    if threshold is not None and not 0 <= threshold <= 1:
        raise InvalidInput(
            f"The grounding threshold must be in [0, 1], not {threshold}.",
            f"Try {DEFAULT_THRESHOLD}, or leave it unset to score without filtering.",
        )
    if not 0 <= semantic_weight <= 1:
        raise InvalidInput(
            f"semantic_weight must be in [0, 1], not {semantic_weight}.", "The default is 0.5."
        )
    missing: list[str] = []
    sources = [_sources(row, chunk_lookup, missing) for row in rows]
    responses = [prompt_and_response(row)[1] for row in rows]
    scores = [lexical_support(r, s) if s else None for r, s in zip(responses, sources, strict=True)]
    if encoder is not None and semantic_weight > 0:
        semantic = _semantic_support(responses, sources, scores, encoder)
        scores = [
            None if lex is None else (1 - semantic_weight) * lex + semantic_weight * sem
            for lex, sem in zip(scores, semantic, strict=True)
        ]
    kept: list[dict] = []
    removed: list[Removal] = []
    unscored: dict[str, int] = {}
    for i, (row, score) in enumerate(zip(rows, scores, strict=True)):
        if score is None:
            why = NO_SOURCES if not sources[i] else NO_CONTENT
            unscored[why] = unscored.get(why, 0) + 1
            if require_sources and why == NO_SOURCES:
                removed.append(Removal(row_id(row, i), f"ungrounded: {why} to check against"))
            else:
                kept.append(row)
        elif threshold is not None and score < threshold:
            removed.append(
                Removal(row_id(row, i), f"weakly grounded: score {score:.2f} < {threshold}")
            )
        else:
            kept.append(with_score(row, "grounding", round(score, 4)))
    scored = [s for s in scores if s is not None]
    notes: dict[str, Any] = {
        "threshold": threshold,
        "method": "lexical" if encoder is None else f"lexical+semantic (w={semantic_weight})",
        "scored": len(scored),
        "mean_score": round(sum(scored) / len(scored), 4) if scored else None,
        "unscored": unscored,
    }
    if missing:
        notes["unresolved_chunk_ids"] = len(missing)
        notes["unresolved_examples"] = missing[:5]
    if chunk_lookup is None and any(chunk_ids(r) for r in rows):
        notes["warning"] = "rows name chunk ids but no chunk lookup was given: meta.context only"
    return OpResult(kept, removed, notes)


def _sources(row: dict, chunk_lookup: ChunkLookup | None, missing: list[str]) -> list[str]:
    texts = list(context_texts(row))
    if chunk_lookup is not None:
        for cid in chunk_ids(row):
            body = chunk_lookup(cid)
            if body:
                texts.append(body)
            else:
                missing.append(cid)
    return texts


def _semantic_support(
    responses: list[str],
    sources: list[list[str]],
    lexical: list[float | None],
    encoder: Encoder,
) -> list[float]:
    """Per row, the mean over response sentences of the best cosine to any source sentence."""
    import numpy as np

    todo = [i for i, lex in enumerate(lexical) if lex is not None]
    said = {i: sentences(responses[i]) for i in todo}
    known = {i: [s for text in sources[i] for s in sentences(text)] for i in todo}
    texts = list(dict.fromkeys(t for i in todo for t in (*said[i], *known[i])))
    if not texts:
        return [0.0] * len(responses)
    vectors = encoder.encode(texts)
    where = {t: k for k, t in enumerate(texts)}
    out = [0.0] * len(responses)
    for i in todo:
        if not said[i] or not known[i]:
            continue
        sims = vectors[[where[t] for t in said[i]]] @ vectors[[where[t] for t in known[i]]].T
        out[i] = float(np.clip(sims.max(axis=1), 0.0, 1.0).mean())
    return out
