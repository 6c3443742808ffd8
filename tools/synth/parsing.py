"""Reading model outputs leniently, and refusing the ones that would make bad training rows.

Small models do not write JSON reliably, so the synthesis prompts ask for labelled lines
(`QUESTION: ...` / `ANSWER: ...`). Models decorate them (`**Question:**`, `Q:`, a numbered list,
echoed <document> tags, a code fence), so the parser accepts the common variants and takes the
first input/output pair. Anything unusable raises `Unusable` with a short reason (a category that
is counted) and a detail (what exactly was wrong), which the runner retries, then reports.
"""

from __future__ import annotations

import re

PARSE_FAILURE = "parse failure"
EMPTY = "empty"
TOO_SHORT = "too short"
REPETITIVE = "repetitive"
COPY = "copy of the context"
NEAR_COPY = "near-copy of a seed"
MODEL_ERROR = "model error"

PLURALS = {
    PARSE_FAILURE: "parse failures",
    EMPTY: "empty outputs",
    TOO_SHORT: "too short",
    REPETITIVE: "repetitive",
    COPY: "copies of the context",
    NEAR_COPY: "near-copies of a seed",
    MODEL_ERROR: "model errors",
}

MIN_CHARS = 8
EXAMPLE_LEAK_WORDS = 2
MIN_WORDS_FOR_REPETITION = 12
MAX_REPEATED_SHARE = 0.4
COPY_NGRAM = 5
COPY_SHARE = 0.6
MIN_COPY_NGRAMS = 4

INPUT_LABELS = ("question", "instruction", "input", "request", "prompt", "q")
OUTPUT_LABELS = ("answer", "response", "output", "reply", "a")
_LABEL = re.compile(
    r"^[ \t]*(?:[-*>#]+[ \t]*|\d+[.)][ \t]*)?[*_]*[ \t]*"
    r"(?P<label>" + "|".join(INPUT_LABELS + OUTPUT_LABELS) + r")"
    r"[ \t]*(?:\d+[ \t]*)?[*_]*[ \t]*[:：][ \t]*[*_]*[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_TAG = re.compile(r"</?(?:document|text|example|input|output|context)\b[^>]*>", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*```[\w-]*[ \t]*$", re.MULTILINE)
_SPECIAL = re.compile(r"<\|[^|>]{1,40}\|>")


class Unusable(Exception):
    """A model output that cannot become a row: `reason` is the category, `detail` the specifics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def preview(text: str, width: int = 80) -> str:
    """A one-line excerpt for reject details."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def clean(text: str) -> str:
    """Drop what models wrap around answers: special tokens, echoed data tags, code fences."""
    text = _SPECIAL.sub("", text)
    text = _TAG.sub("", text)
    text = _FENCE.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def drop_echoed_lines(text: str, instructions: list[str]) -> str:
    """Remove lines that only repeat the prompt's own instructions (small models echo them)."""
    echoed = {" ".join(line.lower().split()) for line in instructions if line.strip()}
    kept = [line for line in text.splitlines() if " ".join(line.lower().split()) not in echoed]
    return "\n".join(kept).strip()


def _unquote(text: str) -> str:
    text = text.strip()
    for pair in ('""', "''", "“”", "**"):
        if len(text) > 2 * len(pair) and text.startswith(pair[0]) and text.endswith(pair[-1]):
            text = text[1:-1].strip()
    return text


def parse_pair(text: str) -> tuple[str, str]:
    """(input, output) from labelled lines; the first input label and the output after it win.

    Lenient: with no input label, the text before the first output label is the input. Raises
    Unusable(parse failure) when no pair can be found, Unusable(empty) when a part is blank.
    """
    body = clean(text)
    if not body:
        raise Unusable(EMPTY, "the model returned nothing")
    marks = [(m.start(), m.end(), m["label"].lower()) for m in _LABEL.finditer(body)]
    out_index = None
    in_mark = next((m for m in marks if m[2] in INPUT_LABELS), None)
    for i, mark in enumerate(marks):
        if mark[2] in OUTPUT_LABELS and (in_mark is None or mark[0] > in_mark[0]):
            out_index = i
            break
    if out_index is None:
        raise Unusable(PARSE_FAILURE, f"no labelled input/output pair in {preview(body)!r}")
    out_mark = marks[out_index]
    question = body[in_mark[1] if in_mark else 0 : out_mark[0]]
    following = marks[out_index + 1] if out_index + 1 < len(marks) else None
    answer = body[out_mark[1] : following[0] if following else len(body)]
    question, answer = _unquote(question), _unquote(answer)
    if not question or not answer:
        part = "input" if not question else "output"
        raise Unusable(EMPTY, f"the {part} part is blank in {preview(body)!r}")
    return question, answer


def parse_single(text: str) -> str:
    """One free-text answer (golden: the request itself): a leading label dropped, a trailing
    labelled section (the model going on to write the output too) cut off."""
    body = clean(text)
    first = _LABEL.match(body)
    if first:
        body = body[first.end() :]
    later = _LABEL.search(body)
    if later:
        body = body[: later.start()]
    body = _unquote(body)
    if not body:
        raise Unusable(EMPTY, "the model returned nothing usable")
    return body


def check_text(text: str, part: str) -> str:
    """Refuse a part that is too short or degenerate; return it unchanged otherwise."""
    if len(text.strip()) < MIN_CHARS:
        raise Unusable(TOO_SHORT, f"{part} {preview(text)!r} is under {MIN_CHARS} characters")
    words = re.findall(r"\w+", text.lower())
    if len(words) >= MIN_WORDS_FOR_REPETITION:
        trigrams = list(zip(words, words[1:], words[2:], strict=False))
        repeated = 1 - len(set(trigrams)) / len(trigrams)
        if repeated >= MAX_REPEATED_SHARE:
            raise Unusable(
                REPETITIVE, f"{part} repeats itself ({repeated:.0%} of it): {preview(text)!r}"
            )
    return text


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces: what 'the same text' means here."""
    return " ".join(re.findall(r"\w+", text.lower()))


def _ngrams(text: str) -> set[tuple[str, ...]]:
    words = normalise(text).split()
    return {tuple(words[i : i + COPY_NGRAM]) for i in range(len(words) - COPY_NGRAM + 1)}


def check_not_copy(
    text: str, part: str, sources: dict[str, str], limit: float = COPY_SHARE
) -> None:
    """Refuse `text` that reproduces most of a source (a chunk, a golden output).

    Measured as the share of the source's 5-word sequences that reappear in `text`, so quoting a
    sentence of a document is fine (grounded answers do that) while reproducing the document, or
    echoing the golden output as its own request (even cut short), is not: neither teaches the
    model anything. `limit` is the share from which it counts as a copy.
    """
    mine = _ngrams(text)
    for name, source in sources.items():
        theirs = _ngrams(source)
        if len(theirs) < MIN_COPY_NGRAMS:
            continue
        share = len(mine & theirs) / len(theirs)
        if share >= limit:
            raise Unusable(COPY, f"the {part} repeats {share:.0%} of {name}")


def distinctive_words(text: str) -> set[str]:
    """Words that carry facts: numbers, and words of four letters or more (lower case)."""
    words = re.findall(r"\w+", text.lower())
    return {w for w in words if len(w) >= 4 or any(c.isdigit() for c in w)}


def check_not_example(text: str, part: str, facts: set[str], allowed: str) -> None:
    """Refuse `text` that carries over facts of the prompt's few-shot example.

    Small models copy the example's details ("baked at 5 am, $8 a loaf") into rows about something
    else entirely. `facts` are the example's own facts; words also found in `allowed` (the row's
    context and use case) are not counted, since there they are legitimately the row's facts.
    """
    leaked = (distinctive_words(text) & facts) - distinctive_words(allowed)
    if len(leaked) >= EXAMPLE_LEAK_WORDS:
        shown = ", ".join(sorted(leaked)[:6])
        raise Unusable(COPY, f"the {part} repeats facts of the prompt's example ({shown})")
