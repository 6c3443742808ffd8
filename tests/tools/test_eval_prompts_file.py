"""Prompt files for `eval --prompt`: parsed, checked, applied, and matched to the right model."""

from __future__ import annotations

import hashlib

import pytest

from core.errors import InvalidInput, NotFound
from tools.evaluation.prompts_file import (
    load_prompt_file,
    parse_prompt_options,
    prompts_for_models,
)

CONVERSATION = [
    {"role": "system", "content": "dataset system prompt"},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello"},
    {"role": "user", "content": "Do you ship abroad?"},
]


def test_yaml_prompt_replaces_the_system_turn_and_templates_the_last_question(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text('system: |\n  You sell coffee.\n  Be kind.\nuser: "Customer: {{ input }}"\n')
    prompt = load_prompt_file(path)
    assert prompt.record() == {
        "file": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "first_line": "You sell coffee.",
    }
    assert prompt.apply(CONVERSATION) == [
        {"role": "system", "content": "You sell coffee.\nBe kind."},
        *CONVERSATION[1:3],  # the earlier turns pass through untouched
        {"role": "user", "content": "Customer: Do you ship abroad?"},
    ]


def test_a_text_file_is_the_system_prompt(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("Answer in one line.\n")
    applied = load_prompt_file(path).apply(CONVERSATION[1:])
    assert applied[0] == {"role": "system", "content": "Answer in one line."}
    assert applied[1:] == CONVERSATION[1:]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('user: "Question without the variable"', "never uses {{ input }}"),
        ("system: hi\ntemperature: 0.2", "unknown key(s): temperature"),
        ("- a list", "must be a mapping"),
        ("system: [unclosed", "not valid YAML"),
        ('user: "{{ input }} {{ other }}"', "does not render"),
    ],
)
def test_bad_prompt_files_say_what_is_wrong(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load_prompt_file(path)
    assert fragment in caught.value.message


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFound, match="no prompt file"):
        load_prompt_file(tmp_path / "nope.yaml")


def test_cli_options_split_into_shared_and_per_model(tmp_path):
    refs = ["builtin:smollm2-135m-instruct", "run:r1"]
    assert parse_prompt_options([], refs) is None
    assert parse_prompt_options(["all.txt"], refs) == "all.txt"
    assert parse_prompt_options(["run:r1=short.txt"], refs) == {"run:r1": "short.txt"}
    both = parse_prompt_options(["long.yaml", "run:r1=short.txt"], refs)
    assert both == {"builtin:smollm2-135m-instruct": "long.yaml", "run:r1": "short.txt"}
    # a path with '=' whose left side is no model being evaluated is a shared file
    assert parse_prompt_options(["dir/a=b.txt"], refs) == "dir/a=b.txt"
    with pytest.raises(InvalidInput, match="2 files for all models"):
        parse_prompt_options(["a.txt", "b.txt"], refs)


def test_per_model_prompts_refuse_a_model_not_evaluated(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("Be brief.")
    chosen = prompts_for_models({"hf:a": path}, ["hf:a", "hf:b"])
    assert chosen["hf:a"].system == "Be brief." and chosen["hf:b"] is None
    with pytest.raises(InvalidInput, match="not being evaluated: hf:c"):
        prompts_for_models({"hf:c": path}, ["hf:a", "hf:b"])
