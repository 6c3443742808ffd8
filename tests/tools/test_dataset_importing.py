"""Import from JSONL, CSV and HF folders with column mappings, into versions of a real store."""

from __future__ import annotations

import csv
import json

import pytest
from datasets import Dataset, DatasetDict

from core.errors import InvalidInput
from core.workspace import Workspace
from tools.datasets.importing import import_dataset, import_file, parse_mapping
from tools.datasets.store import DatasetStore
from tools.datasets.validation import DatasetInvalid


@pytest.fixture
def store(tmp_path):
    return DatasetStore(Workspace(tmp_path / "home"))


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_with_a_mapping_renames_columns_and_fills_meta(tmp_path):
    path = _write_jsonl(
        tmp_path / "alpaca.jsonl",
        [
            {"instruction": "Name a roast.", "output": "Medium.", "doc": "roasts.md"},
            {"instruction": "Opening hours?", "output": "8 to 6.", "doc": "faq.md", "lang": "en"},
        ],
    )
    mapping = {"instruction": "prompt", "output": "completion", "doc": "meta.sources"}
    rows, report = import_file(path, mapping=mapping)
    assert rows[1] == {
        "id": "r00002",
        "prompt": "Opening hours?",
        "completion": "8 to 6.",
        "meta": {"sources": "faq.md", "extra": {"lang": "en"}},
    }
    assert report.file_format == "jsonl" and report.row_format == "completion"
    assert report.rows == 2 and report.ids_assigned == 2 and report.extra_keys == {"lang": 1}


def test_csv_keeps_multiline_quoted_fields_and_reads_json_cells(tmp_path):
    path = tmp_path / "pairs.csv"
    messages = json.dumps(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}]
    )
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["id", "chat", "meta"], ["a", messages, '{"split": "eval"}'], ["b", messages, ""]]
        )
    rows, report = import_file(path, mapping={"chat": "messages"})
    assert rows[0]["messages"][1] == {"role": "assistant", "content": "Hey"}
    assert rows[0]["meta"] == {"split": "eval"} and "meta" not in rows[1]
    assert [r["id"] for r in rows] == ["a", "b"] and report.row_format == "messages"

    multiline = tmp_path / "multi.csv"
    multiline.write_text('prompt,completion\n"Two\nlines","One, with a comma"\n', encoding="utf-8")
    [row], _ = import_file(multiline)
    assert row["prompt"] == "Two\nlines" and row["completion"] == "One, with a comma"


def test_csv_mapping_errors_name_the_columns(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text("question,answer,completion\nq,a,c\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no column 'query'.*question, answer, completion"):
        import_file(path, mapping={"query": "prompt"})
    with pytest.raises(InvalidInput, match="'answer' is mapped onto it"):
        import_file(path, mapping={"question": "prompt", "answer": "completion"})
    with pytest.raises(InvalidInput, match="not a row key"):
        import_file(path, mapping={"question": "input"})
    with pytest.raises(InvalidInput, match="More than one column is mapped to prompt"):
        import_file(path, mapping={"question": "prompt", "answer": "prompt"})


def test_parse_mapping_reads_cli_pairs():
    assert parse_mapping(["question=prompt", " answer = completion "]) == {
        "question": "prompt",
        "answer": "completion",
    }
    with pytest.raises(InvalidInput, match="SOURCE=TARGET"):
        parse_mapping(["question"])


def test_hf_folder_and_dataset_dict_splits(tmp_path):
    rows = [
        {"question": "Hours?", "answer": "8 to 6."},
        {"question": "Where?", "answer": "Bergen."},
    ]
    folder = tmp_path / "hf"
    DatasetDict(
        {"train": Dataset.from_list(rows), "test": Dataset.from_list(rows[:1])}
    ).save_to_disk(str(folder))
    mapping = {"question": "prompt", "answer": "completion"}
    got, report = import_file(folder, mapping=mapping)
    assert [r["prompt"] for r in got] == ["Hours?", "Where?"] and report.split == "train"
    got, report = import_file(folder, mapping=mapping, split="test")
    assert len(got) == 1 and report.split == "test" and report.file_format == "hf"
    with pytest.raises(InvalidInput, match="has the splits train, test, not 'validation'"):
        import_file(folder, split="validation")
    with pytest.raises(InvalidInput, match="not a saved Hugging Face dataset folder"):
        import_file(tmp_path, fmt="hf")


def test_hf_nulls_from_arrow_are_dropped(tmp_path):
    folder = tmp_path / "chat"
    Dataset.from_list(
        [
            {
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Yo"},
                ]
            },
            {
                "messages": [
                    {"role": "user", "content": "A", "name": "ann"},
                    {"role": "assistant", "content": "B"},
                ]
            },
        ]
    ).save_to_disk(str(folder))
    got, _ = import_file(folder)
    assert got[0]["messages"][0] == {"role": "user", "content": "Hi"}
    assert got[1]["messages"][0] == {"role": "user", "content": "A", "name": "ann"}


def test_path_and_format_errors(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        import_file(tmp_path / "nope.jsonl")
    odd = tmp_path / "rows.parquet"
    odd.write_text("x")
    with pytest.raises(InvalidInput, match="Cannot tell the format"):
        import_file(odd)


def test_import_dataset_commits_v1_then_v2_with_its_parent(tmp_path, store):
    path = _write_jsonl(tmp_path / "faq.jsonl", [{"text": "We roast on Tuesdays."}])
    first = import_dataset("faq", path, store=store)
    assert (first.version, first.parent, first.operation, first.rows) == (1, None, "import", 1)
    assert first.params["format"] == "jsonl" and first.summary["row_format"] == "text"
    second = import_dataset("faq", path, store=store)
    assert (second.version, second.parent) == (2, 1)
    assert store.read("faq@v2")[1] == [{"id": "r00001", "text": "We roast on Tuesdays."}]


def test_refused_import_leaves_the_workspace_unchanged(tmp_path, store):
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{"text": "fine"}, {"text": ""}])
    with pytest.raises(DatasetInvalid):
        import_dataset("faq", bad, store=store)
    assert store.names() == []
    assert not (store.ws.root / "datasets").exists()
    assert store.ws.events() == []

    good = _write_jsonl(tmp_path / "good.jsonl", [{"text": "fine"}])
    import_dataset("faq", good, store=store)
    before = sorted(p.name for p in store.folder("faq").iterdir())
    with pytest.raises(DatasetInvalid):
        import_dataset("faq", bad, store=store)
    assert [v.version for v in store.versions("faq")] == [1]
    assert sorted(p.name for p in store.folder("faq").iterdir()) == before
    with pytest.raises(InvalidInput):
        import_dataset("../escape", good, store=store)
    assert store.names() == ["faq"]
