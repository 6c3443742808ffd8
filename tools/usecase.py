"""The use case of a project: what the person wants the model to do, in a form tools can check.

A person says "short friendly answers about our coffee, under 60 words"; the use case keeps that
as a description plus the parts a machine can act on: the answer's length limit and required
strings become evaluation format checks, the examples seed the prompt lab, and the baseline model
is the one the prompt lab picked. It lives in the registry's `projects` table (one JSON column),
so every door sees the same spec. The default project is called `default`.

    uc = set_use_case("default", description="Answer customer questions", max_words=60)
    uc.format_checks()   # {"max_words": 60}
    set_baseline("default", "builtin:smollm2-135m-instruct")
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.errors import InvalidInput
from core.names import validate_name
from core.workspace import Workspace, utc_now

DEFAULT_PROJECT = "default"
OUTPUT_FORMATS = ("text", "json", "markdown")
MAX_EXAMPLES = 50


@dataclass
class UseCase:
    """One project's goal and the checkable parts of it. Every field but `project` is optional."""

    project: str = DEFAULT_PROJECT
    description: str = ""
    system_prompt: str = ""
    output_format: str = "text"
    max_words: int | None = None
    must_contain: list[str] = field(default_factory=list)
    must_not_contain: list[str] = field(default_factory=list)
    examples: list[dict[str, str]] = field(default_factory=list)
    baseline_model: str = ""
    updated_at: str = ""

    def format_checks(self) -> dict[str, Any]:
        """The evaluation format checks this use case implies (tools.evaluation.FORMAT_CHECKS)."""
        checks: dict[str, Any] = {}
        if self.max_words:
            checks["max_words"] = self.max_words
        if self.must_contain:
            checks["must_contain"] = list(self.must_contain)
        if self.must_not_contain:
            checks["must_not_contain"] = list(self.must_not_contain)
        if self.output_format == "json":
            checks["regex"] = r"^\s*[\[{]"
        return checks

    def is_empty(self) -> bool:
        return not (self.description or self.examples or self.format_checks())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EDITABLE = tuple(f.name for f in fields(UseCase) if f.name not in ("project", "updated_at"))


def _check(updates: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown fields and impossible values before anything is written."""
    unknown = sorted(set(updates) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            f"Unknown use-case field(s): {', '.join(unknown)}.", f"Use only: {', '.join(EDITABLE)}."
        )
    clean = dict(updates)
    if "output_format" in clean and clean["output_format"] not in OUTPUT_FORMATS:
        raise InvalidInput(
            f"Unknown output format {clean['output_format']!r}.",
            f"Use one of: {', '.join(OUTPUT_FORMATS)}.",
        )
    if clean.get("max_words") is not None:
        words = clean["max_words"]
        if not isinstance(words, int) or isinstance(words, bool) or not 1 <= words <= 10_000:
            raise InvalidInput(
                f"max_words must be a whole number from 1 to 10000, got {words!r}.",
                "Say e.g. 'answers under 60 words'.",
            )
    for name in ("must_contain", "must_not_contain"):
        if name in clean and not all(isinstance(s, str) and s for s in clean[name]):
            raise InvalidInput(f"{name} must be a list of non-empty strings.", 'e.g. ["#Brand"].')
    if "examples" in clean:
        examples = clean["examples"]
        if len(examples) > MAX_EXAMPLES or not all(
            isinstance(e, dict) and isinstance(e.get("input"), str) for e in examples
        ):
            raise InvalidInput(
                f"examples must be at most {MAX_EXAMPLES} objects with an 'input' string "
                "(and optionally an 'output').",
                'e.g. [{"input": "Do you ship abroad?", "output": "Yes, to the EU."}]',
            )
    return clean


def get_use_case(project: str = DEFAULT_PROJECT, ws: Workspace | None = None) -> UseCase:
    """The project's use case; an empty one when the project has none yet."""
    ws = ws or Workspace.from_settings()
    validate_name(project, "project name")
    with ws.connect() as conn:
        row = conn.execute("SELECT use_case FROM projects WHERE name = ?", (project,)).fetchone()
    stored = json.loads(row["use_case"]) if row else {}
    known = {k: v for k, v in stored.items() if k in EDITABLE or k == "updated_at"}
    return UseCase(project=project, **known)


def set_use_case(
    project: str = DEFAULT_PROJECT, ws: Workspace | None = None, **updates: Any
) -> UseCase:
    """Merge `updates` into the project's use case (creating the project) and save it."""
    ws = ws or Workspace.from_settings()
    clean = _check(updates)
    with ws.lock(f"project-{validate_name(project, 'project name')}"):
        current = get_use_case(project, ws)
        merged = {**current.to_dict(), **clean, "project": project, "updated_at": utc_now()}
        use_case = UseCase(**merged)
        stored = {k: v for k, v in use_case.to_dict().items() if k != "project"}
        with ws.transaction() as conn:
            conn.execute(
                "INSERT INTO projects(name, created_at, use_case) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET use_case = excluded.use_case",
                (project, utc_now(), json.dumps(stored, ensure_ascii=False)),
            )
    ws.record_event("usecase.set", f"project:{project}", {"fields": sorted(clean)})
    return use_case


def set_baseline(project: str, model_ref: str, ws: Workspace | None = None) -> UseCase:
    """Mark `model_ref` as the project's baseline model (what the prompt lab picked)."""
    from core.models.refs import parse_ref

    parse_ref(model_ref)  # refuses a malformed ref with its own hint
    return set_use_case(project, ws, baseline_model=model_ref)
