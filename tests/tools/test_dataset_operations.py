"""Row operations and their versions: every row accounted for, inputs untouched, lineage kept."""

from __future__ import annotations

import contextlib
import copy
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput, NotFound
from core.workspace import Workspace
from tools.datasets.operations import (
    apply_operation,
    delete_rows,
    edit_row,
    filter_rows,
    merge_rows,
    merge_versions,
    page_rows,
    revert_to,
    sample_rows,
)
from tools.datasets.predicates import parse_predicate
from tools.datasets.store import DatasetStore, rows_digest
from tools.datasets.validation import DatasetInvalid

WORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
).filter(str.strip)
SPLITS = st.sampled_from([None, "train", "eval"])
EXPRESSIONS = [
    "len(completion) > 10",
    "tokens <= 6",
    'contains(prompt, "a")',
    'regex(completion, "[0-9]")',
    'split == "eval"',
    'source == "a.md" or not split == "train"',
    "score.grounding >= 0.5",
    "not (len(prompt) < 5 and score.grounding < 0.2)",
]


@st.composite
def datasets(draw, min_size=1, max_size=25):
    """Completion rows with unique ids and a meta of split, sources and a grounding score."""
    size = draw(st.integers(min_size, max_size))
    rows = []
    for index in range(size):
        meta = {
            "sources": draw(st.lists(st.sampled_from(["a.md", "b.md", "c.pdf"]), max_size=2)),
            "scores": {"grounding": draw(st.floats(0, 1))},
        }
        split = draw(SPLITS)
        if split:
            meta["split"] = split
        rows.append(
            {"id": f"r{index:05d}", "prompt": draw(WORDS), "completion": draw(WORDS), "meta": meta}
        )
    return rows


@pytest.fixture
def store(tmp_path):
    return DatasetStore(Workspace(tmp_path / "home"))


def _accounted(rows_in: list[dict], result) -> None:
    """rows in == kept + removed, by id and in order, and every removal has a reason."""
    kept_ids = [r["id"] for r in result.kept]
    removed_ids = [r.id for r in result.removed]
    assert len(rows_in) == len(result.kept) + len(result.removed)
    assert sorted(kept_ids + removed_ids) == sorted(r["id"] for r in rows_in)
    assert kept_ids == [r["id"] for r in rows_in if r["id"] in set(kept_ids)]
    assert all(r.reason for r in result.removed)


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(rows=datasets(), expr=st.sampled_from(EXPRESSIONS))
def test_filter_accounts_for_every_row_and_leaves_its_input_alone(rows, expr):
    before = copy.deepcopy(rows)
    result = filter_rows(rows, expr)
    assert rows == before
    _accounted(rows, result)
    assert {r.reason for r in result.removed} <= {f"filter: {expr}"}
    predicate = parse_predicate(expr)
    assert all(predicate(r) for r in result.kept)
    assert not any(predicate(r) for r in rows if r["id"] in {x.id for x in result.removed})


@settings(max_examples=60, deadline=None)
@given(rows=datasets(), data=st.data())
def test_delete_by_ids_or_predicate_accounts_for_every_row(rows, data):
    before = copy.deepcopy(rows)
    ids = data.draw(st.lists(st.sampled_from([r["id"] for r in rows]), min_size=1, unique=True))
    by_id = delete_rows(rows, ids=ids)
    _accounted(rows, by_id)
    assert sorted(r.id for r in by_id.removed) == sorted(ids)
    assert {r.reason for r in by_id.removed} == {"delete: by id"}
    expr = data.draw(st.sampled_from(EXPRESSIONS))
    by_rule = delete_rows(rows, where=expr)
    _accounted(rows, by_rule)
    assert [r["id"] for r in by_rule.kept] == [r.id for r in filter_rows(rows, expr).removed]
    assert rows == before


@settings(max_examples=40, deadline=None)
@given(left=datasets(max_size=10), right=datasets(max_size=10))
def test_merge_keeps_every_row_with_unique_ids(left, right):
    result = merge_rows(left, right)
    assert len(result.kept) == len(left) + len(right) and not result.removed
    ids = [r["id"] for r in result.kept]
    assert len(set(ids)) == len(ids)
    assert result.kept[: len(left)] == left
    renamed = result.notes["renamed"]
    for original, merged in zip(right, result.kept[len(left) :], strict=True):
        assert merged["id"] == renamed.get(original["id"], original["id"])
        assert {**merged, "id": original["id"]} == original


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # each example builds a fresh workspace
@given(rows=datasets(max_size=12), steps=st.lists(st.sampled_from(EXPRESSIONS), max_size=3))
def test_revert_restores_the_exact_parent(rows, steps):
    with tempfile.TemporaryDirectory() as home:
        store = DatasetStore(Workspace(Path(home)))
        first = store.commit("ds", rows, operation="import", parent=None)
        for expr in steps:
            # a filter that would empty the dataset stores nothing and says so
            with contextlib.suppress(InvalidInput):
                apply_operation(store, "ds", "filter", {"where": expr})
        first_id = store.read("ds")[1][0]["id"]
        apply_operation(
            store, "ds", "edit", {"row_id": first_id, "field": "response", "value": "x"}
        )
        latest = store.info("ds")
        reverted = revert_to(store, "ds@v1")
        assert reverted.sha256 == first.sha256 == rows_digest(rows)
        assert store.read(reverted.ref)[1] == rows
        assert (reverted.parent, reverted.operation, reverted.params) == (
            latest.version,
            "revert",
            {"to": 1},
        )


# -- looking -----------------------------------------------------------------------------------


def _rows(n: int) -> list[dict]:
    return [
        {"id": f"r{i:05d}", "prompt": f"question {i}", "completion": f"answer {i}"}
        for i in range(n)
    ]


def test_pages_and_samples():
    rows = _rows(23)
    page = page_rows(rows, page=3, size=10)
    assert [r["id"] for r in page.rows] == ["r00020", "r00021", "r00022"]
    assert (page.pages, page.total) == (3, 23)
    with pytest.raises(InvalidInput, match="only 3 pages"):
        page_rows(rows, page=4, size=10)
    sample = sample_rows(rows, n=5, seed=7)
    assert sample == sample_rows(rows, n=5, seed=7) != sample_rows(rows, n=5, seed=8)
    assert [r["id"] for r in sample] == sorted(r["id"] for r in sample)
    assert len(sample_rows(rows, n=100)) == 23


# -- editing -----------------------------------------------------------------------------------

CHAT = {
    "id": "c1",
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Hours?"},
        {"role": "assistant", "content": "8 to 6"},
    ],
}


def test_edit_fields_by_path_and_alias():
    rows = [copy.deepcopy(CHAT)]
    result = edit_row(rows, "c1", "response", "Eight to six, Monday to Saturday.")
    assert result.kept[0]["messages"][3]["content"] == "Eight to six, Monday to Saturday."
    assert result.notes == {
        "id": "c1",
        "field": "messages.4.content",
        "before": "8 to 6",
        "after": "Eight to six, Monday to Saturday.",
    }
    assert rows == [CHAT]  # the input is untouched
    assert edit_row(rows, "c1", "prompt", "Opening hours?").kept[0]["messages"][2]["content"] == (
        "Opening hours?"
    )
    assert edit_row(rows, "c1", "messages.-1.role", "assistant").kept == rows
    assert edit_row(rows, "c1", "meta.split", "eval").kept[0]["meta"] == {"split": "eval"}
    pair = edit_row(_rows(2), "r00001", "completion", "new").kept
    assert pair[1]["completion"] == "new" and pair[0] == _rows(1)[0]


def test_bad_edits_are_refused_with_the_row_line():
    rows = [*_rows(2), copy.deepcopy(CHAT)]
    with pytest.raises(DatasetInvalid) as caught:
        edit_row(rows, "c1", "messages.2.content", "   ")
    assert [(f.line, f.kind) for f in caught.value.faults] == [(3, "bad_content")]
    with pytest.raises(DatasetInvalid) as caught:
        edit_row(rows, "c1", "messages.4.role", "bot")
    assert [f.kind for f in caught.value.faults] == ["unknown_role"]
    with pytest.raises(DatasetInvalid) as caught:
        edit_row(rows, "c1", "messages", [{"role": "user", "content": "Hi"}])
    assert [f.kind for f in caught.value.faults] == ["no_assistant_turn"]
    with pytest.raises(InvalidInput, match="ids never change"):
        edit_row(rows, "c1", "id", "c2")
    with pytest.raises(InvalidInput, match="messages 1..4"):
        edit_row(rows, "c1", "messages.9.content", "x")
    with pytest.raises(InvalidInput, match="completion format"):
        edit_row(rows, "r00000", "text", "x")
    with pytest.raises(NotFound, match="'zz'"):
        edit_row(rows, "zz", "completion", "x")


# -- versions ----------------------------------------------------------------------------------


def test_apply_operation_commits_a_child_of_the_ref_it_read(store):
    store.commit("faq", _rows(6), operation="import", parent=None)
    where = 'regex(prompt, "[0-2]$")'
    info, result = apply_operation(store, "faq", "filter", {"where": where})
    assert (info.version, info.parent, info.operation, info.rows) == (2, 1, "filter", 3)
    assert info.params == {"where": where} and len(result.removed) == 3
    assert info.summary == {
        "rows_in": 6,
        "kept": 3,
        "removed": 3,
        "reasons": {f"filter: {where}": 3},
        "notes": {"where": where},
    }
    assert [r["id"] for r in store.read("faq@v2")[1]] == ["r00000", "r00001", "r00002"]
    info, _ = apply_operation(store, "faq@v1", "delete", {"ids": ["r00001", "r00002"]})
    assert (info.version, info.parent, info.rows) == (3, 1, 4)
    assert info.summary["reasons"] == {"delete: by id": 2}


def test_apply_operation_refuses_to_store_an_empty_version_and_unknown_ops(store):
    store.commit("faq", _rows(3), operation="import", parent=None)
    with pytest.raises(InvalidInput, match="no rows; nothing was saved"):
        apply_operation(store, "faq", "filter", {"where": "len(prompt) > 999"})
    with pytest.raises(InvalidInput, match="Unknown operation"):
        apply_operation(store, "faq", "shuffle", {})
    with pytest.raises(InvalidInput, match="No row has the score 'grounding'"):
        apply_operation(store, "faq", "filter", {"where": "score.grounding > 0.5"})
    with pytest.raises(NotFound):
        apply_operation(store, "faq", "delete", {"ids": ["nope"]})
    assert [v.version for v in store.versions("faq")] == [1]


def test_apply_operation_takes_a_plugged_in_function_and_unrecorded_context(store):
    store.commit("faq", _rows(4), operation="import", parent=None)

    def keep_first(rows, n, *, label):
        from tools.datasets.rows import OpResult, Removal

        removed = [Removal(r["id"], f"{label}: beyond {n}") for r in rows[n:]]
        return OpResult(rows[:n], removed)

    info, _ = apply_operation(store, "faq", "head", {"n": 2}, fn=keep_first, label="head")
    assert info.params == {"n": 2} and info.rows == 2
    assert info.summary["reasons"] == {"head: beyond 2": 2}


def test_merge_versions_and_revert_errors(store):
    store.commit("a", _rows(3), operation="import", parent=None)
    store.commit("b", _rows(2), operation="import", parent=None)
    info, result = merge_versions(store, "a", "b@v1")
    assert (info.dataset, info.version, info.parent, info.rows) == ("a", 2, 1, 5)
    assert info.params == {"other": "ds:b@v1"}
    assert result.notes["renamed"] == {"r00000": "r00000-2", "r00001": "r00001-2"}
    store.commit("t", [{"id": "x", "text": "plain"}], operation="import", parent=None)
    with pytest.raises(InvalidInput, match="Cannot merge completion rows with text rows"):
        merge_versions(store, "a", "t")
    with pytest.raises(InvalidInput, match="Use NAME@vN"):
        revert_to(store, "a")
    with pytest.raises(InvalidInput, match="already the latest"):
        revert_to(store, "a@v2")
    with pytest.raises(NotFound, match="a has versions v1..v2"):
        revert_to(store, "a@v7")
