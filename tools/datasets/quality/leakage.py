"""Leakage check: does anything in eval also appear in train?

An eval example that the model trained on (the same document, the same pair, or a paraphrase of
it) inflates the eval score. The check reports, for rows whose meta.split is set:
* documents that feed both sides;
* exact duplicates across sides (same normalised prompt + response);
* near duplicates across sides: each eval row's most similar train row at or above the threshold,
  by the same measure dedupe uses (near.py; method "embedding" or "minhash", or None to skip).
It reports and changes nothing; the split and dedupe operations are the fixes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tools.datasets.quality.near import Encoder, build_index, check_threshold
from tools.datasets.quality.rowmeta import documents, row_id
from tools.datasets.quality.text import row_key
from tools.datasets.rows import meta


@dataclass
class LeakagePair:
    eval_id: str
    train_id: str
    similarity: float = 1.0


@dataclass
class LeakageReport:
    train_rows: int
    eval_rows: int
    unsplit_rows: int
    shared_documents: list[str] = field(default_factory=list)
    exact: list[LeakagePair] = field(default_factory=list)
    near: list[LeakagePair] = field(default_factory=list)
    method: str | None = None
    threshold: float | None = None

    @property
    def ok(self) -> bool:
        return not (self.shared_documents or self.exact or self.near)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def check_leakage(
    rows: list[dict],
    method: str | None = "embedding",
    threshold: float | None = None,
    *,
    encoder: Encoder | None = None,
) -> LeakageReport:
    """Documents, exact pairs and near pairs shared between the train and eval rows."""
    sides = [meta(r).get("split") for r in rows]
    train = [i for i, s in enumerate(sides) if s == "train"]
    evals = [i for i, s in enumerate(sides) if s == "eval"]
    ids = [row_id(r, i) for i, r in enumerate(rows)]
    report = LeakageReport(len(train), len(evals), len(rows) - len(train) - len(evals))

    train_docs = {d for i in train for d in documents(rows[i])}
    eval_docs = {d for i in evals for d in documents(rows[i])}
    report.shared_documents = sorted(train_docs & eval_docs)

    train_keys: dict[str, int] = {}
    for i in train:
        train_keys.setdefault(row_key(rows[i]), i)
    unmatched: list[int] = []
    for j in evals:
        i = train_keys.get(row_key(rows[j]))
        if i is None:
            unmatched.append(j)
        else:
            report.exact.append(LeakagePair(ids[j], ids[i]))

    if method is None or not train or not unmatched:
        return report
    report.method, report.threshold = method, check_threshold(method, threshold)
    members = sorted(train + unmatched)  # row order: the embedding index works in row blocks
    index = build_index([rows[k] for k in members], method, report.threshold, encoder=encoder)
    is_train = set(train)
    for position, k in enumerate(members):
        if k in is_train:
            index.add(position)
    for position, k in enumerate(members):
        match = None if k in is_train else index.best(position)
        if match is not None:
            other, similarity = match
            report.near.append(LeakagePair(ids[k], ids[members[other]], round(similarity, 4)))
    return report
