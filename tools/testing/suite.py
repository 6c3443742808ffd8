"""Test suites in YAML: the person's checklist for a model, validated before anything runs.

A suite is a list of cases; each case is a prompt (or a conversation) and what its answer must
satisfy. Checks that need no model (contains, not_contains, regex, max_words, max_chars) and checks
that do (similar_to: MiniLM cosine against an expected answer; judge: a rubric graded 1-5 by a
judge model) sit side by side:

    name: support-replies
    judge: openai:gpt-4o-mini          # needed only by cases with a `judge:` check
    system: You answer for Gullhaven Coffee Roasters.
    cases:
      - name: returns-window
        prompt: How long do I have to return something?
        contains: ["30 days"]              # case-insensitive substrings, all required
        max_words: 80
      - name: polite
        messages: [{role: user, content: "Your coffee is bad."}]
        not_contains: [stupid]
        judge: {rubric: "Apologises and offers help", min_score: 4}

A suite written by hand has typos, so every error names the case (number, name and line) and the
key, and an unknown key suggests the closest known one. Nothing is generated for a suite that does
not validate: a half-run checklist would read as a result.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, NotFound

CHECK_KEYS = (
    "contains",
    "not_contains",
    "regex",
    "max_words",
    "max_chars",
    "similar_to",
    "judge",
)
CASE_KEYS = ("name", "prompt", "messages", "system", *CHECK_KEYS)
SUITE_KEYS = ("name", "description", "judge", "system", "max_new_tokens", "cases")
ROLES = ("system", "user", "assistant")
DEFAULT_SIMILARITY = 0.6
DEFAULT_MIN_SCORE = 4.0
DEFAULT_MAX_NEW_TOKENS = 256
MAX_NEW_TOKENS_LIMIT = 8192
SUITE_HINT = "See `tunesmith test --help` for the suite format; core/sample_data/tests.yaml is one."


@dataclass(frozen=True)
class SimilarTo:
    """The answer must mean about the same as `text`: MiniLM cosine >= `threshold`."""

    text: str
    threshold: float = DEFAULT_SIMILARITY


@dataclass(frozen=True)
class JudgeCheck:
    """A judge model grades the answer 1-5 against `rubric`; it passes at `min_score` or more."""

    rubric: str
    min_score: float = DEFAULT_MIN_SCORE


@dataclass(frozen=True)
class Case:
    """One prompt and what its answer must satisfy. `line` is where it starts in the file."""

    name: str
    messages: tuple[dict, ...]
    line: int = 0
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    max_words: int | None = None
    max_chars: int | None = None
    similar_to: SimilarTo | None = None
    judge: JudgeCheck | None = None

    @property
    def prompt(self) -> str:
        """The last user turn: what the model is answering."""
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


@dataclass(frozen=True)
class Suite:
    """A validated suite. `judge` is the judge model ref named in the file, if any."""

    name: str
    cases: tuple[Case, ...]
    judge: str | None = None
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    description: str = ""
    path: Path | None = field(default=None, compare=False)

    @property
    def needs_judge(self) -> bool:
        return any(case.judge is not None for case in self.cases)

    @property
    def needs_embeddings(self) -> bool:
        return any(case.similar_to is not None for case in self.cases)


# -- reading -----------------------------------------------------------------------------------


def load_suite(source: str | Path | Suite) -> Suite:
    """A validated Suite from a YAML file path (a Suite is returned as it is)."""
    if isinstance(source, Suite):
        return source
    path = Path(source).expanduser()
    if not path.is_file():
        raise NotFound(f"There is no suite file {path}.", SUITE_HINT)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"Cannot read the suite {path}: {exc}.", "Save it as UTF-8 text."
        ) from exc
    return parse_suite(text, where=str(path), path=path)


def parse_suite(text: str, *, where: str = "suite", path: Path | None = None) -> Suite:
    """Parse and validate suite YAML; errors say `where`, the case, the key and the line."""
    import yaml

    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(
            f"{where} is not valid YAML{at}: {problem}.",
            "Check the indentation and quoting there (quote text that contains ': ' or '#').",
        ) from exc
    if isinstance(data, list):  # a bare list of cases is a suite too
        data, cases_node = {"cases": data}, root
        key_lines: dict[str, int] = {}
    elif isinstance(data, dict):
        key_lines = _key_lines(root)
        cases_node = _value_node(root, "cases")
    else:
        raise InvalidInput(
            f"{where} must be a mapping with a `cases:` list (or a list of cases).", SUITE_HINT
        )
    _refuse_unknown(data, SUITE_KEYS, f"{where}", key_lines)

    cases_data = data.get("cases")
    if not isinstance(cases_data, list) or not cases_data:
        raise InvalidInput(
            f"{where} has no cases: `cases:` must be a non-empty list{_at(key_lines, 'cases')}.",
            "Add cases like `- prompt: ...` with checks such as `contains: [...]`.",
        )
    default_system = _optional_text(data, "system", where, key_lines)
    item_nodes = list(getattr(cases_node, "value", []) or [])
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(cases_data):
        node = item_nodes[index] if index < len(item_nodes) else None
        line = node.start_mark.line + 1 if node is not None else 0
        case = _parse_case(item, index, line, _key_lines(node), default_system, where)
        if case.name in seen:
            raise InvalidInput(
                f"{where}: case {index + 1} (line {line}) reuses the name {case.name!r} of case "
                f"{seen[case.name]}.",
                "Give every case its own name, so a failure points at one case.",
            )
        seen[case.name] = index + 1
        cases.append(case)

    judge = _optional_text(data, "judge", where, key_lines) or None
    max_new = data.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
    if not _is_int(max_new) or not 1 <= max_new <= MAX_NEW_TOKENS_LIMIT:
        raise InvalidInput(
            f"{where}: max_new_tokens must be a whole number from 1 to {MAX_NEW_TOKENS_LIMIT}, "
            f"got {max_new!r}{_at(key_lines, 'max_new_tokens')}.",
            "e.g. `max_new_tokens: 128`.",
        )
    name = _optional_text(data, "name", where, key_lines) or (path.stem if path else "suite")
    description = _optional_text(data, "description", where, key_lines)
    return Suite(name, tuple(cases), judge, int(max_new), description, path)


# -- one case ----------------------------------------------------------------------------------


def _parse_case(
    item: Any, index: int, line: int, key_lines: dict[str, int], system: str, where: str
) -> Case:
    label = f"{where}: case {index + 1}" + (f" (line {line})" if line else "")
    if not isinstance(item, dict):
        raise InvalidInput(
            f"{label} is a {type(item).__name__}, not a mapping.",
            "Write each case as `- prompt: ...` followed by its checks, indented under it.",
        )
    if isinstance(item.get("name"), str) and item["name"].strip():
        label = f"{where}: case {index + 1} {item['name'].strip()!r}" + (
            f" (line {line})" if line else ""
        )
    _refuse_unknown(item, CASE_KEYS, label, key_lines)
    name = _optional_text(item, "name", label, key_lines) or f"case-{index + 1}"
    case_system = _optional_text(item, "system", label, key_lines) or system
    messages = _messages(item, label, key_lines, case_system)
    checks = {key: item[key] for key in CHECK_KEYS if key in item}
    if not checks:
        raise InvalidInput(
            f"{label} has no checks, so it could never fail.",
            f"Add at least one of: {', '.join(CHECK_KEYS)}.",
        )

    def where(key: str) -> str:
        return f"{label}: {key}{_at(key_lines, key)}"

    return Case(
        name=name,
        messages=tuple(messages),
        line=line,
        contains=_texts(checks.get("contains"), where("contains")),
        not_contains=_texts(checks.get("not_contains"), where("not_contains")),
        regex=_patterns(checks.get("regex"), where("regex")),
        max_words=_limit(checks.get("max_words"), where("max_words")),
        max_chars=_limit(checks.get("max_chars"), where("max_chars")),
        similar_to=_similar(checks.get("similar_to"), where("similar_to")),
        judge=_judge(checks.get("judge"), where("judge")),
    )


def _messages(item: dict, label: str, key_lines: dict[str, int], system: str) -> list[dict]:
    has_prompt, has_messages = "prompt" in item, "messages" in item
    if has_prompt == has_messages:
        raise InvalidInput(
            f"{label} needs exactly one of `prompt` (text) or `messages` (a conversation).",
            "e.g. `prompt: How long is the warranty?`",
        )
    if has_prompt:
        prompt = item["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidInput(
                f"{label}: prompt must be non-empty text{_at(key_lines, 'prompt')}.",
                "Quote it if it contains ': ' or starts with a special character.",
            )
        turns = [{"role": "user", "content": prompt}]
    else:
        turns = _conversation(item["messages"], f"{label}: messages{_at(key_lines, 'messages')}")
    if system and turns[0]["role"] != "system":
        turns.insert(0, {"role": "system", "content": system})
    return turns


def _conversation(value: Any, label: str) -> list[dict]:
    hint = "e.g. `messages: [{role: user, content: Hi}]`; the last turn must be the user's."
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{label} must be a non-empty list of {{role, content}} turns.", hint)
    turns = []
    for number, turn in enumerate(value, 1):
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ROLES
            or not isinstance(turn.get("content"), str)
            or set(turn) - {"role", "content"}
        ):
            raise InvalidInput(
                f"{label}: turn {number} must be {{role, content}} with role one of "
                f"{', '.join(ROLES)} and text content, got {turn!r}.",
                hint,
            )
        turns.append({"role": turn["role"], "content": turn["content"]})
    if turns[-1]["role"] != "user":
        raise InvalidInput(f"{label}: the last turn is {turns[-1]['role']!r}, not 'user'.", hint)
    return turns


def _texts(value: Any, label: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(s, str) and s for s in items):
        raise InvalidInput(
            f"{label} must be text or a list of non-empty texts, got {value!r}.",
            'e.g. `contains: ["30 days", "refund"]`.',
        )
    return tuple(items)


def _patterns(value: Any, label: str) -> tuple[str, ...]:
    patterns = _texts(value, label)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InvalidInput(
                f"{label}: {pattern!r} is not a valid regular expression ({exc}).",
                "Use Python `re` syntax; in YAML, single-quote patterns with backslashes.",
            ) from exc
    return patterns


def _limit(value: Any, label: str) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value < 1:
        raise InvalidInput(
            f"{label} must be a whole number of 1 or more, got {value!r}.", "e.g. `max_words: 80`."
        )
    return int(value)


def _similar(value: Any, label: str) -> SimilarTo | None:
    if value is None:
        return None
    hint = "e.g. `similar_to: {text: 'We refund within 30 days.', threshold: 0.6}`."
    value = _short_or_mapping(
        value,
        "text",
        {"text", "threshold"},
        f"{label} must be text or {{text, threshold}}, got {value!r}.",
        hint,
    )
    text = value.get("text")
    threshold = value.get("threshold", DEFAULT_SIMILARITY)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{label}: text must be the expected answer, got {text!r}.", hint)
    if not _is_number(threshold) or not 0.0 < threshold <= 1.0:
        raise InvalidInput(
            f"{label}: threshold must be a cosine similarity in (0, 1], got {threshold!r}.", hint
        )
    return SimilarTo(text, float(threshold))


def _judge(value: Any, label: str) -> JudgeCheck | None:
    if value is None:
        return None
    hint = "e.g. `judge: {rubric: 'Apologises and offers a fix', min_score: 4}` (scores 1-5)."
    value = _short_or_mapping(
        value,
        "rubric",
        {"rubric", "min_score"},
        f"{label} must be a rubric text or {{rubric, min_score}}.",
        hint,
    )
    rubric = value.get("rubric")
    min_score = value.get("min_score", DEFAULT_MIN_SCORE)
    if not isinstance(rubric, str) or not rubric.strip():
        raise InvalidInput(f"{label}: rubric must say what a good answer does.", hint)
    if not _is_number(min_score) or not 1 <= min_score <= 5:
        raise InvalidInput(f"{label}: min_score must be from 1 to 5, got {min_score!r}.", hint)
    return JudgeCheck(rubric.strip(), float(min_score))


# -- helpers -----------------------------------------------------------------------------------


def _short_or_mapping(value: Any, key: str, allowed: set[str], problem: str, hint: str) -> dict:
    """A check's options as a mapping: a bare string is short for `{key: value}`, so suites can
    write `judge: Is friendly`; anything else must be a mapping of `allowed` keys only."""
    if isinstance(value, str):
        value = {key: value}
    if not isinstance(value, dict) or set(value) - allowed:
        raise InvalidInput(problem, hint)
    return value


def _refuse_unknown(data: dict, known: tuple[str, ...], label: str, lines: dict[str, int]) -> None:
    for key in data:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        guess = f"Did you mean {close[0]!r}? " if close else ""
        raise InvalidInput(
            f"{label}: unknown key {key!r}{_at(lines, str(key))}.",
            f"{guess}Known keys: {', '.join(known)}.",
        )


def _optional_text(data: dict, key: str, label: str, lines: dict[str, int]) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{label}: {key} must be text, got {value!r}{_at(lines, key)}.", "")
    return value.strip()


def _key_lines(node: Any) -> dict[str, int]:
    """Line numbers (1-based) of the keys of a YAML mapping node; empty for anything else."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


def _value_node(node: Any, key: str) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v
    return None


def _at(lines: dict[str, int], key: str) -> str:
    return f" (line {lines[key]})" if key in lines else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
