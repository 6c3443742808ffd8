"""Model refs: every valid form parses to the right parts; every bad one says how to fix it."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import InvalidInput
from core.models.refs import BUILTIN_MODELS, ModelRef, parse_ref


@pytest.mark.parametrize(
    ("text", "scheme", "target", "base_url"),
    [
        ("builtin:smollm2-135m-instruct", "builtin", "smollm2-135m-instruct", None),
        ("  BUILTIN:SmolLM2-135M-Instruct ", "builtin", "smollm2-135m-instruct", None),
        ("hf:./models/my-model", "hf", "./models/my-model", None),
        ("hf:/abs/path with space/model", "hf", "/abs/path with space/model", None),
        (
            "hf:HuggingFaceTB/SmolLM2-360M-Instruct",
            "hf",
            "HuggingFaceTB/SmolLM2-360M-Instruct",
            None,
        ),
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini", None),
        (
            "openai:qwen2.5-7b@http://localhost:8000/v1",
            "openai",
            "qwen2.5-7b",
            "http://localhost:8000/v1",
        ),
        (
            "openai:m@https://user:pw@host.example/v1",
            "openai",
            "m",
            "https://user:pw@host.example/v1",
        ),
        ("ollama:llama3.2:1b", "ollama", "llama3.2:1b", None),
        ("run:r-20261127-abc123", "run", "r-20261127-abc123", None),
    ],
)
def test_valid_refs_parse_into_parts(text, scheme, target, base_url):
    ref = parse_ref(text)
    assert (ref.scheme, ref.target, ref.base_url) == (scheme, target, base_url)
    assert ref.raw == text
    assert parse_ref(ref.canonical) == dataclasses.replace(ref, raw=ref.canonical)


def test_ref_is_frozen_and_prints_canonically():
    ref = parse_ref("OpenAI:gpt-4o-mini@http://h:1/v1")
    assert str(ref) == "openai:gpt-4o-mini@http://h:1/v1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.target = "other"  # type: ignore[misc]
    assert isinstance(ref, ModelRef)


def _error(text) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse_ref(text)
    return info.value


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_ref_suggests_the_builtin(text):
    err = _error(text)
    assert "empty" in err.message
    assert "builtin:smollm2-135m-instruct" in err.hint


def test_unknown_builtin_suggests_the_closest_name():
    err = _error("builtin:smollm2")
    assert "smollm2" in err.message
    assert "Did you mean builtin:smollm2-135m-instruct?" in err.hint
    assert "hf:<local folder or hub id>" in err.hint  # the valid forms are listed too


def test_unknown_builtin_with_nothing_close_lists_the_builtins():
    err = _error("builtin:xyzzy")
    assert "Did you mean" not in err.hint
    assert all(name in err.hint for name in BUILTIN_MODELS)


def test_missing_scheme_suggests_builtin_for_a_bare_name():
    err = _error("smollm2-135m")
    assert "no scheme" in err.message
    assert "Did you mean builtin:smollm2-135m-instruct?" in err.hint


def test_missing_scheme_on_a_path_suggests_hf():
    err = _error("./my-model")
    assert "hf:./my-model" in err.hint


def test_misspelled_scheme_suggests_the_right_one():
    err = _error("opnai:gpt-4o-mini")
    assert "'opnai'" in err.message
    assert "Did you mean openai:gpt-4o-mini?" in err.hint


def test_unknown_scheme_lists_every_valid_form():
    err = _error("zzz:thing")
    for form in (
        "builtin:",
        "hf:",
        "openai:<model>",
        "openai:<model>@<base url>",
        "ollama:",
        "run:",
    ):
        assert form in err.hint


@pytest.mark.parametrize("scheme", ["builtin", "hf", "openai", "ollama", "run"])
def test_scheme_without_target_is_rejected_with_an_example(scheme):
    err = _error(f"{scheme}:")
    assert "names no model" in err.message
    assert "For example" in err.hint


def test_openai_at_without_model():
    err = _error("openai:@http://localhost:8000/v1")
    assert "no model before '@'" in err.message


def test_openai_base_url_must_be_http():
    err = _error("openai:gpt@localhost:8000")
    assert "'localhost:8000'" in err.message
    assert "not an http(s) URL" in err.message


@pytest.mark.parametrize("text", ["openai:gpt 4", "ollama:llama 3"])
def test_remote_model_names_cannot_contain_spaces(text):
    assert "contains spaces" in _error(text).message


@pytest.mark.parametrize("text", ["run:../etc", "run:a/b", "run:-x"])
def test_bad_run_ids_are_rejected(text):
    err = _error(text)
    assert "run id" in err.message
    assert "tunesmith runs" in err.hint


def test_control_characters_are_rejected():
    assert "control characters" in _error("hf:model\x00x").message
