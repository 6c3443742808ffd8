"""Text normalisation shared by the quality checks, so they agree on what "the same words" means.

Dedupe, MinHash, grounding and the leakage check all compare texts; each uses these helpers so a
row that one check calls a duplicate is a duplicate for the others too.
"""

from __future__ import annotations

import re
import unicodedata

from tools.datasets.rows import prompt_and_response

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

# Function words carry no facts: a response is not "supported" because the source also says "the".
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just let me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def normalise(text: str) -> str:
    """Case-folded, NFKC-normalised, whitespace collapsed: the form exact duplicates share."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def words(text: str) -> list[str]:
    """The word tokens of the normalised text (letters, digits, underscore), in order."""
    return _WORD.findall(normalise(text))


def stem(word: str) -> str:
    """A crude plural stripper, so "roasts" supports "roast" (no dependency on a stemmer)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """Stemmed words that carry meaning: no stopwords, no one-letter words (digits stay)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def sentences(text: str) -> list[str]:
    """The text cut at sentence ends and line breaks, empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def row_key(row: dict) -> str:
    """The exact-duplicate key of a row: its normalised prompt and response."""
    prompt, response = prompt_and_response(row)
    return normalise(prompt) + "\x1f" + normalise(response)


def row_text(row: dict) -> str:
    """Prompt and response as one text (for shingling and display)."""
    prompt, response = prompt_and_response(row)
    return f"{prompt}\n{response}" if prompt else response
