"""Exact and near-duplicate removal, keeping the first row of each cluster.

Duplicates waste training steps and teach the model to over-weight whatever was repeated; near
duplicates (a reworded question with the same answer) are the common case in synthetic data.

1. Exact: rows whose normalised prompt + response (case, Unicode form and whitespace ignored) equal
   an earlier row's are removed.
2. Near (method "embedding" or "minhash", see near.py): rows are visited in order; a row is removed
   when it is at least `threshold` similar to a row already kept, and the removal names that row
   and the similarity. Comparing with kept rows only means a chain A~B~C never removes C for being
   like B when B itself was removed and C is not like A. method "exact" stops after step 1.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from tools.datasets.quality.near import Encoder, build_index, check_threshold, default_encoder
from tools.datasets.quality.rowmeta import row_id
from tools.datasets.quality.text import row_key
from tools.datasets.rows import OpResult, Removal

DEDUPE_METHODS = ("embedding", "minhash", "exact")


def dedupe(
    rows: list[dict],
    method: str = "embedding",
    threshold: float | None = None,
    *,
    encoder: Encoder | None = None,
    shingle_words: int = 3,
) -> OpResult:
    """Remove exact duplicates, then near duplicates by `method` ("embedding", "minhash", "exact").

    `threshold` is a cosine (embedding, default 0.95) or a Jaccard similarity (minhash, default
    0.8) and is ignored by "exact". `encoder` defaults to the builtin MiniLM.
    """
    if method not in DEDUPE_METHODS:
        raise InvalidInput(
            f"Unknown dedupe method {method!r}.", f"Use one of: {', '.join(DEDUPE_METHODS)}."
        )
    ids = [row_id(r, i) for i, r in enumerate(rows)]
    survivors, removed = _exact(rows, ids)
    notes: dict[str, Any] = {"method": method, "exact_removed": len(removed)}
    if method == "exact":
        return OpResult(
            [rows[i] for i in survivors], [r for _, r in removed], {**notes, "threshold": None}
        )
    threshold = check_threshold(method, threshold)
    if method == "embedding":
        encoder = encoder or default_encoder()
        notes["model"] = getattr(encoder, "ref", type(encoder).__name__)
    candidates = [rows[i] for i in survivors]
    index = build_index(candidates, method, threshold, encoder=encoder, shingle_words=shingle_words)
    kept: list[int] = []
    for j, i in enumerate(survivors):
        match = index.best(j)
        if match is None:
            index.add(j)
            kept.append(i)
            continue
        other, similarity = match
        reason = (
            f"near duplicate: of {ids[survivors[other]]}, "
            f"{index.metric} {similarity:.3f} >= {threshold}"
        )
        removed.append((i, Removal(ids[i], reason)))
    notes.update(
        metric=index.metric, threshold=threshold, near_removed=len(removed) - notes["exact_removed"]
    )
    return OpResult([rows[i] for i in kept], [r for _, r in sorted(removed)], notes)


def _exact(rows: list[dict], ids: list[str]) -> tuple[list[int], list[tuple[int, Removal]]]:
    """Indices of the first row of each exact key, and (index, removal) for every later one."""
    first: dict[str, str] = {}
    survivors: list[int] = []
    removed: list[tuple[int, Removal]] = []
    for i, row in enumerate(rows):
        key = row_key(row)
        if key in first:
            removed.append((i, Removal(ids[i], f"exact duplicate: same as {first[key]}")))
        else:
            first[key] = ids[i]
            survivors.append(i)
    return survivors, removed
