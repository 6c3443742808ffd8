"""Training chat templates: assistant masks that cover exactly the assistant's tokens.

Checked on the real builtin SmolLM2 tokenizer (whose template has no generation markers) and on the
tiny model's tokenizer with several templates swapped in.
"""

from __future__ import annotations

import pytest

from trainers.templates import (
    has_generation_markers,
    supports_assistant_loss,
    training_chat_template,
)

CONVERSATION = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris is the capital."},
    {"role": "user", "content": "And  its river?\n"},
    {"role": "assistant", "content": " The Seine. "},
]

SMOL_LIKE = (  # SmolLM2's template, as shipped: a default system turn, no generation markers
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
TRIMMING_CHATML = SMOL_LIKE.replace("message['content']", "message['content'] | trim")
LLAMA2_LIKE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
    "message['content'] + ' [/INST]' }}{% else %}{{ ' ' + message['content'] + '</s>' }}"
    "{% endif %}{% endfor %}"
)


@pytest.fixture(scope="session")
def smol_tokenizer():
    """The builtin SmolLM2 tokenizer, read straight from its GGUF (no model conversion)."""
    from transformers import AutoTokenizer

    from core.models.builtin import gguf_file

    path = gguf_file()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


@pytest.fixture
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


def assistant_text(tokenizer, template: str) -> str:
    out = tokenizer.apply_chat_template(
        CONVERSATION,
        chat_template=template,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    return tokenizer.decode(masked)


def rendered(tokenizer, template: str | None, messages, add_prompt=False) -> str:
    return tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=add_prompt
    )


@pytest.mark.slow
def test_smollm2_gets_a_marked_template_that_masks_exactly_the_assistant(smol_tokenizer):
    assert not has_generation_markers(smol_tokenizer.chat_template)
    template = training_chat_template(smol_tokenizer)

    assert template is not None and has_generation_markers(template)
    assert assistant_text(smol_tokenizer, template) == (
        "Paris is the capital.<|im_end|> The Seine. <|im_end|>"
    )
    # the model sees the text it is prompted with, default system turn included
    for messages in (CONVERSATION, CONVERSATION[:1]):
        assert rendered(smol_tokenizer, template, messages) == rendered(
            smol_tokenizer, None, messages
        )
    assert "named SmolLM" in rendered(smol_tokenizer, template, CONVERSATION[:1], True)
    assert supports_assistant_loss(smol_tokenizer)


def test_a_template_with_markers_is_used_as_it_is(tiny_tokenizer):
    assert has_generation_markers(tiny_tokenizer.chat_template)
    assert training_chat_template(tiny_tokenizer) is None
    assert supports_assistant_loss(tiny_tokenizer)
    assert assistant_text(tiny_tokenizer, tiny_tokenizer.chat_template) == (
        "Paris is the capital.<|im_end|> The Seine. <|im_end|>"
    )


def test_a_chatml_template_without_markers_is_converted(tiny_tokenizer):
    tiny_tokenizer.chat_template = SMOL_LIKE
    template = training_chat_template(tiny_tokenizer)

    assert template is not None
    assert assistant_text(tiny_tokenizer, template) == (
        "Paris is the capital.<|im_end|> The Seine. <|im_end|>"
    )
    assert rendered(tiny_tokenizer, template, CONVERSATION) == rendered(
        tiny_tokenizer, None, CONVERSATION
    )


def test_a_chatml_template_that_renders_differently_is_not_converted(tiny_tokenizer):
    tiny_tokenizer.chat_template = TRIMMING_CHATML  # trims content: a plain rewrite would differ
    assert training_chat_template(tiny_tokenizer) is None
    assert not supports_assistant_loss(tiny_tokenizer)


def test_an_unknown_template_is_not_converted(tiny_tokenizer):
    tiny_tokenizer.chat_template = LLAMA2_LIKE
    assert training_chat_template(tiny_tokenizer) is None
    assert not supports_assistant_loss(tiny_tokenizer)


def test_no_template_means_no_assistant_loss(tiny_tokenizer):
    tiny_tokenizer.chat_template = None
    assert training_chat_template(tiny_tokenizer) is None
    assert not supports_assistant_loss(tiny_tokenizer)


def test_templates_trl_knows_come_from_trl(tiny_tokenizer):
    from trl.chat_template_utils import qwen2_5_chat_template, qwen2_5_training_chat_template

    tiny_tokenizer.chat_template = qwen2_5_chat_template
    assert training_chat_template(tiny_tokenizer) == qwen2_5_training_chat_template
