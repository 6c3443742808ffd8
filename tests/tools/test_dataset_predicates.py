"""The row predicate language: every form on real rows, and errors that point at the column."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from tools.datasets.predicates import VALID_FORMS, parse_predicate

ROW = {
    "id": "r00003",
    "prompt": "I want a Refund for my order",
    "completion": "Call 555 0100 and we will sort it out today.",
    "meta": {"sources": ["returns.md", "faq.md"], "split": "eval", "scores": {"grounding": 0.7}},
}
CHAT = {
    "id": "c1",
    "messages": [
        {"role": "system", "content": "You are Gullhaven's barista."},
        {"role": "user", "content": "Best brew for a light roast?"},
        {"role": "assistant", "content": "Try a pour-over."},
    ],
    "meta": {"provenance": {"sources": ["products.md"]}},
}


@pytest.mark.parametrize(
    ("expr", "row", "expected"),
    [
        ("len(completion) > 40", ROW, True),
        ("len(response) <= 40", ROW, False),
        ("tokens < 12", ROW, False),  # 7 prompt words + 10 completion words
        ("tokens == 17", ROW, True),
        ("tokens(prompt) >= 7", ROW, True),
        ('contains(prompt, "refund")', ROW, True),  # contains ignores case
        ('regex(completion, "\\d{3} \\d{4}")', ROW, True),
        ('regex(prompt, "refund")', ROW, False),  # regex does not
        ("score.grounding >= 0.5", ROW, True),
        ("score.judge >= 1", ROW, False),  # no such score on the row: no match
        ("not score.judge >= 1", ROW, True),
        ('source == "faq.md"', ROW, True),
        ('source != "faq.md"', ROW, False),
        ('contains(source, "RETURN")', ROW, True),
        ("len(source) == 2", ROW, True),
        ('split == "eval"', ROW, True),
        ("split = 'eval'", ROW, True),  # one '=' reads as '=='
        ('split != "train"', CHAT, True),  # unsplit rows are in no split
        ('id == "r00003"', ROW, True),
        ('source == "products.md"', CHAT, True),  # provenance sources count
        ('contains(prompt, "light roast")', CHAT, True),
        ('contains(prompt, "barista")', CHAT, False),  # system turns are not the prompt...
        ('contains(any, "barista")', CHAT, True),  # ...but they are in any
        ('contains(text, "pour-over") and contains(text, "light")', CHAT, True),
        ('split == "train" or (len(prompt) > 3 and not contains(prompt, "x"))', CHAT, True),
        ('NOT split == "eval" AND tokens > 1', ROW, False),
    ],
)
def test_predicate_forms(expr, row, expected):
    assert parse_predicate(expr)(row) is expected


def test_the_token_counter_is_injectable():
    chars = parse_predicate("tokens(prompt) == 28", count_tokens=len)
    assert chars(ROW)
    assert not parse_predicate("tokens(prompt) == 28")(ROW)


def test_backslash_escapes_only_quotes_and_itself():
    quoted = parse_predicate(r'contains(completion, "say \"hi\"")')
    assert quoted({"prompt": "p", "completion": 'I say "hi" back'})
    slash = parse_predicate(r'regex(completion, "a\\b")')
    assert slash({"prompt": "p", "completion": r"a\b"})


def test_score_names_are_collected_for_the_caller():
    predicate = parse_predicate("score.grounding > 0.5 or score.judge >= 4")
    assert predicate.score_names == {"grounding", "judge"}


@pytest.mark.parametrize(
    ("expr", "column", "says"),
    [
        ("", 1, "the filter is empty"),
        ("len(completion) >", 18, "expected a number after >"),
        ("prompt > 5", 8, "prompt is text"),
        ('tokens < "many"', 10, "tokens is a number"),
        ("contains(prompt refund)", 17, "expected ','"),
        ('regex(prompt, "(")', 15, "not a valid regular expression"),
        ('foo == "x"', 1, "unknown field 'foo'"),
        ('upper(prompt) == "X"', 1, "unknown function 'upper'"),
        ('(split == "a"', 14, "expected ')'"),
        ('split == "a', 10, "no closing quote"),
        ("len(prompt) > 5 5", 17, "expected and, or or the end"),
        ("len(prompt) ! 5", 13, "unexpected '!'"),
        ("len(nope) > 3", 5, "expected a field"),
        ("tokens(source) > 3", 8, "expected a field"),
        ('and split == "x"', 1, "expected a field"),
        ("__import__('os')", 1, "unknown function '__import__'"),
        ("prompt.__class__ == 'str'", 1, "unknown field 'prompt.__class__'"),
    ],
)
def test_syntax_errors_point_at_the_column_and_list_valid_forms(expr, column, says):
    with pytest.raises(InvalidInput) as caught:
        parse_predicate(expr)
    message = caught.value.message
    assert says in message and f"at column {column}" in message
    lines = message.splitlines()
    assert lines[-2] == f"  {expr}" and lines[-1] == "  " + " " * (column - 1) + "^"
    assert all(form in caught.value.hint for form in VALID_FORMS)
