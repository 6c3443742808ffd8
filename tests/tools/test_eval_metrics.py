"""Evaluation metrics against values worked out by hand (the arithmetic is in each comment)."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from core.errors import InvalidInput
from tools.evaluation import (
    aggregate,
    bleu,
    chrf,
    corpus_bleu,
    corpus_chrf,
    embedding_similarity,
    exact_match,
    format_checks,
    length_ratio,
    normalize_answer,
    rouge_l,
    score_examples,
)

CAT = "the cat sat on the mat"
CAT_IS = "the cat is on the mat"


class FakeEncoder:
    """Fixed vectors per text, so cosines are known exactly; counts calls to prove batching."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        return np.array([self.vectors[t] for t in texts], dtype=np.float32)


# --- ROUGE-L ------------------------------------------------------------------------------------


def test_rouge_l_hand_computed():
    # LCS = the cat on the mat = 5; P = R = 5/6 -> F = 5/6
    assert rouge_l(CAT, CAT_IS) == pytest.approx(5 / 6)
    # pred 2 tokens, ref 4 tokens, LCS = 2 ("a", "c"): P = 1, R = 1/2 -> F = 2*0.5/1.5 = 2/3
    assert rouge_l("a c", "a b c d") == pytest.approx(2 / 3)
    # order matters: "c a" vs "a c" has LCS 1 -> P = R = 1/2 -> F = 1/2
    assert rouge_l("c a", "a c") == pytest.approx(0.5)


def test_rouge_l_edges():
    assert rouge_l(CAT, CAT) == 1.0
    assert rouge_l("The CAT, sat!", "the cat sat") == 1.0  # lowercase word tokens
    assert rouge_l("", CAT) == 0.0
    assert rouge_l(CAT, "") == 0.0
    assert rouge_l("", "  ") == 1.0
    assert rouge_l("dog", "cat") == 0.0


# --- BLEU and chrF (sacrebleu, scaled to 0-1) --------------------------------------------------


def test_sentence_bleu_hand_computed():
    # p1 = 5/6, p2 = 3/5, p3 = 1/4, p4 = 0/3 -> exp smoothing 1/(2*3) = 1/6; BP = 1 (same length)
    # BLEU = (5/6 * 3/5 * 1/4 * 1/6) ** (1/4) = (1/48) ** 0.25
    assert bleu(CAT, CAT_IS) == pytest.approx((1 / 48) ** 0.25)
    assert bleu(CAT, CAT) == 1.0
    assert bleu("", CAT) == 0.0
    assert bleu("", "") == 1.0


def test_chrf_hand_computed():
    # char 1-grams {a,b} vs {a,c}: P = R = 1/2 -> F = 1/2; 2-grams "ab" vs "ac": 0;
    # orders 3-6 exist in neither text -> mean over the 2 orders = 1/4
    assert chrf("ab", "ac") == pytest.approx(0.25)
    assert chrf(CAT, CAT) == 1.0
    assert chrf("xyz", "abc") == 0.0
    assert chrf("", CAT) == 0.0
    assert 0.0 < chrf(CAT, CAT_IS) < 1.0


def test_corpus_scores():
    assert corpus_bleu([CAT, CAT_IS], [CAT, CAT_IS]) == 1.0
    assert corpus_chrf([CAT, CAT_IS], [CAT, CAT_IS]) == 1.0
    # counts are summed before the precisions: p1 = 10/12, p2 = 6/10, p3 = 2/8, p4 = 0/6 -> exp
    # smoothing 1/(2*6); BLEU = (5/6 * 3/5 * 1/4 * 1/12) ** (1/4) = (1/96) ** 0.25, which is
    # not the mean of the two sentence scores ((1/48) ** 0.25 each)
    assert corpus_bleu([CAT, CAT_IS], [CAT_IS, CAT]) == pytest.approx((1 / 96) ** 0.25)
    assert corpus_bleu([CAT], [CAT_IS]) == pytest.approx(bleu(CAT, CAT_IS))
    assert corpus_chrf([CAT], [CAT_IS]) == pytest.approx(chrf(CAT, CAT_IS))
    assert corpus_bleu([], []) == 0.0
    with pytest.raises(InvalidInput, match="2 predictions but 1 references"):
        corpus_bleu([CAT, CAT], [CAT])


def test_sacrebleu_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a metric tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from sacrebleu import utils

    monkeypatch.setattr(utils, "download_file", refuse)
    assert bleu(CAT, CAT_IS) > 0 and chrf(CAT, CAT_IS) > 0
    assert corpus_bleu([CAT], [CAT]) == 1.0 and corpus_chrf([CAT], [CAT]) == 1.0


# --- exact match, length, format ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pred", "ref", "expected"),
    [
        ("Paris", "paris", 1.0),
        ("  Paris.  ", "paris", 1.0),
        ("It's   Paris!", "its paris", 1.0),
        ("«Paris»", "Paris", 1.0),  # Unicode punctuation too
        ("Paris", "Lyon", 0.0),
        ("Paris France", "ParisFrance", 0.0),  # inner whitespace is collapsed, not removed
    ],
)
def test_exact_match_normalized(pred, ref, expected):
    assert exact_match(pred, ref) == expected


def test_exact_match_raw_and_normalizer():
    assert exact_match("Paris", "paris", normalize=False) == 0.0
    assert exact_match("Paris", "Paris", normalize=False) == 1.0
    assert normalize_answer("  Hello,\n World!! ") == "hello world"


def test_length_ratio():
    assert length_ratio("one two three", "one two three four five six") == pytest.approx(0.5)
    assert length_ratio("a b c d", "a b") == 2.0
    assert length_ratio("", "") == 1.0
    assert length_ratio("a b", "") == 2.0  # a blank reference counts as one word


def test_format_checks():
    post = "Sunrise over the harbour at #Gullhaven today"
    checks = {
        "max_words": 7,
        "min_words": 3,
        "max_chars": 280,
        "min_chars": 50,
        "must_contain": ["#Gullhaven", "harbour"],
        "must_not_contain": "http",
        "regex": r"#\w+",
    }
    assert format_checks(post, checks) == {
        "max_words": True,  # 7 words
        "min_words": True,
        "max_chars": True,
        "min_chars": False,  # 44 characters
        "must_contain": True,
        "must_not_contain": True,
        "regex": True,
    }
    assert format_checks(post, {"must_contain": ["#gullhaven"]}) == {"must_contain": False}
    assert format_checks(post, {"max_words": 6, "regex": "^#"}) == {
        "max_words": False,
        "regex": False,
    }


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ({"max_wrds": 3}, "Unknown format check"),
        ({"max_words": -1}, "whole number"),
        ({"max_chars": True}, "whole number"),
        ({"must_contain": 3}, "list of strings"),
        ({"regex": "("}, "not a valid regular expression"),
    ],
)
def test_format_checks_refuse_bad_checks(checks, message):
    with pytest.raises(InvalidInput, match=message) as info:
        format_checks("text", checks)
    assert info.value.hint


# --- embedding similarity ----------------------------------------------------------------------


def test_embedding_similarity_with_fixed_vectors():
    s = 2**-0.5
    encoder = FakeEncoder(
        {"a": [1, 0], "b": [0, 1], "c": [s, s], "d": [-1, 0], "e": [3, 4], "": [1, 0]}
    )
    sims = embedding_similarity(
        ["a", "a", "a", "a", "e", ""], ["a", "b", "c", "d", "a", ""], encoder
    )
    # cos(a,a) = 1, cos(a,b) = 0, cos(a,c) = 1/sqrt 2, cos(a,d) = -1,
    # (3,4) is not unit: renormalised -> (0.6, 0.8) . (1, 0) = 0.6; both blank -> 1
    assert sims == pytest.approx([1.0, 0.0, s, -1.0, 0.6, 1.0])
    assert encoder.calls == 1  # predictions and references in one batch
    assert embedding_similarity([""], ["a"], encoder) == [0.0]  # blank prediction, not cos("", a)
    assert embedding_similarity([], [], encoder) == []


def test_embedding_similarity_refuses_a_short_encoder():
    class Short:
        def encode(self, texts):
            return np.ones((1, 2))

    with pytest.raises(InvalidInput, match="returned 1 vectors for 4 texts"):
        embedding_similarity(["a", "b"], ["c", "d"], Short())


@pytest.mark.slow
def test_embedding_similarity_with_minilm():
    from core.embeddings import get_embedder

    ref = "The ferry to the island leaves every morning at nine."
    paraphrase = "Each day at 9 am the boat departs for the island."
    unrelated = "Preheat the oven and whisk the eggs with sugar."
    close, far = embedding_similarity([paraphrase, unrelated], [ref, ref], get_embedder())
    assert close > far + 0.3
    assert close > 0.5


# --- all metrics per example, and their means --------------------------------------------------


def test_score_examples_and_aggregate():
    encoder = FakeEncoder({CAT: [1, 0], CAT_IS: [0, 1], "Free post": [1, 0]})
    rows = score_examples(
        [CAT, CAT, "Free post"],
        [CAT, CAT_IS, None],
        encoder=encoder,
        checks={"max_words": 5, "must_contain": ["cat"]},
    )
    assert rows[0] == {
        "pred_words": 6.0,
        "rouge_l": 1.0,
        "bleu": 1.0,
        "chrf": 1.0,
        "exact_match": 1.0,
        "length_ratio": 1.0,
        "embedding_similarity": 1.0,
        "format:max_words": 0.0,
        "format:must_contain": 1.0,
        "format_ok": 0.0,
    }
    assert rows[1]["rouge_l"] == pytest.approx(5 / 6)
    assert rows[1]["exact_match"] == 0.0 and rows[1]["embedding_similarity"] == 0.0
    # no reference: only length and format
    assert rows[2] == {
        "pred_words": 2.0,
        "format:max_words": 1.0,
        "format:must_contain": 0.0,
        "format_ok": 0.0,
    }
    means = aggregate(rows)
    assert means["rouge_l"] == pytest.approx((1 + 5 / 6) / 2)  # over the 2 rows with a reference
    assert means["exact_match"] == 0.5
    assert means["format:max_words"] == pytest.approx(1 / 3)  # over all 3 rows
    assert means["pred_words"] == pytest.approx(14 / 3)
    assert list(means) == sorted(means)


def test_score_examples_without_extras_and_bad_input():
    rows = score_examples(["a"], ["a"])
    assert set(rows[0]) == {"pred_words", "rouge_l", "bleu", "chrf", "exact_match", "length_ratio"}
    with pytest.raises(InvalidInput, match="1 predictions but 2 references"):
        score_examples(["a"], ["a", "b"])
    with pytest.raises(InvalidInput, match="Unknown format check"):
        score_examples(["a"], ["a"], checks={"nope": 1})


def test_aggregate_skips_missing_and_non_numeric():
    rows = [{"x": 1.0, "ok": True, "note": "hi"}, {"x": float("nan"), "ok": False}, {"x": 3}]
    assert aggregate(rows) == {"ok": 0.5, "x": 2.0}
    assert aggregate([]) == {}
