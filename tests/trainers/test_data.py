"""Rows to what TRL trains on: the split, the columns, and refusals of data that cannot train."""

from __future__ import annotations

import json

import pytest

from core.workspace import Workspace
from tools.datasets.store import DatasetStore
from tools.datasets.validation import DatasetInvalid
from trainers.data import BadData, load_training_rows, read_rows_file, split_rows, to_hf_dataset

ROWS = [
    {"id": "a", "prompt": "p1", "completion": "c1", "meta": {"split": "train", "sources": ["x"]}},
    {"id": "b", "prompt": "p2", "completion": "c2", "meta": {"split": "eval"}},
    {"id": "c", "prompt": "p3", "completion": "c3"},
]


@pytest.fixture
def store(tmp_path):
    return DatasetStore(Workspace(tmp_path / "ws"))


def test_split_by_meta_rows_without_split_train():
    train, evals = split_rows(ROWS)
    assert [r["id"] for r in train] == ["a", "c"]
    assert [r["id"] for r in evals] == ["b"]


def test_load_training_rows_from_a_version(store):
    store.commit("qa", ROWS, operation="import", parent=None)
    train, evals, info = load_training_rows("qa@v1", store)
    assert (len(train), len(evals), info.ref) == (2, 1, "ds:qa@v1")
    train, evals, _ = load_training_rows("qa", store)  # latest version; no eval rows is fine
    assert [r["id"] for r in evals] == ["b"]


def test_no_eval_rows_gives_an_empty_eval_list(store):
    store.commit("plain", [ROWS[0], ROWS[2]], operation="import", parent=None)
    train, evals, _ = load_training_rows("plain@v1", store)
    assert len(train) == 2 and evals == []


def test_broken_rows_are_refused_with_their_line(store):
    rows = [ROWS[0], {"id": "x", "prompt": "only a prompt", "completion": ""}]
    store.commit("broken", rows, operation="import", parent=None)
    with pytest.raises(DatasetInvalid, match="line 2"):
        load_training_rows("broken@v1", store)


def test_only_eval_rows_is_bad_data(store):
    store.commit("evals", [ROWS[1]], operation="import", parent=None)
    with pytest.raises(BadData, match="no training rows"):
        load_training_rows("evals@v1", store)


def test_a_file_changed_after_launch_is_refused(store):
    info = store.commit("qa", ROWS, operation="import", parent=None)
    assert len(read_rows_file(info.path, sha256=info.sha256)) == 3
    lines = info.path.read_text().splitlines()
    changed = json.loads(lines[0]) | {"completion": "edited"}
    info.path.write_text("\n".join([json.dumps(changed), *lines[1:]]) + "\n")
    with pytest.raises(BadData, match="changed after the run was launched"):
        read_rows_file(info.path, sha256=info.sha256)
    with pytest.raises(BadData, match="missing"):
        read_rows_file(info.path.with_name("gone.jsonl"))


@pytest.mark.parametrize(
    ("rows", "columns"),
    [
        (ROWS, ["completion", "prompt"]),
        ([{"id": "t", "text": "hello", "meta": {}}], ["text"]),
        (
            [
                {
                    "id": "m",
                    "messages": [
                        {"role": "user", "content": "hi", "name": "ann"},
                        {"role": "assistant", "content": "hello"},
                    ],
                    "meta": {"split": "train"},
                }
            ],
            ["messages"],
        ),
    ],
)
def test_hf_dataset_has_only_the_trainer_columns(rows, columns):
    dataset = to_hf_dataset(rows)
    assert sorted(dataset.column_names) == columns
    assert len(dataset) == len(rows)
    if columns == ["messages"]:
        assert dataset[0]["messages"][0] == {"role": "user", "content": "hi"}
