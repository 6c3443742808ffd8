"""Recursive, token-aware splitting of one span of text into pieces that each fit a token limit.

A piece is a span (start, end) of the document text, never a copy, so a chunk made of pieces can
always be traced back to its exact characters. Cuts prefer the largest natural boundary that
makes a piece fit: paragraphs, then lines, then sentence ends, then spaces; a run of text with no
space at all (a long URL, a base64 blob) is cut at characters as the last resort.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

TokenCounter = Callable[[str], int]

SEPARATORS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n[ \t]*\n\s*"),  # blank line: a paragraph break
    re.compile(r"\n\s*"),  # line break
    re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+|(?<=[。！？])\s*"),  # sentence end
    re.compile(r"\s+"),  # any space
)
"""Coarsest first. Each match is whitespace between two pieces; it belongs to neither."""

_MAX_CHARS_PER_TOKEN = 64
"""How far a character cut looks ahead: tokenizers rarely pack more characters into a token, and
the bound keeps cutting a long run linear instead of quadratic."""

_PROBE_CHARS_PER_TOKEN = 8
"""A span this many characters per token of the limit long is judged by its head first: text
that averages fewer characters per token (nearly all text) overflows within the head, and the
whole span need not be tokenized just to learn that it must be split."""


@dataclass(frozen=True)
class Piece:
    """text[start:end], known to count `tokens` tokens; no whitespace at either end."""

    start: int
    end: int
    tokens: int


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) moved inwards past whitespace; start == end when only whitespace is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def longest_fitting_prefix(text: str, start: int, end: int, limit: int, count: TokenCounter) -> int:
    """The largest n such that text[start:start+n] counts at most `limit` tokens (0 if none).

    Binary search over a window of limit * _MAX_CHARS_PER_TOKEN characters; it assumes counts grow
    with length, and whatever it returns does fit, even for a counter that breaks that assumption.
    """
    low, high = 0, min(end - start, max(limit, 1) * _MAX_CHARS_PER_TOKEN)
    while low < high:
        middle = (low + high + 1) // 2
        if count(text[start : start + middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def _character_cuts(
    text: str, start: int, end: int, limit: int, count: TokenCounter
) -> list[Piece]:
    pieces = []
    while start < end:
        size = max(1, longest_fitting_prefix(text, start, end, limit, count))
        pieces.append(Piece(start, start + size, count(text[start : start + size])))
        start += size
    return pieces


def _count_if_fits(text: str, start: int, end: int, limit: int, count: TokenCounter) -> int | None:
    """The token count of text[start:end] if it is at most `limit`, else None."""
    head_end = start + max(limit, 1) * _PROBE_CHARS_PER_TOKEN
    if head_end < end and count(text[start:head_end]) > limit:
        return None
    tokens = count(text[start:end])
    return tokens if tokens <= limit else None


def _parts(text: str, start: int, end: int, separator: re.Pattern[str]) -> list[tuple[int, int]]:
    """The trimmed, non-empty spans between matches of `separator` within text[start:end]."""
    bounds, position = [], start
    for match in separator.finditer(text, start, end):
        bounds.append(trim(text, position, match.start()))
        position = match.end()
    bounds.append(trim(text, position, end))
    return [(low, high) for low, high in bounds if low < high]


def split_span(
    text: str, start: int, end: int, limit: int, count: TokenCounter, level: int = 0
) -> list[Piece]:
    """Pieces covering text[start:end] in order, each counting at most `limit` tokens.

    Only whitespace at the cut points is left out. A piece exceeds `limit` only when a single
    character does (a limit too small for the counter).
    """
    start, end = trim(text, start, end)
    if start >= end:
        return []
    tokens = _count_if_fits(text, start, end, limit, count)
    if tokens is not None:
        return [Piece(start, end, tokens)]
    for depth in range(level, len(SEPARATORS)):
        parts = _parts(text, start, end, SEPARATORS[depth])
        if len(parts) > 1:
            return [
                piece
                for low, high in parts
                for piece in split_span(text, low, high, limit, count, depth + 1)
            ]
    return _character_cuts(text, start, end, limit, count)
