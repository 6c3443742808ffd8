"""Diffs between versions by row id, with field-level changes."""

from __future__ import annotations

from core.workspace import Workspace
from tools.datasets.diffing import ABSENT, FieldChange, diff_rows, diff_versions
from tools.datasets.operations import apply_operation
from tools.datasets.store import DatasetStore

OLD = [
    {"id": "a", "prompt": "Hours?", "completion": "8 to 6."},
    {"id": "b", "prompt": "Where?", "completion": "Bergen.", "meta": {"split": "train"}},
    {"id": "c", "prompt": "Refunds?", "completion": "Within 30 days."},
]


def test_added_removed_changed_and_unchanged():
    new = [
        OLD[0],
        {"id": "b", "prompt": "Where?", "completion": "In Bergen.", "meta": {"split": "eval"}},
        {"id": "d", "prompt": "Tea?", "completion": "No, coffee only."},
    ]
    diff = diff_rows(OLD, new)
    assert (diff.added, diff.removed, diff.unchanged) == (["d"], ["c"], 1)
    [change] = diff.changed
    assert change.id == "b"
    assert change.changes == [
        FieldChange("completion", "Bergen.", "In Bergen."),
        FieldChange("meta.split", "train", "eval"),
    ]


def test_message_changes_name_the_message_and_absent_fields():
    old = [{"id": "m", "messages": [{"role": "user", "content": "Hi"}]}]
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}]
    new = [{"id": "m", "messages": turns, "meta": {"x": 1}}]
    [change] = diff_rows(old, new).changed
    assert change.changes == [
        FieldChange("messages.2.role", ABSENT, "assistant"),
        FieldChange("messages.2.content", ABSENT, "Hey"),
        FieldChange("meta.x", ABSENT, 1),
    ]


def test_long_texts_are_clipped_around_the_first_difference():
    before = "word " * 100 + "old ending"
    after = "word " * 100 + "new ending"
    [change] = diff_rows([{"id": "x", "text": before}], [{"id": "x", "text": after}]).changed
    [field] = change.changes
    assert field.before.startswith("…") and "old ending" in field.before
    assert "new ending" in field.after and len(field.after) < 100


def test_diff_versions_reads_the_store(tmp_path):
    store = DatasetStore(Workspace(tmp_path / "home"))
    store.commit("faq", OLD, operation="import", parent=None)
    apply_operation(store, "faq", "delete", {"ids": ["c"]})
    apply_operation(store, "faq", "edit", {"row_id": "a", "field": "completion", "value": "9-5."})
    diff = diff_versions(store, "faq@v1", "faq")
    assert diff.summary() == "ds:faq@v1 -> ds:faq@v3: 0 added, 1 removed, 1 changed, 1 unchanged"
    assert diff.to_dict()["changed"][0]["changes"][0]["after"] == "9-5."
