"""Training chat templates: the model's own template, with the assistant's turns marked.

Assistant-only loss needs to know which tokens the assistant wrote. transformers finds them from
`{% generation %}...{% endgeneration %}` markers in the chat template
(`return_assistant_tokens_mask`); most shipped templates lack them, SmolLM2's included. TRL 1.16
carries marked copies of a list of known templates; for the rest, ChatML templates
(`<|im_start|>role\\n...<|im_end|>`: SmolLM2, Qwen, many others) are rewritten here. A rewrite is
used only after it renders the same text as the original on probe conversations, so training sees
exactly the format the model will be prompted with; anything else gets None, and the defaults
train on the full sequence and say why.
"""

from __future__ import annotations

import json
import re
from typing import Any

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")
_PROBE_USER = "Probe question one?"
_PROBES: tuple[tuple[list[dict[str, str]], bool], ...] = (
    ([{"role": "user", "content": _PROBE_USER}], True),
    (
        [{"role": "user", "content": _PROBE_USER}, {"role": "assistant", "content": "Answer one."}],
        False,
    ),
    (
        [
            {"role": "system", "content": "Probe system line."},
            {"role": "user", "content": "First?"},
            {"role": "assistant", "content": "One."},
            {"role": "user", "content": "  Second?\n\n"},
            {"role": "assistant", "content": " Two, with spaces.\n"},
        ],
        False,
    ),
    (
        [
            {"role": "system", "content": "Probe system line."},
            {"role": "user", "content": "Only question?"},
        ],
        True,
    ),
)


def has_generation_markers(template: Any) -> bool:
    """True when the template (or the default of named variants) already marks assistant turns."""
    return bool(_MARKER.search(_default_template(template) or ""))


def training_chat_template(tokenizer: Any) -> str | None:
    """A chat template with the assistant's turns marked, or None.

    None means either that the tokenizer's template already has `{% generation %}` markers (use it
    as it is) or that it cannot be converted; `supports_assistant_loss` tells the two apart.
    """
    template = _default_template(getattr(tokenizer, "chat_template", None))
    if not template or has_generation_markers(template):
        return None
    known = _trl_training_template(tokenizer)
    if known is not None:
        return known
    if IM_START in template and IM_END in template:
        return _chatml_training_template(tokenizer, template)
    return None


def supports_assistant_loss(tokenizer: Any) -> bool:
    """Whether assistant-only loss can work: the template is marked, or can be."""
    template = getattr(tokenizer, "chat_template", None)
    return has_generation_markers(template) or training_chat_template(tokenizer) is not None


def _default_template(template: Any) -> str | None:
    if isinstance(template, dict):  # named variants: the default one is used for chat
        return template.get("default")
    return template


def _trl_training_template(tokenizer: Any) -> str | None:
    """TRL's own marked copy of a template it knows (Llama 3, Qwen, Gemma, Phi...), if any."""
    from trl.chat_template_utils import get_training_chat_template

    try:
        return get_training_chat_template(tokenizer)
    except (ValueError, TypeError):  # "patching is not supported for this template"
        return None


def _chatml_training_template(tokenizer: Any, original: str) -> str | None:
    """A marked ChatML template that renders like `original`, including its default system turn."""
    preamble = _default_system_turn(tokenizer, original)
    if preamble is None:
        return None
    first = (
        "{%- if loop.first and message['role'] != 'system' %}{{ "
        + json.dumps(preamble)
        + " }}{%- endif %}"
        if preamble
        else ""
    )
    candidate = (
        "{%- for message in messages %}" + first + "{%- if message['role'] == 'assistant' %}"
        "{{ '<|im_start|>assistant\\n' }}"
        "{%- generation %}{{ message['content'] + '<|im_end|>' }}{%- endgeneration %}"
        "{{ '\\n' }}"
        "{%- else %}"
        "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
        "{%- endif %}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
    )
    return candidate if _renders_alike(tokenizer, original, candidate) else None


def _default_system_turn(tokenizer: Any, original: str) -> str | None:
    """What the template puts before the first turn when there is no system message ('' if none).

    None when the template does not render a plain ChatML user turn at all.
    """
    text = _render(tokenizer, original, _PROBES[0][0], False)
    turn = f"{IM_START}user\n{_PROBE_USER}{IM_END}\n"
    if text is None or not text.endswith(turn):
        return None
    return text[: -len(turn)]


def _renders_alike(tokenizer: Any, original: str, candidate: str) -> bool:
    for messages, add_prompt in _PROBES:
        want = _render(tokenizer, original, messages, add_prompt)
        if want is None or want != _render(tokenizer, candidate, messages, add_prompt):
            return False
    return True


def _render(tokenizer: Any, template: str, messages: list[dict], add_prompt: bool) -> str | None:
    try:
        return tokenizer.apply_chat_template(
            messages, chat_template=template, tokenize=False, add_generation_prompt=add_prompt
        )
    except Exception:  # a template that cannot render the probe is simply not convertible
        return None
