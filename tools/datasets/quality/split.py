"""Train/eval split grouped by source document, so no document feeds both sides.

Rows made from the same document share facts and wording; if some land in train and others in eval,
the eval score measures memorisation, not generalisation. So the unit of the split is a group:
rows are joined (union-find) whenever they share a source document (meta.sources or
meta.provenance.sources), which also joins two documents used together by one row. A row with no
source is a group of its own.

Groups are ordered by a stable key (their first document name, or the row id), shuffled with
`random.Random(seed)`, then walked once: a group goes to eval when that brings the eval row count
closer to eval_fraction * rows, and never when it would leave train empty. The same rows and seed
always give the same split, whatever order the rows come in. Whole groups only approximate the
fraction; the notes give the fraction reached, and say why when eval stays empty.

`group_by` says which documents join rows: "all" (every source, the strict rule above), "primary"
(only each row's first source: the chunk it was anchored on or the best retrieval hit), or "auto"
(the default): "all" unless that leaves eval empty while "primary" does not, as happens when a
few documents (a style guide, a product list) are retrieved for nearly every row. The notes say
which grouping was used and why, and the leakage check then reports the shared secondary
documents, so the overlap is visible rather than silently accepted.
"""

from __future__ import annotations

import random
from typing import Any

from core.errors import InvalidInput
from tools.datasets.quality.rowmeta import documents, row_id, with_meta
from tools.datasets.rows import OpResult


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


GROUPINGS = ("auto", "all", "primary")


def _grouping_documents(row: dict, group_by: str) -> list[str]:
    docs = documents(row)
    return docs[:1] if group_by == "primary" else docs


def source_groups(rows: list[dict], group_by: str = "all") -> list[list[int]]:
    """Row indices grouped so that rows sharing a source document are in the same group."""
    sets = _UnionFind(len(rows))
    first_row: dict[str, int] = {}
    for i, row in enumerate(rows):
        for doc in _grouping_documents(row, group_by):
            if doc in first_row:
                sets.union(i, first_row[doc])
            else:
                first_row[doc] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(sets.find(i), []).append(i)
    return list(groups.values())


def _assign(rows: list[dict], groups: list[list[int]], target: float, seed: int) -> set[int]:
    """Walk the groups in a seeded order; take those that bring eval closer to `target`."""
    ordered = sorted(groups, key=lambda g: _group_key(rows, g))
    random.Random(seed).shuffle(ordered)
    eval_rows: set[int] = set()
    for group in ordered:
        after = len(eval_rows) + len(group)
        if abs(after - target) < abs(len(eval_rows) - target) and after < len(rows):
            eval_rows.update(group)
    return eval_rows


def _group_key(rows: list[dict], group: list[int]) -> tuple:
    docs = sorted(d for i in group for d in documents(rows[i]))
    return (0, docs[0], "") if docs else (1, row_id(rows[group[0]], group[0]), str(group[0]))


def split_rows(
    rows: list[dict], eval_fraction: float = 0.1, seed: int = 0, group_by: str = "auto"
) -> OpResult:
    """Set meta.split ("train" | "eval") on every row, with whole document groups on each side."""
    if not 0 <= eval_fraction < 1:
        raise InvalidInput(
            f"eval_fraction must be at least 0 and below 1, not {eval_fraction}.",
            "Use e.g. 0.1 for a tenth of the rows in eval.",
        )
    if group_by not in GROUPINGS:
        raise InvalidInput(
            f"Unknown grouping {group_by!r}.", f"Use one of: {', '.join(GROUPINGS)}."
        )
    target = eval_fraction * len(rows)
    grouping = "primary" if group_by == "primary" else "all"
    groups = source_groups(rows, grouping)
    eval_rows = _assign(rows, groups, target, seed)
    fallback = ""
    if group_by == "auto" and eval_fraction > 0 and not eval_rows:
        primary_groups = source_groups(rows, "primary")
        primary_eval = _assign(rows, primary_groups, target, seed)
        if primary_eval:
            why = _why_eval_is_empty(groups, target, len(rows))
            fallback = (
                f"grouping by every source left eval empty ({why}); "
                "grouped by each row's primary source instead"
            )
            grouping, groups, eval_rows = "primary", primary_groups, primary_eval
    kept = [
        with_meta(row, split="eval" if i in eval_rows else "train") for i, row in enumerate(rows)
    ]
    notes: dict[str, Any] = {
        "eval_fraction": eval_fraction,
        "grouping": grouping,
        "seed": seed,
        "groups": len(groups),
        "rows_without_sources": sum(1 for r in rows if not documents(r)),
        "train_rows": len(rows) - len(eval_rows),
        "eval_rows": len(eval_rows),
        "actual_eval_fraction": round(len(eval_rows) / len(rows), 4) if rows else 0.0,
        "eval_documents": len({d for i in eval_rows for d in documents(rows[i])}),
    }
    all_documents = {d for r in rows for d in documents(r)}
    notes["train_documents"] = len(all_documents) - notes["eval_documents"]
    if fallback:
        notes["grouping_reason"] = fallback
    if eval_fraction > 0 and not eval_rows:
        notes["eval_empty_reason"] = _why_eval_is_empty(groups, target, len(rows))
    return OpResult(kept, [], notes)


def _why_eval_is_empty(groups: list[list[int]], target: float, total: int) -> str:
    if total == 0:
        return "there are no rows"
    if len(groups) == 1:
        return (
            f"all {total} rows form one group (they share source documents), so no document-"
            "disjoint eval set exists; add documents or rows from other documents"
        )
    smallest = min(len(g) for g in groups)
    return (
        f"the eval target is {target:.1f} rows but the smallest document group has {smallest}; "
        "raise eval_fraction or add rows from more documents"
    )
