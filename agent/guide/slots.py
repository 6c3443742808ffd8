"""Slot filling by rules: the arguments a plain message carries, matched to a tool's fields.

`extract(text)` finds the things people write - model refs, dataset versions (NAME@vN), kb / run /
eval ids, file paths, percentages, numbers, "under 60 words", quoted text, "called X" names - and
`fill(spec, text, position)` puts each where the tool's argument schema wants it, by field name
and type. "The last run" / "this dataset" need no rule: tools default to the position.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL_REF = re.compile(r"\b(?:builtin|hf|openai|ollama|anthropic|run):[^\s,;'\"()]+")
DATASET_REF = re.compile(r"\b(?:ds:)?([A-Za-z0-9][A-Za-z0-9._-]*@v\d+)\b")
KB_REF = re.compile(r"\bkb:([A-Za-z0-9][A-Za-z0-9._-]*)")
EVAL_REF = re.compile(r"\beval:([A-Za-z0-9][A-Za-z0-9._-]*)")
RUN_REF = re.compile(r"\brun:([A-Za-z0-9][A-Za-z0-9._-]*)")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)")
WORD_LIMIT = re.compile(r"(\d+)\s*words?\b")
NUMBER = re.compile(r"(?<![\w.@:/-])(\d+)(?![\w.%@/-])")
COUNTED = re.compile(r"(\d+)\s*(step|epoch)s?\b", re.IGNORECASE)
"""'for 10 steps' is a step budget and '2 epochs' a pass count: a number with its unit."""
SWITCHES = ("merge", "gguf", "sweep")
"""Yes/no arguments the person turns on by naming them ('export it merged', 'run a sweep')."""
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'|`([^`]+)`")
NAMED = re.compile(
    r"\b(?:called|named|name it|name|as)\s+[\"'“]?([A-Za-z0-9][A-Za-z0-9._-]*)", re.IGNORECASE
)
KB_NAMED = re.compile(
    r"\b(?:kb|knowledge base|knowledge-base)\s+(?:called\s+|named\s+)?[\"'“]?"
    r"([A-Za-z0-9][A-Za-z0-9._-]*)",
    re.IGNORECASE,
)
FILE_SUFFIXES = (".md", ".txt", ".pdf", ".html", ".htm", ".docx", ".csv", ".jsonl", ".json", ".tsv")
NOT_NAMES = {"the", "a", "an", "it", "my", "our", "this", "that", "for", "to", "from", "in", "with"}

TEXT_FIELDS = ("query", "description", "instruction", "question", "prompt", "text", "message")
GOAL = re.compile(
    r"\b(i want|we want|we need|i need|goal|use case|model that|assistant that|bot that|"
    r"should (answer|reply|write|help)|answers? (questions|customers)|write[s]? (posts|emails))\b",
    re.IGNORECASE,
)
LEAD_IN = re.compile(r"^[^:?]{0,60}:\s*(.+)$", re.DOTALL)
"""'ask the tuned model: do you ship abroad?' -> the question is what follows the colon."""
"""Fields that take the person's words themselves when nothing more specific fills them."""

COUNT_FIELDS = ("n", "count", "k", "rows", "limit", "epochs", "num_rows", "steps", "samples")
"""Whole-number fields a bare number in the message goes to (never tuning knobs like lengths)."""

PRIORITY = ("dedupe", "split", "revert", "rewrite", "filter", "delete")
"""'get rid of the repeated rows' is a dedupe, though 'get rid' alone would be a delete."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "dedupe": ("duplicate", "dedup", "repeated", "same rows"),
    "delete": ("remove", "drop", "get rid"),
    "filter": ("keep only", "only keep", "keep rows", "filter"),
    "rewrite": ("rewrite", "rephrase", "reword", "make the answers", "shorter", "friendlier"),
    "split": ("split", "hold out", "held-out", "set aside", "for evaluation", "evaluation share"),
    "revert": ("revert", "undo", "go back", "roll back", "restore"),
    "json": ("json",),
    "markdown": ("markdown",),
    "lora": ("lora", "adapter"),
    "full": ("full fine", "all the weights", "full training", "fully"),
}


@dataclass
class Slots:
    """Everything recognised in one message."""

    text: str
    model_refs: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    kbs: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    evals: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    percents: list[float] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)
    word_limit: int | None = None
    quoted: list[str] = field(default_factory=list)
    name: str | None = None


def extract(text: str) -> Slots:
    """Recognise refs, paths, numbers and names in `text`."""
    slots = Slots(text=text)
    slots.model_refs = [m for m in MODEL_REF.findall(text) if not m.startswith("run:")]
    slots.runs = RUN_REF.findall(text)
    slots.datasets = DATASET_REF.findall(text)
    slots.kbs = KB_REF.findall(text) or [
        n for n in KB_NAMED.findall(text) if n.lower() not in NOT_NAMES
    ]
    slots.evals = EVAL_REF.findall(text)
    slots.quoted = [next(g for g in groups if g) for groups in QUOTED.findall(text)]
    slots.paths = _paths(text)
    slots.percents = [float(p) for p in PERCENT.findall(text)]
    limit = WORD_LIMIT.search(text)
    slots.word_limit = int(limit.group(1)) if limit else None
    taken = {m.group(1) for m in PERCENT.finditer(text)} | {
        m.group(1) for m in WORD_LIMIT.finditer(text)
    }
    slots.counted = {unit.lower(): int(n) for n, unit in COUNTED.findall(text)}
    taken |= {m.group(1) for m in COUNTED.finditer(text)}
    slots.numbers = [int(n) for n in NUMBER.findall(_without_refs(text)) if n not in taken]
    names = [n for n in NAMED.findall(text) if n.lower() not in NOT_NAMES and ":" not in n]
    slots.name = names[0] if names else None
    return slots


def routing_text(text: str) -> str:
    """The message as the router should read it: a path or URL is a value, not intent, so each
    path becomes the words 'the files' ('add /tmp/x/docs' -> 'add the files') and URLs go."""
    text = re.sub(r"@?https?://\S+", " ", text)
    for path in _paths(text):
        text = text.replace(path, "the files")
    return " ".join(text.split())


def _without_refs(text: str) -> str:
    for pattern in (MODEL_REF, DATASET_REF, KB_REF, EVAL_REF, RUN_REF):
        text = pattern.sub(" ", text)
    return text


def _paths(text: str) -> list[str]:
    found = []
    for token in re.split(r"[\s,;()<>\[\]]+", text):
        token = token.strip("\"'`“”‘’!?")
        token = token.rstrip(".:") if not token.endswith((".", "..")) or len(token) > 2 else token
        if not token or ":" in token.split("/")[0]:
            continue
        looks = token.startswith(("./", "../", "/", "~")) or "/" in token
        if looks or token.lower().endswith(FILE_SUFFIXES):
            found.append(token)
    return found


# -- matching slots to a tool's fields -------------------------------------------------------------


def fill(spec: Any, text: str, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Arguments for `spec` from `text`, on top of `keep` (a draft's earlier arguments)."""
    slots = extract(text)
    args = dict(keep or {})
    found = {}
    for name, info in spec.args_schema.model_fields.items():
        if args.get(name) is not None:
            continue
        value = _value_for(name, info.annotation, slots, spec)
        if value is not None:
            found[name] = value
    if "description" in found and not GOAL.search(text):
        del found["description"]  # "answers under 60 words" sets a limit, not the whole goal
    if "instruction" in found and (args | found).get("operation") not in (
        None,
        "rewrite",
    ):
        del found["instruction"]  # only a rewrite takes an instruction
    return {**args, **found}


def _value_for(name: str, annotation: Any, slots: Slots, spec: Any) -> Any:
    kinds = _kinds(annotation)
    options = _literal_options(annotation)
    is_list = "list" in kinds
    if options:
        return _choose_option(options, slots.text)
    if name == "epochs":
        return slots.counted.get("epoch")
    if name in ("steps", "max_steps") and "step" in slots.counted:
        return slots.counted["step"]
    if name == "overrides":
        return {"max_steps": slots.counted["step"]} if "step" in slots.counted else None
    if "bool" in kinds:
        named = name in SWITCHES and re.search(rf"\b{name}", slots.text, re.IGNORECASE)
        return True if named else None
    if name in ("paths", "files", "path", "file", "golden", "seeds", "out"):
        if name == "golden" and not re.search(r"golden|examples?|samples?", slots.text, re.I):
            return None
        return _one_or_list(slots.paths, is_list)
    if name in ("models", "model", "base_model", "baseline", "judge"):
        refs = slots.model_refs + (
            [f"run:{r}" for r in slots.runs] if name == "model" and not _wants(spec, "run") else []
        )
        return _one_or_list(refs, is_list)
    if name in ("dataset", "data", "seeds_dataset"):
        if slots.datasets:
            return slots.datasets[0]
        return slots.name if spec.name.startswith(("import", "synthesize")) else None
    if name in ("kb", "knowledge_base"):
        return slots.kbs[0] if slots.kbs else None
    if name in ("run", "run_id", "runs"):
        return _one_or_list(slots.runs, is_list)
    if name in ("eval", "eval_id", "evals", "eval_ids", "baseline_eval", "other"):
        return _one_or_list(slots.evals, is_list)
    if name in ("percent", "eval_fraction", "fraction", "eval_percent"):
        if not slots.percents:
            return None
        value = slots.percents[0]
        return value / 100 if "float" in kinds and name.endswith("fraction") else int(value)
    if name in ("max_words", "words"):
        return slots.word_limit
    if name in ("where", "expression", "condition"):
        return slots.quoted[0] if slots.quoted else None
    if name in ("must_contain", "must_not_contain"):
        return _required_strings(slots.text, negative=name == "must_not_contain")
    if name == "project":
        return None
    if name in COUNT_FIELDS:
        return slots.numbers[0] if slots.numbers else None
    if name in ("ids",):
        return None
    if name in TEXT_FIELDS:
        if slots.quoted and name != "description":
            return slots.quoted[0]
        lead_in = LEAD_IN.match(slots.text)
        return lead_in.group(1).strip() if lead_in and name != "description" else slots.text
    if name in ("name",):
        return slots.name
    return None


MUST = re.compile(
    r"\b(must|should|always|never|must not|should not|mustn't|shouldn't|don't|do not)\s+"
    r"(?:ever\s+)?(?:mention|contain|include|say|use)\s+(.+)",
    re.IGNORECASE,
)


def _required_strings(text: str, negative: bool) -> list[str] | None:
    """'must mention #Brand' -> ['#Brand'] (must_contain); 'never mention X' -> must_not_contain."""
    match = MUST.search(text)
    if not match:
        return None
    is_negative = match.group(1).lower() in (
        "never",
        "must not",
        "should not",
        "mustn't",
        "shouldn't",
        "don't",
        "do not",
    )
    if is_negative != negative:
        return None
    rest = match.group(2)
    quoted = [next(g for g in groups if g) for groups in QUOTED.findall(rest)]
    words = quoted or [w.strip(".,;!?") for w in re.split(r"\s+(?:and|or)\s+|,", rest)]
    return [w for w in words if w][:10] or None


def _wants(spec: Any, field_name: str) -> bool:
    return field_name in spec.args_schema.model_fields


def _one_or_list(values: list, is_list: bool) -> Any:
    if not values:
        return None
    return list(values) if is_list else values[0]


def _choose_option(options: tuple[str, ...], text: str) -> str | None:
    """The Literal option the message names (the word itself or a synonym, at a word start);
    options are tried in PRIORITY order, so the more specific one wins."""
    lowered = text.lower()
    ranked = sorted(options, key=lambda o: PRIORITY.index(o) if o in PRIORITY else len(PRIORITY))
    for option in ranked:
        words = (option.lower(), *SYNONYMS.get(option.lower(), ()))
        if any(re.search(rf"\b{re.escape(w)}", lowered) for w in words):
            return option
    return None


def _kinds(annotation: Any) -> set[str]:
    """Type names in an annotation: {'list', 'str'} for list[str] | None."""
    found: set[str] = set()
    stack = [annotation]
    while stack:
        item = stack.pop()
        origin = typing.get_origin(item)
        if origin is typing.Annotated:
            stack.append(typing.get_args(item)[0])
        elif origin is list:
            found.add("list")
            stack.extend(typing.get_args(item))
        elif origin is not None:
            stack.extend(typing.get_args(item))
        elif isinstance(item, type):
            found.add(item.__name__)
    return found


def _literal_options(annotation: Any) -> tuple[str, ...]:
    stack = [annotation]
    while stack:
        item = stack.pop()
        origin = typing.get_origin(item)
        if origin is typing.Literal:
            return tuple(str(a) for a in typing.get_args(item))
        if origin is not None:
            stack.extend(typing.get_args(item))
    return ()


def existing_paths(paths: list[str]) -> list[str]:
    return [p for p in paths if Path(p).expanduser().exists()]
