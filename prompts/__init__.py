"""Every prompt text the product sends to a model, as versioned YAML files beside this module.

A prompt file holds `version` (bumped whenever the wording changes, and recorded in each row's
provenance so datasets say which wording made them), plus its parts (`system`, `user`, ...) as
Jinja templates. Text from documents or datasets is passed in as variables and rendered inside
clearly delimited blocks: it is data, never instructions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).parent


@lru_cache(maxsize=64)
def load_prompt(name: str) -> dict[str, Any]:
    """The parsed prompt file `prompts/<name>.yaml`; it must carry a `version`."""
    import yaml

    path = PROMPTS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"No prompt named {name!r}; known: {', '.join(known)}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "version" not in data:
        raise ValueError(f"Prompt file {path} must be a mapping with a 'version' key.")
    return data


def render(name: str, part: str, **variables: Any) -> str:
    """Render one part (e.g. `user`) of prompt `name` with Jinja (undefined variables fail)."""
    from jinja2 import Environment, StrictUndefined

    template = load_prompt(name)[part]
    return (
        Environment(undefined=StrictUndefined, keep_trailing_newline=True)
        .from_string(template)
        .render(**variables)
    )
