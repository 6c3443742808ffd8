"""Prompt templates for the prompt lab: a system prompt plus a Jinja user template with fields.

    name: support-reply            # optional, shown in the matrix
    version: 2                     # optional, recorded with every experiment
    system: You answer for Gullhaven Coffee Roasters in under 60 words.
    user: "Customer question: {{ input }}"

A template is checked when it is loaded (unknown keys, a missing `user`, Jinja syntax errors with
their line), and rendered with a sandboxed environment and strict undefined variables: a field
the template names but an input lacks is an error naming both, never a silently empty prompt.
The sandbox matters because templates come from people's files, and a template must not reach
Python internals through Jinja attribute access.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, NotFound

KEYS = ("name", "version", "system", "user")
EXAMPLE = 'user: "Answer briefly: {{ input }}"'


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt: `system` (may be empty) and `user` (Jinja), with a name and version."""

    user: str
    system: str = ""
    name: str = "prompt"
    version: str = "1"

    @cached_property
    def _compiled(self) -> tuple[Any, Any]:
        env = _environment()
        return env.from_string(self.system), env.from_string(self.user)

    @cached_property
    def fields(self) -> list[str]:
        """The variables the system and user parts use, sorted (e.g. ['input', 'product'])."""
        from jinja2 import meta

        env = _environment()
        names: set[str] = set()
        for text in (self.system, self.user):
            names |= meta.find_undeclared_variables(env.parse(text))
        return sorted(names)

    def messages(self, values: dict[str, Any], where: str = "the input") -> list[dict[str, str]]:
        """The chat messages for one input's `values`; InvalidInput names a missing field."""
        from jinja2 import UndefinedError
        from jinja2.exceptions import SecurityError

        system, user = self._compiled
        try:
            rendered = (system.render(**values), user.render(**values))
        except SecurityError as error:
            raise InvalidInput(
                f"Template {self.name!r} tried something unsafe: {error}.",
                "Templates may only insert fields ({{ input }}) and use plain Jinja filters.",
            ) from error
        except UndefinedError as error:
            raise InvalidInput(
                f"Template {self.name!r} could not be filled for {where}: {error.message}.",
                f"Give every input the fields the template uses ({', '.join(self.fields)}), "
                "e.g. as keys of a .jsonl row.",
            ) from error
        messages = [{"role": "system", "content": rendered[0]}] if rendered[0].strip() else []
        return [*messages, {"role": "user", "content": rendered[1]}]

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def sample_template_path() -> Path:
    """The shipped template for the sample coffee company (what `tunesmith demo` tries)."""
    import core.sample_data

    return Path(core.sample_data.__file__).resolve().parent / "prompt_template.yaml"


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)


def load_template(source: str | Path | dict | PromptTemplate) -> PromptTemplate:
    """A checked template from a YAML file path, a mapping, or an existing PromptTemplate."""
    if isinstance(source, PromptTemplate):
        return source
    origin = "the template"
    if isinstance(source, str | Path):
        data, origin = _read_yaml(Path(source)), str(source)
    elif isinstance(source, dict):
        data = source
    else:
        raise InvalidInput(
            f"A template must be a YAML file path or a mapping, not {type(source).__name__}.",
            f"Write a file with e.g. {EXAMPLE}",
        )
    unknown = sorted(set(map(str, data)) - set(KEYS))
    if unknown:
        raise InvalidInput(
            f"{origin} has unknown key(s): {', '.join(unknown)}.", f"Use only: {', '.join(KEYS)}."
        )
    user = data.get("user")
    if not isinstance(user, str) or not user.strip():
        raise InvalidInput(
            f"{origin} has no `user:` template.", f"Add one that uses the input, e.g. {EXAMPLE}"
        )
    system = data.get("system") or ""
    if not isinstance(system, str):
        raise InvalidInput(f"{origin}: `system:` must be text.", "Write the system prompt as text.")
    name = str(data.get("name") or (Path(source).stem if origin != "the template" else "prompt"))
    template = PromptTemplate(user, system, name, str(data.get("version", "1")))
    _check_syntax(template, origin)
    return template


def _read_yaml(path: Path) -> dict:
    import yaml

    if not path.is_file():
        raise NotFound(f"Template file {path} does not exist.", f"Write one with e.g. {EXAMPLE}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path} is not valid YAML: {error}", "Fix it and retry.") from None
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{path} must hold a mapping with `system:` and `user:`.", f"e.g. {EXAMPLE}"
        )
    return data


def _check_syntax(template: PromptTemplate, origin: str) -> None:
    from jinja2 import TemplateSyntaxError

    for part in ("system", "user"):
        try:
            _environment().parse(getattr(template, part))
        except TemplateSyntaxError as error:
            raise InvalidInput(
                f"{origin}: the `{part}:` template has a Jinja error on its line "
                f"{error.lineno}: {error.message}.",
                "Fields are written {{ name }}; close every {{ and {% you open.",
            ) from None
