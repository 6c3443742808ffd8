"""Document-grouped train/eval split and the leakage check."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from tools.datasets.quality import check_leakage, split_rows
from tools.datasets.quality.rowmeta import documents


def doc_row(rid: str, *docs: str, via_provenance: bool = False) -> dict:
    meta = {"provenance": {"sources": list(docs)}} if via_provenance else {"sources": list(docs)}
    return {"id": rid, "prompt": f"Question {rid}?", "completion": f"Answer {rid}.", "meta": meta}


def sides(rows: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"train": set(), "eval": set()}
    for row in rows:
        out[row["meta"]["split"]].update(documents(row))
    return out


def corpus(n_docs: int = 40, per_doc: int = 5, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = [doc_row(f"d{d}-{k}", f"doc{d}.md") for d in range(n_docs) for k in range(per_doc)]
    rows += [doc_row(f"pair{k}", f"doc{2 * k}.md", f"doc{2 * k + 1}.md") for k in range(3)]
    rows += [{"id": f"free{k}", "text": f"Unsourced {k}."} for k in range(10)]
    rng.shuffle(rows)
    return rows


def test_no_document_feeds_both_sides_and_the_fraction_is_roughly_met():
    rows = corpus()
    result = split_rows(rows, eval_fraction=0.2, seed=7)
    assert result.removed == [] and len(result.kept) == len(rows)
    both = sides(result.kept)
    assert both["train"] and both["eval"] and not both["train"] & both["eval"]
    eval_rows = [r for r in result.kept if r["meta"]["split"] == "eval"]
    assert abs(len(eval_rows) / len(rows) - 0.2) < 0.03
    assert result.notes["eval_rows"] == len(eval_rows)
    assert result.notes["rows_without_sources"] == 10
    # rows naming two documents join them: doc0 and doc1 are on the same side
    split_of = {d: s for s, docs in both.items() for d in docs}
    assert split_of["doc0.md"] == split_of["doc1.md"]
    assert "split" not in rows[0]["meta"]  # input untouched


def test_same_seed_same_split_whatever_the_row_order():
    rows = corpus()
    first = {r["id"]: r["meta"]["split"] for r in split_rows(rows, 0.1, seed=3).kept}
    again = {r["id"]: r["meta"]["split"] for r in split_rows(list(reversed(rows)), 0.1, 3).kept}
    other = {r["id"]: r["meta"]["split"] for r in split_rows(rows, 0.1, seed=4).kept}
    assert first == again
    assert first != other


def test_provenance_sources_group_rows_too():
    rows = [doc_row(f"a{k}", "a.md", via_provenance=True) for k in range(5)]
    rows += [doc_row(f"b{k}", "b.md") for k in range(5)]
    result = split_rows(rows, eval_fraction=0.5, seed=0)
    both = sides(result.kept)
    assert (
        both["train"] in ({"a.md"}, {"b.md"}) and both["eval"] == {"a.md", "b.md"} - both["train"]
    )


def test_one_group_cannot_be_split_and_the_notes_say_why():
    rows = [doc_row(f"r{k}", "handbook.pdf") for k in range(8)]
    result = split_rows(rows, eval_fraction=0.2)
    assert {r["meta"]["split"] for r in result.kept} == {"train"}
    assert "one group" in result.notes["eval_empty_reason"]


def test_auto_grouping_falls_back_to_primary_sources_when_a_shared_document_joins_all():
    rows = [doc_row(f"r{k}", f"topic{k % 4}.md", "style-guide.md") for k in range(20)]
    strict = split_rows(rows, eval_fraction=0.25, group_by="all")
    assert strict.notes["eval_rows"] == 0 and "one group" in strict.notes["eval_empty_reason"]
    result = split_rows(rows, eval_fraction=0.25)
    assert result.notes["grouping"] == "primary" and result.notes["eval_rows"] == 5
    assert "primary source" in result.notes["grouping_reason"]
    primary = {"train": set(), "eval": set()}
    for row in result.kept:
        primary[row["meta"]["split"]].add(documents(row)[0])
    assert not primary["train"] & primary["eval"]
    leaks = check_leakage(result.kept, method=None)
    assert leaks.shared_documents == ["style-guide.md"]  # the overlap is reported, not hidden


def test_groups_bigger_than_the_target_leave_eval_empty_with_a_reason():
    rows = [doc_row(f"a{k}", "a.md") for k in range(10)] + [
        doc_row(f"b{k}", "b.md") for k in range(10)
    ]
    result = split_rows(rows, eval_fraction=0.1)
    assert result.notes["eval_rows"] == 0
    assert "smallest document group has 10" in result.notes["eval_empty_reason"]


@pytest.mark.parametrize("fraction", [-0.1, 1.0])
def test_bad_fraction_is_refused(fraction):
    with pytest.raises(InvalidInput):
        split_rows([], fraction)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=3), min_size=1, max_size=40),
    st.floats(0.05, 0.5),
    st.integers(0, 10),
)
def test_split_properties(doc_lists, fraction, seed):
    rows = [doc_row(f"r{i}", *(f"{d}.md" for d in docs)) for i, docs in enumerate(doc_lists)]
    strict = split_rows(rows, fraction, seed, group_by="all")
    both = sides(strict.kept)
    assert not both["train"] & both["eval"]
    result = split_rows(rows, fraction, seed)  # auto: strict, or by primary source when needed
    primary = {"train": set(), "eval": set()}
    for row in result.kept:
        primary[row["meta"]["split"]].update(documents(row)[:1])
    assert not primary["train"] & primary["eval"]
    if result.notes["grouping"] == "all":
        assert result.kept == strict.kept
    assert [r["id"] for r in result.kept] == [r["id"] for r in rows]
    assert any(r["meta"]["split"] == "train" for r in result.kept)
    assert result.kept == split_rows(rows, fraction, seed).kept


def test_leakage_check_finds_planted_leaks_and_passes_a_clean_split():
    clean = split_rows(corpus(), eval_fraction=0.2, seed=1).kept
    assert check_leakage(clean, method="minhash").ok

    train = [r for r in clean if r["meta"]["split"] == "train"]
    leaked_doc = next(d for r in train for d in documents(r))
    exact = {**train[0], "id": "leak-exact", "meta": {"split": "eval"}}
    near = {
        **train[1],
        "id": "leak-near",
        "meta": {"split": "eval"},
        "completion": train[1]["completion"] + " Thanks for asking about it today!",
    }
    doc = doc_row("leak-doc", leaked_doc)
    doc["meta"]["split"] = "eval"
    report = check_leakage([*clean, exact, near, doc], method="minhash", threshold=0.3)
    assert not report.ok
    assert report.shared_documents == [leaked_doc]
    assert [(p.eval_id, p.train_id) for p in report.exact] == [("leak-exact", train[0]["id"])]
    assert [(p.eval_id, p.train_id) for p in report.near] == [("leak-near", train[1]["id"])]
    assert 0.3 <= report.near[0].similarity < 1
    assert report.to_dict()["ok"] is False and report.method == "minhash"


def test_leakage_with_embeddings_and_unsplit_rows():
    rows = [
        {
            "id": "t",
            "prompt": "How much is shipping to Norway?",
            "completion": "Shipping to Norway costs 12 euros.",
            "meta": {"split": "train"},
        },
        {
            "id": "e",
            "prompt": "How much does shipping to Norway cost?",
            "completion": "Shipping to Norway costs 12 euros!",
            "meta": {"split": "eval"},
        },
        {"id": "u", "text": "no split yet"},
    ]
    report = check_leakage(rows)
    assert report.unsplit_rows == 1 and report.method == "embedding"
    assert [(p.eval_id, p.train_id) for p in report.near] == [("e", "t")]
    assert check_leakage(rows, method=None).near == []
