"""The malformed corpus: every file is refused with the right line numbers and fault kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import TunesmithError
from tools.datasets.importing import import_file
from tools.datasets.validation import (
    FIXES,
    MAX_ROW_BYTES,
    DatasetInvalid,
    validate_row,
    validate_rows,
)

CORPUS = Path(__file__).parents[1] / "assets" / "malformed"

# file -> (keyword arguments for import_file, the (line, kind) faults it must be refused with)
EXPECTED: dict[str, tuple[dict, list[tuple[int, str]]]] = {
    "empty_file.jsonl": ({}, [(0, "empty_file")]),
    "not_json.jsonl": ({}, [(2, "not_json")]),
    "not_object.jsonl": ({}, [(2, "not_object")]),
    "not_utf8.jsonl": ({}, [(2, "not_utf8")]),
    "unknown_format.jsonl": ({}, [(1, "unknown_format")]),
    "mixed_formats.jsonl": ({}, [(2, "mixed_formats")]),
    "empty_messages.jsonl": ({}, [(2, "empty_messages")]),
    "missing_messages.jsonl": ({}, [(3, "missing_messages")]),
    "bad_message.jsonl": ({}, [(1, "bad_message")]),
    "unknown_role.jsonl": ({}, [(1, "unknown_role")]),
    "bad_content.jsonl": ({}, [(3, "bad_content")]),
    "no_assistant_turn.jsonl": ({}, [(1, "no_assistant_turn")]),
    "lone_surrogate.jsonl": ({}, [(2, "lone_surrogate")]),
    "bad_id.jsonl": ({}, [(1, "bad_id")]),
    "duplicate_id.jsonl": ({}, [(3, "duplicate_id")]),
    "bad_meta.jsonl": ({}, [(1, "bad_meta")]),
    "row_too_large.jsonl": ({"max_row_bytes": 1000}, [(2, "row_too_large")]),
    "multi_fault.jsonl": (
        {},
        [
            (3, "bad_content"),
            (4, "not_json"),
            (6, "mixed_formats"),
            (7, "not_object"),
            (8, "bad_content"),
        ],
    ),
    "bad_csv_row.csv": (
        {"mapping": {"question": "prompt", "answer": "completion"}},
        [(4, "bad_csv_row"), (6, "bad_content")],
    ),
}
VALID = {"valid_bom_crlf.jsonl"}


def test_the_corpus_covers_every_fault_kind_and_every_file_is_listed():
    files = {p.name for p in CORPUS.iterdir() if not p.name.startswith(".")}
    assert files == set(EXPECTED) | VALID
    kinds = {kind for _, faults in EXPECTED.values() for _, kind in faults}
    assert kinds == set(FIXES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_is_refused_with_line_and_kind(name):
    kwargs, expected = EXPECTED[name]
    with pytest.raises(DatasetInvalid) as caught:
        import_file(CORPUS / name, **kwargs)
    error = caught.value
    assert [(f.line, f.kind) for f in error.faults] == expected
    assert error.total == len(expected)
    assert isinstance(error, TunesmithError) and error.hint.startswith("Nothing was stored.")
    assert name in error.message and f"{len(expected)} fault" in error.message
    first_line, first_kind = expected[0]
    assert first_kind in error.message and FIXES[first_kind] in error.hint
    if first_line:
        assert f"line {first_line}:" in error.message


def test_bom_crlf_and_blank_lines_are_accepted_and_ids_assigned():
    rows = validate_rows(CORPUS / "valid_bom_crlf.jsonl")
    assert [r["prompt"] for r in rows] == [
        "What beans do you roast?",
        "Do you grind?",
        "What beans do you roast today?",
    ]
    assert [r["id"] for r in rows] == ["r00001", "q2", "r00002"]
    assert all(not r["completion"].endswith("\r") for r in rows)


def test_validate_rows_takes_lines_and_keeps_line_numbers_through_blanks():
    lines = ["\ufeff" + json.dumps({"text": "a"}), "", "  ", '{"text": 5}\r\n']
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows(lines)
    assert [(f.line, f.kind) for f in caught.value.faults] == [(4, "bad_content")]


def test_zero_byte_file_is_empty(tmp_path):
    path = tmp_path / "nothing.jsonl"
    path.write_bytes(b"")
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows(path)
    assert [f.kind for f in caught.value.faults] == ["empty_file"]


def test_default_size_limit_refuses_a_row_over_one_megabyte(tmp_path):
    path = tmp_path / "big.jsonl"
    big = json.dumps({"prompt": "p", "completion": "x" * MAX_ROW_BYTES})
    path.write_text(json.dumps({"text": "fine"}) + "\n" + big + "\n")
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows(path)
    assert [(f.line, f.kind) for f in caught.value.faults] == [(2, "row_too_large")]


def test_every_fault_is_collected_up_to_the_cap_and_all_are_counted():
    lines = ["not json"] * 80
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows(lines, max_faults=50)
    error = caught.value
    assert len(error.faults) == 50 and error.total == 80
    assert [f.line for f in error.faults] == list(range(1, 51))
    assert "80 faults" in error.message and "and 75 more" in error.message
    assert error.to_dict()["total"] == 80


def test_unknown_keys_are_kept_out_of_training_in_meta_extra():
    row = {"prompt": "p", "completion": "c", "category": "billing", "meta": {"split": "eval"}}
    [out] = validate_rows([json.dumps(row)])
    assert out == {
        "id": "r00001",
        "prompt": "p",
        "completion": "c",
        "meta": {"split": "eval", "extra": {"category": "billing"}},
    }


def test_keys_of_two_formats_make_a_row_ambiguous():
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows([json.dumps({"text": "t", "prompt": "p", "completion": "c"})])
    assert caught.value.faults[0].kind == "unknown_format"
    assert "more than one format" in caught.value.faults[0].detail


def test_numeric_ids_become_strings_and_nan_is_not_json():
    rows = validate_rows(['{"id": 7, "text": "a"}'])
    assert rows[0]["id"] == "7"
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows(['{"text": "a", "meta": {"scores": {"x": NaN}}}'])
    assert caught.value.faults[0].kind == "not_json"


def test_one_message_can_carry_several_faults_on_its_line():
    row = {"messages": [{"role": "bot", "content": ""}]}
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows([json.dumps(row)])
    kinds = [f.kind for f in caught.value.faults]
    assert kinds == ["unknown_role", "bad_content", "no_assistant_turn"]


def test_validate_row_checks_an_edit_against_the_dataset_format():
    good = validate_row({"id": "a", "text": "hello"}, row_format="text", line=4)
    assert good["text"] == "hello"
    with pytest.raises(DatasetInvalid) as caught:
        validate_row({"id": "a", "prompt": "p", "completion": "c"}, row_format="text", line=4)
    assert [(f.line, f.kind) for f in caught.value.faults] == [(4, "mixed_formats")]
