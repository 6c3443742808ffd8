"""The chunker: exact spans, token limits, headings/pages/rows never crossed, overlap.

Most tests count tokens with simple counters (words, characters) so the limits are easy to
reason about; one test uses the real MiniLM tokenizer the knowledge base embeds with.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from tools.knowledge.chunking import Chunk, chunk_document, minilm_token_counter
from tools.knowledge.document import LoadedDocument, Section, TextBuilder
from tools.knowledge.formats.markdown import parse_markdown
from tools.knowledge.formats.plaintext import parse_plaintext


def words(text: str) -> int:
    return len(text.split())


def characters(text: str) -> int:
    return len(text)


def markdown_doc(text: str) -> LoadedDocument:
    full, sections = parse_markdown(text)
    return LoadedDocument(Path("doc.md"), "markdown", full, sections)


def built_doc(builder: TextBuilder, kind: str = "pdf") -> LoadedDocument:
    text, sections = builder.build()
    return LoadedDocument(Path(f"doc.{kind}"), kind, text, sections)


def sections_under(doc: LoadedDocument, chunk: Chunk) -> list[Section]:
    """The sections a chunk's span touches."""
    return [s for s in doc.sections if s.start < chunk.end and chunk.start < s.end]


def assert_well_formed(doc: LoadedDocument, chunks: list[Chunk], max_tokens: int, count) -> None:
    """The invariants every chunking must keep, whatever the document."""
    for chunk in chunks:
        assert chunk.body == doc.text[chunk.start : chunk.end]
        assert chunk.body.strip() == chunk.body != ""
        assert chunk.text.endswith(chunk.body)
        shown_heading = chunk.text[: -len(chunk.body)].removesuffix("\n\n")
        assert chunk.heading.startswith(shown_heading), "the heading, or its start when too long"
        assert count(chunk.text) <= max_tokens
        touched = sections_under(doc, chunk)
        assert touched, "a chunk lies inside the document's sections"
        for before, after in zip(touched, touched[1:], strict=False):
            assert not doc.text[before.end : after.start].strip(), "no heading line inside a body"
        assert {(s.heading, s.page, s.row) for s in touched} == {
            (chunk.heading, chunk.page, chunk.row)
        }


def assert_covers(doc: LoadedDocument, chunks: list[Chunk]) -> None:
    """No text is lost: every non-space character of every section is in some chunk."""
    covered = bytearray(len(doc.text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    for section in doc.sections:
        for offset in range(section.start, section.end):
            assert covered[offset] or doc.text[offset].isspace()


# --- Property: spans are exact for any markdown-ish text --------------------------------------

_word = st.text(alphabet="abcdefghij.!?,é—", min_size=1, max_size=12)
_line = st.lists(_word, min_size=1, max_size=14).map(" ".join)
_block = st.one_of(
    _line,
    st.lists(_line, min_size=1, max_size=5).map("\n".join),
    st.builds(lambda level, title: "#" * level + " " + title, st.integers(1, 4), _line),
    st.just("```\n# not a heading\n```"),
    st.just(""),
    st.just("   \t"),
    st.text(alphabet="xyz", min_size=30, max_size=200),  # a run with no space at all
)
_markdown = st.lists(_block, min_size=1, max_size=25).map("\n".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=_markdown,
    max_tokens=st.integers(1, 60),
    overlap=st.integers(0, 7),
    counter=st.sampled_from([words, characters]),
)
def test_chunk_spans_are_exact_and_within_limits(source, max_tokens, overlap, counter):
    doc = markdown_doc(source)
    chunks = chunk_document(
        doc, max_tokens=max_tokens, overlap_tokens=overlap, count_tokens=counter
    )
    assert_well_formed(doc, chunks, max_tokens, counter)
    assert_covers(doc, chunks)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


# --- Limits with the real tokenizer -----------------------------------------------------------


def test_minilm_counter_counts_past_the_tokenizers_own_truncation():
    count = minilm_token_counter()
    assert count is minilm_token_counter(), "loaded once, then cached"
    assert count("hello world") == 2, "special tokens are not counted"
    assert count("hello world " * 300) == 600, "tokenizer.json truncates at 128; we must not"


def test_chunks_fit_the_minilm_limit_on_real_prose():
    paragraph = (
        "Orders ship within two business days from our warehouse in Lyon. "
        "International parcels travel by air; customs fees are paid by the recipient. "
        "Tracking numbers arrive by e-mail once the carrier scans the parcel.\n\n"
    )
    doc = markdown_doc("# Shipping\n\n" + paragraph * 30 + "## Returns\n\n" + paragraph * 3)
    count = minilm_token_counter()
    chunks = chunk_document(doc, max_tokens=120, overlap_tokens=20)
    assert_well_formed(doc, chunks, 120, count)
    assert_covers(doc, chunks)
    assert {c.heading for c in chunks} == {"Shipping", "Shipping > Returns"}
    assert max(count(c.text) for c in chunks) > 90, "chunks are packed, not left tiny"


# --- Structure: headings, pages and rows ------------------------------------------------------


def test_headings_are_never_crossed_even_when_titles_repeat():
    doc = markdown_doc("# Notes\nalpha beta\n\n# Notes\ngamma delta\n\n## Sub\nepsilon\n")
    chunks = chunk_document(doc, max_tokens=50, count_tokens=words)
    assert [(c.heading, c.body) for c in chunks] == [
        ("Notes", "alpha beta"),
        ("Notes", "gamma delta"),
        ("Notes > Sub", "epsilon"),
    ]
    assert chunks[2].text == "Notes > Sub\n\nepsilon"


def test_small_sections_under_one_heading_on_one_page_are_merged():
    builder = TextBuilder()
    builder.add_section("first part", heading="Guide", page=1)
    builder.add_section("second part", heading="Guide", page=1)
    builder.add_section("third part", heading="Guide", page=2)
    chunks = chunk_document(built_doc(builder), max_tokens=50, count_tokens=words)
    assert [(c.page, c.body) for c in chunks] == [
        (1, "first part\n\nsecond part"),
        (2, "third part"),
    ]


def test_each_row_is_its_own_chunk_and_a_huge_row_is_split():
    builder = TextBuilder()
    builder.add_section("q: short\na: yes", row=1)
    builder.add_section("q: also short\na: no", row=2)
    builder.add_section("q: long\na: " + "word " * 100, row=3)
    doc = built_doc(builder, "csv")
    chunks = chunk_document(doc, max_tokens=30, overlap_tokens=5, count_tokens=words)
    assert_well_formed(doc, chunks, 30, words)
    assert [c.row for c in chunks][:2] == [1, 2]
    assert {c.row for c in chunks[2:]} == {3} and len(chunks) > 3


def test_a_run_without_spaces_is_cut_at_characters():
    doc = LoadedDocument(Path("blob.txt"), "text", *parse_plaintext("x" * 500))
    chunks = chunk_document(doc, max_tokens=40, overlap_tokens=0, count_tokens=characters)
    assert [len(c.body) for c in chunks] == [40] * 12 + [20]
    assert "".join(c.body for c in chunks) == "x" * 500


def test_an_overlong_heading_is_shortened_in_the_embedded_text_only():
    heading = " ".join(f"word{i}" for i in range(40))
    doc = markdown_doc(f"# {heading}\n\nthe body text")
    (chunk,) = chunk_document(doc, max_tokens=20, count_tokens=words)  # default overlap 30 too
    assert chunk.heading == heading
    assert chunk.text == " ".join(f"word{i}" for i in range(10)) + "\n\nthe body text"


# --- Overlap ----------------------------------------------------------------------------------


def test_consecutive_chunks_of_a_section_overlap_from_a_sentence_start():
    prose = " ".join(f"Sentence number {i} says something useful." for i in range(60))
    doc = markdown_doc("# Topic\n\n" + prose)
    chunks = chunk_document(doc, max_tokens=40, overlap_tokens=8, count_tokens=words)
    assert len(chunks) > 3
    for before, after in zip(chunks, chunks[1:], strict=False):
        shared = doc.text[after.start : before.end]
        assert before.start < after.start < before.end, "overlapping, never swallowing"
        assert 4 <= words(shared) <= 8
        assert after.body.startswith("Sentence number")


def test_no_overlap_when_asked_for_none_and_none_across_headings():
    prose = " ".join(f"Line {i} of the text." for i in range(40))
    doc = markdown_doc(f"# A\n\n{prose}\n\n# B\n\n{prose}")
    chunks = chunk_document(doc, max_tokens=30, overlap_tokens=0, count_tokens=words)
    assert all(b.start >= a.end for a, b in zip(chunks, chunks[1:], strict=False))
    with_overlap = chunk_document(doc, max_tokens=30, overlap_tokens=6, count_tokens=words)
    first_b = next(c for c in with_overlap if c.heading == "B")
    assert first_b.body.startswith("Line 0"), "the first chunk under a heading starts fresh"


# --- Arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (50, -1)])
def test_impossible_limits_are_refused(max_tokens, overlap):
    doc = markdown_doc("some text")
    with pytest.raises(InvalidInput):
        chunk_document(doc, max_tokens=max_tokens, overlap_tokens=overlap, count_tokens=words)


def test_a_section_that_does_not_match_the_text_is_a_bug_not_a_chunk():
    doc = LoadedDocument(Path("x.md"), "markdown", "abc", [Section("xyz", 0)])
    with pytest.raises(ValueError):
        chunk_document(doc, count_tokens=words)
