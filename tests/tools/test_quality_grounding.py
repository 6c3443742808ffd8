"""Grounding scores against source chunks: the formula on known cases, filtering, MiniLM blend."""

from __future__ import annotations

import pytest

from core.embeddings import get_embedder
from core.errors import InvalidInput
from core.settings import Settings
from core.workspace import Workspace
from tools.datasets.quality import grounding, kb_chunk_lookup, lexical_support
from tools.knowledge.kb import add_documents, open_kb

CHUNKS = {
    "c1": "Shipping to Norway costs 12 euros and takes five days.",
    "c2": "Our Ethiopia Guji is a washed coffee with notes of jasmine and bergamot.",
}


def grounded_row(rid: str, response: str, chunk_ids: list[str], **meta) -> dict:
    provenance = {"strategy": "grounded", "chunk_ids": chunk_ids}
    return {
        "id": rid,
        "prompt": "Q?",
        "completion": response,
        "meta": {"provenance": provenance, **meta},
    }


def test_lexical_support_follows_the_documented_formula():
    source = [CHUNKS["c1"]]
    assert lexical_support("Shipping to Norway costs 12 euros.", source) == 1.0
    # content words: shipping, norway, free -> 2/3 found; bigrams: (shipping, norway) found,
    # (norway, free) not -> 1/2; lexical = (2/3 + 1/2) / 2
    assert lexical_support("Shipping to Norway is free.", source) == pytest.approx(7 / 12)
    assert lexical_support("Bergamot.", source) == 0.0  # one word: unigram only
    assert lexical_support("It is so.", source) is None  # nothing to check


def test_scores_are_stored_and_weak_rows_removed_with_the_score():
    rows = [
        grounded_row("good", "Shipping to Norway takes five days and costs 12 euros.", ["c1"]),
        grounded_row(
            "mixed", "The Guji tastes of jasmine; shipping to Norway is free.", ["c1", "c2"]
        ),
        grounded_row("invented", "We plant oak trees in Peru every spring.", ["c1", "c2"]),
    ]
    result = grounding(rows, chunk_lookup=CHUNKS.get, threshold=0.3)
    scores = {r["id"]: r["meta"]["scores"]["grounding"] for r in result.kept}
    # every word supported; the reordering makes 2 of 7 content-word bigrams new:
    # (norway, take) and (day, cost) -> (1 + 5/7) / 2
    assert scores["good"] == pytest.approx(6 / 7, abs=1e-4)
    # 4 of 6 words supported, 1 of 5 bigrams: (4/6 + 1/5) / 2
    assert scores["mixed"] == pytest.approx(13 / 30, abs=1e-4)
    [removal] = result.removed
    assert removal.id == "invented"
    assert removal.reason == "weakly grounded: score 0.00 < 0.3"
    assert result.notes["scored"] == 3 and result.notes["method"] == "lexical"
    assert "scores" not in rows[0]["meta"]  # the input rows are untouched


def test_rows_without_sources_are_kept_unscored_unless_sources_are_required():
    rows = [
        {"id": "bare", "prompt": "Q?", "completion": "Shipping is free."},
        grounded_row("gone", "Shipping is free.", ["c404"]),
        {
            "id": "ctx",
            "prompt": "Q?",
            "completion": "Shipping to Norway costs 12 euros.",
            "meta": {"context": CHUNKS["c1"]},
        },
    ]
    result = grounding(rows, chunk_lookup=CHUNKS.get)
    assert [r["id"] for r in result.kept] == ["bare", "gone", "ctx"]
    assert "scores" not in result.kept[0].get("meta", {})
    assert result.kept[2]["meta"]["scores"] == {"grounding": 1.0}
    assert result.notes["unscored"] == {"no source text": 2}
    assert result.notes["unresolved_chunk_ids"] == 1 and result.notes["unresolved_examples"] == [
        "c404"
    ]

    strict = grounding(rows, chunk_lookup=CHUNKS.get, require_sources=True)
    assert [r.id for r in strict.removed] == ["bare", "gone"]
    assert strict.removed[0].reason == "ungrounded: no source text to check against"


def test_threshold_none_scores_without_removing():
    rows = [grounded_row("invented", "We plant oak trees in Peru.", ["c1"])]
    result = grounding(rows, chunk_lookup=CHUNKS.get, threshold=None)
    assert result.removed == [] and result.kept[0]["meta"]["scores"]["grounding"] == 0.0


def test_chunk_ids_without_a_lookup_are_reported():
    rows = [grounded_row("r", "Shipping to Norway costs 12 euros.", ["c1"])]
    result = grounding(rows)
    assert result.notes["unscored"] == {"no source text": 1}
    assert "no chunk lookup" in result.notes["warning"]


def test_semantic_blend_credits_a_paraphrase_more_than_lexical_overlap():
    rows = [
        grounded_row(
            "para", "Norwegian deliveries arrive in under a week for a small fee.", ["c1"]
        ),
        grounded_row("off", "We plant oak trees in Peru every spring.", ["c1"]),
    ]
    lexical = grounding(rows, chunk_lookup=CHUNKS.get, threshold=None)
    blended = grounding(rows, chunk_lookup=CHUNKS.get, threshold=None, encoder=get_embedder())
    lex = {r["id"]: r["meta"]["scores"]["grounding"] for r in lexical.kept}
    sem = {r["id"]: r["meta"]["scores"]["grounding"] for r in blended.kept}
    assert sem["para"] > lex["para"] + 0.2
    assert sem["para"] > sem["off"] + 0.2
    assert all(0 <= s <= 1 for s in sem.values())
    assert blended.notes["method"] == "lexical+semantic (w=0.5)"


@pytest.mark.parametrize("kwargs", [{"threshold": 1.5}, {"semantic_weight": -0.1}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(InvalidInput):
        grounding([], **kwargs)


def test_kb_chunk_lookup_resolves_real_chunk_ids(tmp_path):
    home = tmp_path / "home"
    doc = tmp_path / "shipping.md"
    doc.write_text("# Shipping\n\n" + CHUNKS["c1"] + "\n", encoding="utf-8")
    ws = Workspace(home)
    add_documents("docs", [doc], ws=ws, settings=Settings(home=home))
    [chunk] = open_kb("docs", ws).chunks
    lookup = kb_chunk_lookup("docs", ws)
    assert CHUNKS["c1"] in lookup(chunk.id)
    assert lookup("nope") is None
    row = grounded_row("r", "Shipping to Norway costs 12 euros.", [chunk.id])
    assert grounding([row], chunk_lookup=lookup).kept[0]["meta"]["scores"]["grounding"] == 1.0
