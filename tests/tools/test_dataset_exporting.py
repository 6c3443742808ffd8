"""Exports: export then import is the identity on the training content, for every format."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.workspace import Workspace
from tools.datasets.exporting import export_dataset, export_rows, openai_row
from tools.datasets.importing import import_file
from tools.datasets.rows import prompt_and_response
from tools.datasets.store import DatasetStore

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30
).filter(str.strip)
META = st.fixed_dictionaries(
    {},
    optional={
        "split": st.sampled_from(["train", "eval"]),
        "sources": st.lists(TEXT, max_size=2),
        "scores": st.dictionaries(st.sampled_from(["grounding", "judge"]), st.floats(0, 5)),
    },
)


@st.composite
def messages(draw):
    turns = []
    if draw(st.booleans()):
        turns.append({"role": "system", "content": draw(TEXT)})
    for _ in range(draw(st.integers(1, 3))):
        turns += [
            {"role": "user", "content": draw(TEXT)},
            {"role": "assistant", "content": draw(TEXT)},
        ]
    return {"messages": turns}


CONTENT = {
    "messages": messages(),
    "completion": st.fixed_dictionaries({"prompt": TEXT, "completion": TEXT}),
    "text": st.fixed_dictionaries({"text": TEXT}),
}


@st.composite
def datasets(draw, formats=tuple(CONTENT)):
    """1..8 rows of one format with unique ids, some with meta."""
    content = CONTENT[draw(st.sampled_from(formats))]
    rows = []
    for index in range(draw(st.integers(1, 8))):
        row = {"id": f"x{index}", **draw(content)}
        meta = draw(st.none() | META)
        rows.append(row if meta is None else {**row, "meta": meta})
    return rows


def _round_trip(rows: list[dict], fmt: str, name: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        report = export_rows(rows, path, fmt=fmt)
        assert report.rows == len(rows) and report.fmt == fmt
        back, _ = import_file(path)
    return back


@settings(max_examples=40, deadline=None)
@given(rows=datasets())
def test_csv_export_then_import_is_the_identity(rows):
    assert _round_trip(rows, "csv", "rows.csv") == rows


@settings(max_examples=40, deadline=None)
@given(rows=datasets())
def test_jsonl_export_then_import_is_the_identity(rows):
    assert _round_trip(rows, "jsonl", "rows.jsonl") == rows


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=datasets())
def test_hf_export_then_import_is_the_identity(rows):
    assert _round_trip(rows, "hf", "rows_hf") == rows


@settings(max_examples=40, deadline=None)
@given(rows=datasets(formats=("messages", "completion")))
def test_openai_export_then_import_keeps_the_training_content(rows):
    back = _round_trip(rows, "openai", "chat.jsonl")
    assert [prompt_and_response(r) for r in back] == [prompt_and_response(r) for r in rows]
    if "messages" in rows[0]:
        assert [r["messages"] for r in back] == [r["messages"] for r in rows]
    assert all(set(r) == {"id", "messages"} for r in back)  # id assigned on import, no meta


def test_openai_rows_are_messages_only_and_text_rows_are_refused():
    row = {"id": "a", "prompt": "Hours?", "completion": "8 to 6.", "meta": {"split": "eval"}}
    assert openai_row(row) == {
        "messages": [
            {"role": "user", "content": "Hours?"},
            {"role": "assistant", "content": "8 to 6."},
        ]
    }
    chat = {
        "messages": [
            {"role": "user", "content": "Hi", "name": "ann"},
            {"role": "assistant", "content": "Hey"},
        ]
    }
    assert openai_row(chat)["messages"][0] == {"role": "user", "content": "Hi"}
    with pytest.raises(InvalidInput, match="Text rows have no user turn"):
        openai_row({"text": "plain"})


def test_exports_refuse_to_overwrite_and_guess_the_format(tmp_path):
    rows = [{"id": "a", "prompt": "Hours?", "completion": "8 to 6."}]
    first = export_rows(rows, tmp_path / "out.jsonl")
    assert first.fmt == "openai"
    with pytest.raises(InvalidInput, match="already exists"):
        export_rows(rows, tmp_path / "out.jsonl")
    export_rows([{**rows[0], "completion": "9 to 5."}], tmp_path / "out.jsonl", overwrite=True)
    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert line["messages"][1]["content"] == "9 to 5."
    assert export_rows(rows, tmp_path / "out.csv").fmt == "csv"
    with pytest.raises(InvalidInput, match="Cannot tell which export format"):
        export_rows(rows, tmp_path / "out.parquet")


def test_hf_export_replaces_a_folder_in_one_step_and_leaves_no_temp_folders(tmp_path):
    store = DatasetStore(Workspace(tmp_path / "home"))
    store.commit("faq", [{"id": "a", "text": "one"}], operation="import", parent=None)
    store.commit("faq", [{"id": "b", "text": "two"}], operation="edit", parent=1)
    target = tmp_path / "exports" / "faq_hf"
    report = export_dataset(store, "faq@v1", target)
    assert report.fmt == "hf" and report.ref == "ds:faq@v1"
    export_dataset(store, "faq", target, overwrite=True)
    assert import_file(target)[0] == [{"id": "b", "text": "two"}]
    assert [p.name for p in target.parent.iterdir()] == ["faq_hf"]
    assert store.ws.events("ds:faq@v2")[0]["kind"] == "ds.export"
