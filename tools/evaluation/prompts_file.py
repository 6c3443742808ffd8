"""Prompt files for evaluation: the instructions a model is given, so prompting and tuning compare.

A base model with a long instruction prompt against a tuned model with a short one is the honest
comparison a person deciding "fine-tune or just prompt?" needs, so `eval --prompt` takes:

    system: |            # a YAML file: the system prompt ...
      You answer questions about our coffee in under 60 words.
    user: "Customer asks: {{ input }}"   # ... and optionally a template for the last user turn

or a plain `.txt`/`.md` file, whose whole text is the system prompt. The user template is Jinja in a
sandbox (a prompt file is data from a person, not code) with one variable, `input`.
Each eval records which file it used (path, sha256, first line), so a report says what prompt
produced its numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, NotFound

MAX_PROMPT_BYTES = 256_000
EXAMPLE_FILE = 'system: "You are a concise assistant."\nuser: "Question: {{ input }}"'


@dataclass(frozen=True)
class PromptFile:
    """A loaded prompt file: its system prompt, its user template, and where it came from."""

    path: str
    sha256: str
    system: str
    user: str | None = None

    @property
    def first_line(self) -> str:
        text = self.system.strip() or (self.user or "").strip()
        return text.splitlines()[0][:120] if text else ""

    def record(self) -> dict[str, str]:
        """What an eval summary keeps about this prompt (enough to find and check it again)."""
        return {"file": self.path, "sha256": self.sha256, "first_line": self.first_line}

    def apply(self, messages: Sequence[dict]) -> list[dict]:
        """`messages` with this system prompt first and the user template on the last user turn.

        An existing system turn (from the dataset row) is replaced: the prompt under test is the
        one instruction the model gets, or the comparison would mix two prompts.
        """
        out = [dict(m) for m in messages if m.get("role") != "system"]
        if self.user is not None:
            last = max((i for i, m in enumerate(out) if m.get("role") == "user"), default=None)
            if last is not None:
                content = _render_user(self.user, out[last].get("content", ""), self.path)
                out[last] = {"role": "user", "content": content}
        if self.system.strip():
            out.insert(0, {"role": "system", "content": self.system.strip()})
        return out


def _render_user(template: str, text: str, path: str) -> str:
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
        return env.from_string(template).render(input=text)
    except TemplateError as exc:
        raise InvalidInput(
            f"The user template in {path} does not render: {exc}.",
            'It may only use {{ input }} (the example\'s question), e.g. "Question: {{ input }}".',
        ) from exc


def load_prompt_file(path: str | Path) -> PromptFile:
    """Read and check a prompt file (.yaml/.yml with system/user, or any text file = system)."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        raise NotFound(f"There is no prompt file {file}.", f"Write one, e.g.\n{EXAMPLE_FILE}")
    data = file.read_bytes()
    if len(data) > MAX_PROMPT_BYTES:
        raise InvalidInput(
            f"{file} is {len(data):,} bytes; a prompt file may be at most {MAX_PROMPT_BYTES:,}.",
            "Point --prompt at the prompt itself, not a document (use --kb for documents).",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file} is not UTF-8 text.", "Save it as UTF-8.") from exc
    digest = hashlib.sha256(data).hexdigest()
    if file.suffix.lower() not in (".yaml", ".yml"):
        if not text.strip():
            raise InvalidInput(f"{file} is empty.", "Write the system prompt into it.")
        return PromptFile(str(file), digest, text.strip())
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{file} is not valid YAML: {exc}", f"e.g.\n{EXAMPLE_FILE}") from exc
    if not isinstance(parsed, dict):
        raise InvalidInput(f"{file} must be a mapping with `system:`.", f"e.g.\n{EXAMPLE_FILE}")
    unknown = sorted(set(parsed) - {"system", "user", "version", "description"})
    if unknown:
        raise InvalidInput(
            f"{file} has unknown key(s): {', '.join(map(str, unknown))}.",
            "A prompt file takes `system:` and optionally `user:` (with {{ input }}).",
        )
    system, user = parsed.get("system", ""), parsed.get("user")
    if not isinstance(system, str) or (user is not None and not isinstance(user, str)):
        raise InvalidInput(f"{file}: `system` and `user` must be text.", f"e.g.\n{EXAMPLE_FILE}")
    if user is not None and "input" not in user:
        raise InvalidInput(
            f"The user template in {file} never uses {{{{ input }}}}, so every example would "
            "get the same question.",
            'Put {{ input }} where the question goes, e.g. "Question: {{ input }}".',
        )
    if not system.strip() and user is None:
        raise InvalidInput(f"{file} has neither `system:` nor `user:`.", f"e.g.\n{EXAMPLE_FILE}")
    loaded = PromptFile(str(file), digest, system, user)
    if user is not None:
        _render_user(user, "test question", str(file))  # a broken template fails before any work
    return loaded


def prompts_for_models(
    prompts: None | str | Path | Mapping[str, str | Path], model_refs: Sequence[str]
) -> dict[str, PromptFile | None]:
    """Each model's prompt file: one for all (a path), one per model (a mapping), or none.

    A mapping may leave models out (they get the dataset's own prompt); naming a model that is not
    being evaluated is refused, since that is almost always a typo in the ref.
    """
    if prompts is None:
        return {ref: None for ref in model_refs}
    if isinstance(prompts, str | Path):
        shared = load_prompt_file(prompts)
        return {ref: shared for ref in model_refs}
    unknown = sorted(set(prompts) - set(model_refs))
    if unknown:
        raise InvalidInput(
            f"--prompt names model(s) not being evaluated: {', '.join(unknown)}.",
            f"Use MODEL_REF=FILE with one of: {', '.join(model_refs)}.",
        )
    loaded = {str(path): load_prompt_file(path) for path in set(map(str, prompts.values()))}
    return {ref: loaded[str(prompts[ref])] if ref in prompts else None for ref in model_refs}


def parse_prompt_options(options: Sequence[str], model_refs: Sequence[str]) -> Any:
    """CLI `--prompt` values -> what `evaluate(prompts=...)` takes.

    `FILE` applies to every model; `MODEL_REF=FILE` to one (repeatable). A value is per-model
    only when the text before the last '=' is one of the models being evaluated, so a path that
    happens to contain '=' still works as a shared prompt.
    """
    shared: list[str] = []
    per_model: dict[str, str] = {}
    for option in options:
        ref, sep, file = option.rpartition("=")
        if sep and ref in model_refs:
            if ref in per_model:
                raise InvalidInput(f"--prompt gives {ref} two files.", "Give each model one.")
            per_model[ref] = file
        else:
            shared.append(option)
    if len(shared) > 1:
        raise InvalidInput(
            f"--prompt got {len(shared)} files for all models: {', '.join(shared)}.",
            "Give one shared FILE, or MODEL_REF=FILE per model (the ref as you typed it).",
        )
    if shared and not per_model:
        return shared[0]
    if not shared and not per_model:
        return None
    return {
        ref: per_model[ref] if ref in per_model else shared[0]
        for ref in model_refs
        if ref in per_model or shared
    }
