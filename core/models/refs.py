"""Model refs: the one string that names a model everywhere (CLI, chat, settings, run records).

Parsing is purely syntactic and cheap: it says *which* model is meant, never whether it can be
loaded (that is `load_engine`'s job, and `list_models` reports it without loading anything). A bad
ref fails here with the valid forms listed and the closest spelling suggested, because a typo in a
ref is the most common way to meet this code.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from core.errors import InvalidInput

BUILTIN_MODELS: tuple[str, ...] = ("smollm2-135m-instruct",)
"""Generation models shipped with Tunesmith (through PyPI packages), usable offline."""

SCHEMES: tuple[str, ...] = ("builtin", "hf", "openai", "ollama", "run")

VALID_FORMS = (
    "builtin:smollm2-135m-instruct, hf:<local folder or hub id>, openai:<model>, "
    "openai:<model>@<base url>, ollama:<model>, run:<id>"
)

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NO_SPACES = re.compile(r"^\S+$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model ref.

    `target` is what the scheme points at: the builtin name, the hf folder or hub id, the remote
    model name, or the run id. `base_url` is only set by `openai:<model>@<base url>`. `raw` keeps
    the text as the person typed it, for messages.
    """

    scheme: str
    target: str
    raw: str
    base_url: str | None = None

    @property
    def canonical(self) -> str:
        """The ref written in its normal form (lower-case scheme, no stray spaces)."""
        suffix = f"@{self.base_url}" if self.base_url else ""
        return f"{self.scheme}:{self.target}{suffix}"

    def __str__(self) -> str:
        return self.canonical


def _hint(extra: str = "") -> str:
    prefix = f"{extra} " if extra else ""
    return f"{prefix}Valid forms: {VALID_FORMS}."


def _closest_builtin(word: str) -> str | None:
    matches = difflib.get_close_matches(word.lower(), BUILTIN_MODELS, n=1, cutoff=0.3)
    return f"builtin:{matches[0]}" if matches else None


def _did_you_mean(word: str) -> str:
    best = _closest_builtin(word)
    return f"Did you mean {best}?" if best else ""


def parse_ref(text: str) -> ModelRef:
    """Parse a model ref such as `builtin:smollm2-135m-instruct` or `openai:gpt-4o-mini`.

    Raises InvalidInput (with the valid forms and the closest builtin name) when `text` is not a
    ref. Parsing never touches the disk or the network.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("The model ref is empty.", _hint("Try builtin:smollm2-135m-instruct."))
    raw = text
    text = text.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput(f"The model ref {raw!r} contains control characters.", _hint())

    scheme, sep, target = text.partition(":")
    scheme = scheme.strip().lower()
    target = target.strip()
    if not sep:
        if text.startswith(("/", ".", "~")):
            raise InvalidInput(
                f"The model ref {raw!r} has no scheme.",
                _hint(f"For a local folder write hf:{text}."),
            )
        raise InvalidInput(f"The model ref {raw!r} has no scheme.", _hint(_did_you_mean(text)))
    if scheme not in SCHEMES:
        close = difflib.get_close_matches(scheme, SCHEMES, n=1, cutoff=0.5)
        extra = f"Did you mean {close[0]}:{target}?" if close else _did_you_mean(target or scheme)
        raise InvalidInput(f"Unknown model ref scheme {scheme!r} in {raw!r}.", _hint(extra))
    if not target:
        example = {
            "builtin": "builtin:smollm2-135m-instruct",
            "hf": "hf:./my-model",
            "openai": "openai:gpt-4o-mini",
            "ollama": "ollama:llama3.2",
            "run": "run:<id> (see `tunesmith runs`)",
        }[scheme]
        raise InvalidInput(
            f"The model ref {raw!r} names no model.", _hint(f"For example {example}.")
        )

    if scheme == "builtin":
        name = target.lower()
        if name not in BUILTIN_MODELS:
            raise InvalidInput(
                f"There is no builtin model {target!r}.",
                _hint(
                    (_did_you_mean(target) + " " if _closest_builtin(target) else "")
                    + f"Builtin models: {', '.join(BUILTIN_MODELS)}."
                ),
            )
        return ModelRef("builtin", name, raw)

    if scheme == "hf":
        return ModelRef("hf", target, raw)

    if scheme == "openai":
        model, at, base_url = target.partition("@")
        model, base_url = model.strip(), base_url.strip()
        if not model:
            raise InvalidInput(
                f"The model ref {raw!r} names no model before '@'.",
                _hint("For example openai:qwen2.5@http://localhost:8000/v1."),
            )
        if at and not re.match(r"^https?://\S+$", base_url):
            raise InvalidInput(
                f"The base URL {base_url!r} in {raw!r} is not an http(s) URL.",
                _hint("For example openai:qwen2.5@http://localhost:8000/v1."),
            )
        if not _NO_SPACES.match(model):
            raise InvalidInput(f"The model name {model!r} in {raw!r} contains spaces.", _hint())
        return ModelRef("openai", model, raw, base_url=base_url or None)

    if scheme == "ollama":
        if not _NO_SPACES.match(target):
            raise InvalidInput(f"The model name {target!r} in {raw!r} contains spaces.", _hint())
        return ModelRef("ollama", target, raw)

    # run
    if not _RUN_ID.match(target):
        raise InvalidInput(
            f"The run id {target!r} in {raw!r} is not valid.",
            _hint("A run id is letters, digits, '.', '_' or '-' (see `tunesmith runs`)."),
        )
    return ModelRef("run", target, raw)
