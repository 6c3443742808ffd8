"""Per-example and corpus metrics between a model's output and a reference answer.

Scale: every text-overlap score (ROUGE-L, BLEU, chrF, exact match) is on 0-1, so a report can
put them on one axis; sacrebleu's 0-100 scores are divided by 100. Two metrics are not overlap
scores and keep their natural range: `embedding_similarity` is a cosine in [-1, 1] (MiniLM rarely
goes below 0) and `length_ratio` is a ratio >= 0 whose ideal is 1.0.

Empty texts: a blank prediction against a non-blank reference scores 0; a blank prediction
against a blank reference is identical and scores 1 on every overlap metric (sacrebleu alone
would say 0, which would punish the right answer to "say nothing").

Nothing here fetches anything: BLEU uses sacrebleu's built-in `13a` tokenizer and chrF is
tokenizer-free (sacrebleu only downloads for its `spm`/`flores` tokenizers, which are never
chosen here).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    from sacrebleu.metrics import BLEU, CHRF

_WORD = re.compile(r"\w+")
BLEU_TOKENIZER = "13a"

#: The format checks `format_checks` understands, each with what it means.
FORMAT_CHECKS: dict[str, str] = {
    "max_words": "at most N whitespace-separated words",
    "min_words": "at least N whitespace-separated words",
    "max_chars": "at most N characters",
    "min_chars": "at least N characters",
    "must_contain": "every listed string appears (case-sensitive)",
    "must_not_contain": "none of the listed strings appears (case-sensitive)",
    "regex": "the pattern matches somewhere in the output (re.search)",
}


class Encoder(Protocol):
    """What embedding similarity needs: core.embeddings.Embedder fits, and so does a test fake."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# --- text helpers -------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Lowercase word tokens (runs of letters, digits and underscore); punctuation is dropped."""
    return _WORD.findall(text.lower())


def _words(text: str) -> int:
    """Word count as a person would count it: whitespace-separated pieces."""
    return len(text.split())


def _both_blank(pred: str, ref: str) -> bool | None:
    """True when both are blank (identical), False when only the prediction is, else None."""
    if pred.strip():
        return None
    return not ref.strip()


def _check_pairs(preds: Sequence[Any], refs: Sequence[Any]) -> None:
    if len(preds) != len(refs):
        raise InvalidInput(
            f"Got {len(preds)} predictions but {len(refs)} references.",
            "Pass one prediction per reference, in the same order.",
        )


# --- overlap metrics ----------------------------------------------------------------------------


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Longest common subsequence by dynamic programming, O(len(a)*len(b)) time, two rows."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            if token == other:
                current.append(previous[j - 1] + 1)
            else:
                current.append(max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(pred: str, ref: str) -> float:
    """ROUGE-L F1 over lowercase word tokens.

    With L = LCS(pred, ref): precision P = L/|pred|, recall R = L/|ref|, F = 2PR/(P+R).
    "the cat sat on the mat" vs "the cat is on the mat": L = 5, P = R = 5/6, F = 5/6.
    Rewards keeping the reference's words in order without demanding them contiguous.
    """
    pred_tokens, ref_tokens = _tokens(pred), _tokens(ref)
    if not pred_tokens or not ref_tokens:
        return 1.0 if not pred_tokens and not ref_tokens else 0.0
    lcs = _lcs_length(pred_tokens, ref_tokens)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred_tokens), lcs / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _sentence_bleu() -> BLEU:
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize=BLEU_TOKENIZER, effective_order=True)


@lru_cache(maxsize=1)
def _corpus_bleu() -> BLEU:
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize=BLEU_TOKENIZER)


@lru_cache(maxsize=1)
def _chrf() -> CHRF:
    from sacrebleu.metrics import CHRF

    return CHRF()


def _unit(score: float) -> float:
    """sacrebleu's 0-100 score on 0-1 (clamped: identical strings give 100.00000000000004)."""
    return min(1.0, max(0.0, score / 100.0))


def bleu(pred: str, ref: str) -> float:
    """Sentence BLEU on 0-1 (sacrebleu, 13a tokens, exp smoothing, effective order).

    BLEU = BP * exp(mean_n log p_n) over n = 1..4, p_n the clipped n-gram precision; a zero count
    becomes 1/(2^k * total) for the k-th zero (exp smoothing), BP = min(1, exp(1 - |ref|/|pred|)).
    Noisy on single sentences; prefer `corpus_bleu` for a headline number.
    """
    blank = _both_blank(pred, ref)
    if blank is not None:
        return float(blank)
    return _unit(_sentence_bleu().sentence_score(pred, [ref]).score)


def chrf(pred: str, ref: str) -> float:
    """Sentence chrF on 0-1 (sacrebleu defaults: character n-grams 1..6, beta = 2).

    For each order n: chrF_n = (1+b^2) P_n R_n / (b^2 P_n + R_n); the score is the mean over the
    orders both texts have. Character-level, so it credits near-miss word forms that BLEU and
    ROUGE-L score as misses.
    """
    blank = _both_blank(pred, ref)
    if blank is not None:
        return float(blank)
    return _unit(_chrf().sentence_score(pred, [ref]).score)


def corpus_bleu(preds: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus BLEU on 0-1: n-gram counts summed over all examples before the precisions."""
    _check_pairs(preds, refs)
    if not preds:
        return 0.0
    return _unit(_corpus_bleu().corpus_score(list(preds), [list(refs)]).score)


def corpus_chrf(preds: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus chrF on 0-1: character n-gram statistics summed over all examples."""
    _check_pairs(preds, refs)
    if not preds:
        return 0.0
    return _unit(_chrf().corpus_score(list(preds), [list(refs)]).score)


def normalize_answer(text: str) -> str:
    """Lowercase, drop every Unicode punctuation character, collapse whitespace."""
    kept = "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))
    return " ".join(kept.split())


def exact_match(pred: str, ref: str, normalize: bool = True) -> float:
    """1.0 when the texts are equal (after `normalize_answer` unless normalize=False), else 0.0."""
    if normalize:
        return float(normalize_answer(pred) == normalize_answer(ref))
    return float(pred == ref)


def length_ratio(pred: str, ref: str) -> float:
    """Words in the prediction / words in the reference; 1.0 is the reference's length.

    A blank reference counts as one word, so the ratio stays finite; both blank gives 1.0.
    """
    pred_words, ref_words = _words(pred), _words(ref)
    if pred_words == ref_words == 0:
        return 1.0
    return pred_words / max(ref_words, 1)


def embedding_similarity(
    preds: Sequence[str], refs: Sequence[str], encoder: Encoder
) -> list[float]:
    """Cosine similarity of each prediction's and reference's sentence vectors.

    Both sides go through the encoder in one batch. Rows are re-normalised (cos = u.v/(|u||v|))
    so an encoder that does not return unit vectors still gives cosines. A blank prediction
    scores 0 (1 against a blank reference) rather than whatever the encoder makes of "".
    """
    import numpy as np

    _check_pairs(preds, refs)
    if not preds:
        return []
    vectors = np.asarray(encoder.encode(list(preds) + list(refs)), dtype=np.float64)
    if vectors.shape[0] != 2 * len(preds):
        raise InvalidInput(
            f"The encoder returned {vectors.shape[0]} vectors for {2 * len(preds)} texts.",
            "Use an encoder whose encode(list_of_texts) returns one row per text.",
        )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    cosines = np.clip(np.sum(vectors[: len(preds)] * vectors[len(preds) :], axis=1), -1.0, 1.0)
    out = []
    for pred, ref, cosine in zip(preds, refs, cosines, strict=True):
        blank = _both_blank(pred, ref)
        out.append(float(blank) if blank is not None else float(cosine))
    return out


# --- format checks ------------------------------------------------------------------------------


def _count_limit(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(
            f"Format check {name!r} needs a whole number >= 0, got {value!r}.",
            f'Write it like {{"{name}": 60}}.',
        )
    return value


def _string_list(name: str, value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(s, str) for s in items):
        raise InvalidInput(
            f"Format check {name!r} needs a string or a list of strings, got {value!r}.",
            f'Write it like {{"{name}": ["#Gullhaven"]}}.',
        )
    return list(items)


def _compiled(pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise InvalidInput(
            f"Format check 'regex' needs a pattern string, got {pattern!r}.",
            'Write it like {"regex": "^#\\\\w+"}.',
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(
            f"Format check 'regex' is not a valid regular expression: {exc}.",
            "Fix the pattern (Python `re` syntax); escape literal characters such as ( or +.",
        ) from exc


def format_checks(pred: str, checks: Mapping[str, Any]) -> dict[str, bool]:
    """Each check in `checks` (see FORMAT_CHECKS) -> whether `pred` passes it.

    Example: {"max_words": 60, "must_contain": ["#Gullhaven"]} -> {"max_words": True,
    "must_contain": False}. Unknown names are refused, so a typo cannot silently pass.
    """
    unknown = sorted(set(checks) - set(FORMAT_CHECKS))
    if unknown:
        raise InvalidInput(
            f"Unknown format check(s): {', '.join(unknown)}.",
            f"Use only: {', '.join(FORMAT_CHECKS)}.",
        )
    results: dict[str, bool] = {}
    for name, value in checks.items():
        if name == "max_words":
            results[name] = _words(pred) <= _count_limit(name, value)
        elif name == "min_words":
            results[name] = _words(pred) >= _count_limit(name, value)
        elif name == "max_chars":
            results[name] = len(pred) <= _count_limit(name, value)
        elif name == "min_chars":
            results[name] = len(pred) >= _count_limit(name, value)
        elif name == "must_contain":
            results[name] = all(s in pred for s in _string_list(name, value))
        elif name == "must_not_contain":
            results[name] = not any(s in pred for s in _string_list(name, value))
        else:  # regex
            results[name] = _compiled(value).search(pred) is not None
    return results


# --- all metrics for a set of examples ----------------------------------------------------------


def score_examples(
    preds: Sequence[str],
    refs: Sequence[str | None],
    *,
    encoder: Encoder | None = None,
    checks: Mapping[str, Any] | None = None,
) -> list[dict[str, float]]:
    """One dict of metrics per example, in input order.

    Always: `pred_words`. With a reference (not None): rouge_l, bleu, chrf, exact_match,
    length_ratio, and embedding_similarity when an encoder is given. With checks: one
    `format:<name>` (1.0 pass / 0.0 fail) per check plus `format_ok` (all passed). An example
    without a reference still gets its format checks, so open-ended prompts can be evaluated.
    """
    _check_pairs(preds, refs)
    if checks:
        format_checks("", checks)  # validate once, before any work
    rows: list[dict[str, float]] = []
    for pred, ref in zip(preds, refs, strict=True):
        row: dict[str, float] = {"pred_words": float(_words(pred))}
        if ref is not None:
            row["rouge_l"] = rouge_l(pred, ref)
            row["bleu"] = bleu(pred, ref)
            row["chrf"] = chrf(pred, ref)
            row["exact_match"] = exact_match(pred, ref)
            row["length_ratio"] = length_ratio(pred, ref)
        if checks:
            passed = format_checks(pred, checks)
            row.update({f"format:{name}": float(ok) for name, ok in passed.items()})
            row["format_ok"] = float(all(passed.values()))
        rows.append(row)
    if encoder is not None:
        with_ref = [i for i, ref in enumerate(refs) if ref is not None]
        sims = embedding_similarity(
            [preds[i] for i in with_ref], [refs[i] or "" for i in with_ref], encoder
        )
        for i, sim in zip(with_ref, sims, strict=True):
            rows[i]["embedding_similarity"] = sim
    return rows


def aggregate(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Mean of every numeric metric over the rows that have it (booleans count as 0/1).

    A metric missing from some rows (no reference, no encoder) is averaged over the rows that
    carry it; None, NaN and non-numeric values are skipped. Keys come back sorted.
    """
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row in rows:
        for name, value in row.items():
            if not isinstance(value, int | float) or (
                isinstance(value, float) and math.isnan(value)
            ):
                continue
            totals[name] = totals.get(name, 0.0) + float(value)
            counts[name] = counts.get(name, 0) + 1
    return {name: totals[name] / counts[name] for name in sorted(totals)}
