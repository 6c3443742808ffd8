"""Diff two dataset versions by row id: added, removed, changed (field by field), unchanged.

Row ids survive every operation, so a diff can say "r00012: completion changed" instead of
"line 12 differs". Each changed row lists the leaf fields that differ (`messages.3.content`,
`meta.split`), and long texts are clipped around the first difference so a diff of a rewrite
stays readable in a terminal or a chat message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tools.datasets.quality.rowmeta import row_id
from tools.datasets.store import DatasetRef, DatasetStore

ABSENT = "(absent)"
_CLIP = 80  # characters of context shown around a difference


@dataclass(frozen=True)
class FieldChange:
    field: str  # a dotted path; message numbers count from 1 as elsewhere
    before: Any
    after: Any


@dataclass
class RowChange:
    id: str
    changes: list[FieldChange]


@dataclass
class RowDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[RowChange] = field(default_factory=list)
    unchanged: int = 0
    old: str = ""
    new: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.old} -> {self.new}: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed, {self.unchanged} unchanged"
        )


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a JSON value by dotted path (list positions count from 1)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value, start=1):
            out.update(_leaves(item, f"{path}.{index}" if path else str(index)))
        return out
    return {path: value}


def _clip(before: Any, after: Any) -> tuple[Any, Any]:
    """Long strings cut to a window around their first differing character."""
    if not (isinstance(before, str) and isinstance(after, str)):
        return before, after
    if len(before) <= _CLIP and len(after) <= _CLIP:
        return before, after
    start = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), None)
    start = min(len(before), len(after)) if start is None else start
    begin = max(0, start - _CLIP // 4)

    def window(text: str) -> str:
        cut = text[begin : begin + _CLIP]
        return ("…" if begin else "") + cut + ("…" if begin + _CLIP < len(text) else "")

    return window(before), window(after)


def row_changes(old: dict, new: dict) -> list[FieldChange]:
    """The leaf fields that differ between two versions of one row."""
    before, after = _leaves(old), _leaves(new)
    changes = []
    for path in dict.fromkeys([*before, *after]):
        a, b = before.get(path, ABSENT), after.get(path, ABSENT)
        if a != b or type(a) is not type(b):
            changes.append(FieldChange(path, *_clip(a, b)))
    return changes


def diff_rows(old: list[dict], new: list[dict]) -> RowDiff:
    """Compare rows by id (rows without an id are matched by position, as `#N`)."""
    before = {row_id(r, i): r for i, r in enumerate(old)}
    after = {row_id(r, i): r for i, r in enumerate(new)}
    diff = RowDiff(
        added=[rid for rid in after if rid not in before],
        removed=[rid for rid in before if rid not in after],
    )
    for rid, row in after.items():
        if rid not in before:
            continue
        changes = row_changes(before[rid], row)
        if changes:
            diff.changed.append(RowChange(rid, changes))
        else:
            diff.unchanged += 1
    return diff


def diff_versions(store: DatasetStore, old: str | DatasetRef, new: str | DatasetRef) -> RowDiff:
    """Diff two stored versions (of one dataset or of two)."""
    old_info, old_rows = store.read(old)
    new_info, new_rows = store.read(new)
    diff = diff_rows(old_rows, new_rows)
    diff.old, diff.new = old_info.ref, new_info.ref
    return diff
