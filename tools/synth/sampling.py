"""Which chunks ground which row: spread over documents, with retrieved neighbours.

A plain random sample of chunks over-represents long documents (a 24-row CSV would dominate a
coffee roaster's knowledge base). Anchors are therefore dealt round-robin across documents, each
document's chunks in a seeded shuffle, so the first n rows touch as many documents as possible
and the same seed always gives the same plan (which is what makes a job resumable). Each anchor
then brings its nearest neighbours from the knowledge base's own index, so one example may draw on
several chunks, from one document or several.
"""

from __future__ import annotations

import random

from tools.knowledge.store import ChunkRecord, Snapshot

MIN_NEIGHBOUR_SCORE = 0.45
"""Cosine below which a 'neighbour' is about something else and would only confuse the model."""
MAX_CONTEXT_CHARS = 2400
"""Context budget per row: small models lose the thread in long prompts, and CPUs pay per token."""


def spread_order(snapshot: Snapshot, seed: int) -> list[int]:
    """Chunk indices dealt round-robin over documents (document order and each document seeded)."""
    rng = random.Random(seed)
    by_doc: dict[str, list[int]] = {}
    for index, chunk in enumerate(snapshot.chunks):
        by_doc.setdefault(chunk.doc_id, []).append(index)
    piles = [by_doc[doc] for doc in sorted(by_doc)]
    rng.shuffle(piles)
    for pile in piles:
        rng.shuffle(pile)
    order: list[int] = []
    for depth in range(max((len(p) for p in piles), default=0)):
        order += [pile[depth] for pile in piles if depth < len(pile)]
    return order


def with_neighbours(snapshot: Snapshot, anchor: int, count: int) -> list[ChunkRecord]:
    """The anchor chunk plus up to `count - 1` close neighbours, within the context budget."""
    chunks = [snapshot.chunks[anchor]]
    if count > 1 and snapshot.index is not None and snapshot.vectors is not None:
        from tools.knowledge.index import search_index

        scores, ids = search_index(snapshot.index, snapshot.vectors[anchor : anchor + 1], count)
        for score, index in zip(scores[0], ids[0], strict=True):
            if len(chunks) >= count:
                break
            if index < 0 or int(index) == anchor or score < MIN_NEIGHBOUR_SCORE:
                continue
            chunks.append(snapshot.chunks[int(index)])
    return within_budget(chunks)


def within_budget(chunks: list[ChunkRecord]) -> list[ChunkRecord]:
    """The leading chunks that fit MAX_CONTEXT_CHARS (always at least the first)."""
    kept, used = [], 0
    for chunk in chunks:
        if kept and used + len(chunk.text) > MAX_CONTEXT_CHARS:
            break
        kept.append(chunk)
        used += len(chunk.text)
    return kept
