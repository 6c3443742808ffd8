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


def source_groups(rows: list[dict]) -> list[list[int]]:
    """Row indices grouped so that rows sharing any source document are in the same group."""
    sets = _UnionFind(len(rows))
    first_row: dict[str, int] = {}
    for i, row in enumerate(rows):
        for doc in documents(row):
            if doc in first_row:
                sets.union(i, first_row[doc])
            else:
                first_row[doc] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(sets.find(i), []).append(i)
    return list(groups.values())


def _group_key(rows: list[dict], group: list[int]) -> tuple:
    docs = sorted(d for i in group for d in documents(rows[i]))
    return (0, docs[0], "") if docs else (1, row_id(rows[group[0]], group[0]), str(group[0]))


def split_rows(rows: list[dict], eval_fraction: float = 0.1, seed: int = 0) -> OpResult:
    """Set meta.split ("train" | "eval") on every row, with whole document groups on each side."""
    if not 0 <= eval_fraction < 1:
        raise InvalidInput(
            f"eval_fraction must be at least 0 and below 1, not {eval_fraction}.",
            "Use e.g. 0.1 for a tenth of the rows in eval.",
        )
    groups = sorted(source_groups(rows), key=lambda g: _group_key(rows, g))
    random.Random(seed).shuffle(groups)
    target = eval_fraction * len(rows)
    eval_rows: set[int] = set()
    for group in groups:
        after = len(eval_rows) + len(group)
        if abs(after - target) < abs(len(eval_rows) - target) and after < len(rows):
            eval_rows.update(group)
    kept = [
        with_meta(row, split="eval" if i in eval_rows else "train") for i, row in enumerate(rows)
    ]
    notes: dict[str, Any] = {
        "eval_fraction": eval_fraction,
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
