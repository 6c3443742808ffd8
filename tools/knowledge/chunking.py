"""Cut a loaded document into chunks that fit the embedder, each traceable to its exact span.

Sections that belong together (same heading, same page, not a data row) are packed into chunks
of at most `max_tokens`, counted on the text that actually gets embedded: the heading path, a
blank line, then the body. Oversized text is split recursively on the largest natural boundary
(tools/knowledge/splitting.py). Consecutive chunks of one section share about `overlap_tokens`
so an answer that straddles a cut is still found whole in one of them. Nothing is ever merged
across a heading, a page or a row: those are what a citation points at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from core.errors import InvalidInput
from tools.knowledge.document import LoadedDocument, Section
from tools.knowledge.splitting import (
    SEPARATORS,
    Piece,
    TokenCounter,
    longest_fitting_prefix,
    split_span,
)
from tools.knowledge.tokens import minilm_token_counter

__all__ = ["Chunk", "chunk_document", "minilm_token_counter"]

_WORD_START = re.compile(r"\s+")
_SENTENCE_START = re.compile(rf"{SEPARATORS[2].pattern}|\n\s*")


@dataclass(frozen=True)
class Chunk:
    """One piece of a document: `body` is document.text[start:end]; `text` is what gets embedded,
    the heading path, a blank line and the body (just the body when there is no heading)."""

    text: str
    body: str
    start: int
    end: int
    heading: str = ""
    page: int | None = None
    row: int | None = None


def _check_limits(max_tokens: int, overlap_tokens: int) -> None:
    if max_tokens < 1:
        raise InvalidInput(f"max_tokens must be at least 1, not {max_tokens}", "try 200")
    if overlap_tokens < 0:
        raise InvalidInput(
            f"overlap_tokens must be 0 or more, not {overlap_tokens}",
            "an overlap of about a sixth of max_tokens works well, e.g. 30 for 200",
        )


def _mergeable(text: str, before: Section, after: Section) -> bool:
    """Same heading and page, no data row, and only whitespace between the two spans.

    The whitespace test matters: two Markdown headings with the same title give equal heading
    paths, and merging across them would put the second heading line inside a body.
    """
    return (
        before.row is None
        and after.row is None
        and before.heading == after.heading
        and before.page == after.page
        and not text[before.end : after.start].strip()
    )


def _groups(doc: LoadedDocument) -> Iterator[list[Section]]:
    """Runs of consecutive sections that may share chunks."""
    group: list[Section] = []
    for section in doc.sections:
        if not doc.text.startswith(section.text, section.start):
            raise ValueError(f"section at {section.start} does not match the document text")
        if group and not _mergeable(doc.text, group[-1], section):
            yield group
            group = []
        group.append(section)
    if group:
        yield group


def _prefix(heading: str, max_tokens: int, count: TokenCounter) -> str:
    """The heading prefix of each chunk's text; a heading is cut to at most half the budget, so
    a runaway heading (a whole paragraph styled as one) cannot starve the body."""
    if not heading:
        return ""
    half = max_tokens // 2
    prefix = f"{heading}\n\n"
    if count(prefix) <= half:
        return prefix
    kept = longest_fitting_prefix(heading, 0, len(heading), half - count("\n\n"), count)
    prefix = f"{heading[:kept].rstrip()}\n\n"
    return prefix if prefix.strip() and count(prefix) <= half else ""


def _overlap_start(
    text: str, start: int, end: int, overlap: int, tokens: int, count: TokenCounter
) -> tuple[int, int] | None:
    """Where the next chunk starts inside text[start:end] (which counts `tokens`) so as to repeat
    about `overlap` tokens of its tail, and how many tokens that is; None if no word fits.

    It is the earliest word start that fits, searched in a tail window twice the overlap's share
    of the span (so finding it costs a fraction of the chunk), then moved on to a sentence start
    if one follows that keeps at least half the overlap: a chunk that opens mid-sentence reads
    badly when quoted. Never `start` itself, so no chunk swallows the one before it.
    """
    if overlap <= 0:
        return None
    window = -(-2 * overlap * (end - start) // max(tokens, 1))
    starts = [m.end() for m in _WORD_START.finditer(text, max(start, end - window), end)]
    found = None
    low, high = 0, len(starts) - 1
    while low <= high:  # suffix counts shrink as the start moves right
        middle = (low + high) // 2
        suffix_tokens = count(text[starts[middle] : end])
        if suffix_tokens <= overlap:
            found, high = (starts[middle], suffix_tokens), middle - 1
        else:
            low = middle + 1
    if found is not None:
        sentence = next((m.end() for m in _SENTENCE_START.finditer(text, found[0], end)), end)
        if sentence < end and 2 * (suffix_tokens := count(text[sentence:end])) >= overlap:
            found = (sentence, suffix_tokens)
    return found


def _pack(
    text: str,
    pieces: list[Piece],
    prefix: str,
    max_tokens: int,
    overlap: int,
    count: TokenCounter,
) -> Iterator[tuple[int, int]]:
    """(start, end) of each chunk: greedy packing of pieces by their summed counts, checked
    against the real count of the rendered chunk (counts need not add up exactly), plus an
    overlap carried from the previous chunk."""
    prefix_tokens = count(prefix) if prefix else 0
    carried: tuple[int, int] | None = None
    first = 0
    while first < len(pieces):
        start, total = pieces[first].start, prefix_tokens
        if carried is not None:
            start, total = carried[0], total + carried[1]
        stop, total = first + 1, total + pieces[first].tokens
        while stop < len(pieces) and total + pieces[stop].tokens <= max_tokens:
            total += pieces[stop].tokens
            stop += 1
        while (tokens := count(prefix + text[start : pieces[stop - 1].end])) > max_tokens:
            if stop - first > 1:
                stop -= 1
            elif start != pieces[first].start:
                start = pieces[first].start
            else:
                break  # one piece that cannot be cut below the limit
        end = pieces[stop - 1].end
        yield start, end
        first = stop
        if first < len(pieces):
            carried = _overlap_start(text, start, end, overlap, tokens - prefix_tokens, count)


def chunk_document(
    doc: LoadedDocument,
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 30,
    count_tokens: TokenCounter | None = None,
) -> list[Chunk]:
    """Chunks of `doc` in document order; each embedded text counts at most `max_tokens`.

    `count_tokens` defaults to the MiniLM tokenizer, the embedder's own. The only chunks that can
    exceed the limit are single characters the counter rates above it. The overlap is capped at
    half of what the heading prefix leaves of `max_tokens`, so a small `max_tokens` works with the
    default overlap.
    """
    _check_limits(max_tokens, overlap_tokens)
    count = count_tokens or minilm_token_counter()
    chunks = []
    for group in _groups(doc):
        first = group[0]
        prefix = _prefix(first.heading, max_tokens, count)
        budget = max_tokens - (count(prefix) if prefix else 0)
        overlap = min(overlap_tokens, budget // 2)
        piece_limit = max(1, budget - overlap)
        pieces = [
            piece
            for section in group
            for piece in split_span(doc.text, section.start, section.end, piece_limit, count)
        ]
        for start, end in _pack(doc.text, pieces, prefix, max_tokens, overlap, count):
            body = doc.text[start:end]
            chunks.append(
                Chunk(prefix + body, body, start, end, first.heading, first.page, first.row)
            )
    return chunks
