"""Length bounds counted in tokens of a real (tiny, locally trained) tokenizer."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, ModelUnavailable
from tests.tiny_model import build_tokenizer
from tools.datasets.quality import length_filter, tokenizer_counter


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenizer")
    build_tokenizer().save_pretrained(str(folder))
    return folder


def words(text: str) -> int:
    return len(text.split())


def test_counter_uses_the_model_tokenizer_without_special_tokens(tokenizer_dir):
    count = tokenizer_counter(tokenizer_dir)
    expected = len(build_tokenizer()("The quick brown fox", add_special_tokens=False)["input_ids"])
    assert count("The quick brown fox") == expected > 0
    assert count("") == 0


def test_counter_loads_lazily_and_says_what_to_fix(tmp_path):
    count = tokenizer_counter(tmp_path / "missing")  # building it touches nothing
    with pytest.raises(ModelUnavailable) as err:
        count("hello")
    assert "missing" in err.value.message and "model folder" in err.value.hint


def test_rows_outside_bounds_are_removed_with_the_bound_they_broke():
    rows = [
        {"id": "ok", "prompt": "one two three", "completion": "a b c d e"},
        {"id": "short", "prompt": "one two three", "completion": "a b"},
        {"id": "long", "prompt": "one two three", "completion": " ".join(["w"] * 12)},
        {"id": "terse", "prompt": "hi", "completion": "a b c d e"},
        {
            "id": "chat",
            "messages": [
                {"role": "user", "content": "one two three four"},
                {"role": "assistant", "content": "a b c d e f g h i"},
            ],
        },
    ]
    result = length_filter(rows, words, min_prompt=2, min_response=3, max_response=10, max_total=12)
    assert [r["id"] for r in result.kept] == ["ok"]
    assert [(r.id, r.reason) for r in result.removed] == [
        ("short", "response too short: 2 tokens < min 3"),
        ("long", "response too long: 12 tokens > max 10"),
        ("terse", "prompt too short: 1 tokens < min 2"),
        ("chat", "total too long: 13 tokens > max 12"),
    ]
    assert result.notes == {
        "unit": "tokens",
        "min_prompt": 2,
        "min_response": 3,
        "max_response": 10,
        "max_total": 12,
    }


def test_real_tokenizer_bound(tokenizer_dir):
    count = tokenizer_counter(tokenizer_dir)
    rows = [{"id": "x", "text": "Paris is the capital of France."}]
    n = count(rows[0]["text"])
    assert length_filter(rows, count, max_response=n).kept == rows
    [removal] = length_filter(rows, count, max_response=n - 1).removed
    assert removal.reason == f"response too long: {n} tokens > max {n - 1}"


@pytest.mark.parametrize(
    "bounds", [{"min_response": -1}, {"max_prompt": 2.5}, {"min_prompt": 9, "max_prompt": 3}]
)
def test_bad_bounds_are_refused(bounds):
    with pytest.raises(InvalidInput) as err:
        length_filter([], words, **bounds)
    assert err.value.hint
