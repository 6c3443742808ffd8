"""What the three strategies share: work items, prompt rendering, retries' temperature, row shape.

A strategy is a deterministic plan (an iterator of `WorkItem`s, the same for the same request, so
a resumed job skips exactly what it finished) plus three steps per item: the chat request to send,
how to read the answer into an (input, output) pair, and optional checks over a whole batch (the
augment strategy's near-copy test needs embeddings, which are cheaper in batches).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.models.engine import ChatRequest
from prompts import load_prompt, render
from tools.knowledge.store import ChunkRecord, Snapshot
from tools.synth.parsing import check_not_example, distinctive_words
from tools.synth.request import SynthRequest

RETRY_TEMPERATURE = 0.7
RETRY_TEMPERATURE_STEP = 0.15
_DELIMITER = re.compile(r"<(/?)(document|text|example)\b", re.IGNORECASE)


@dataclass
class WorkItem:
    """One row to make: a stable key (unique in the plan) and the chunks that ground it."""

    key: str
    chunks: list[ChunkRecord]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Candidate:
    """A parsed model answer that passed the per-item checks, waiting for the batch checks."""

    item: WorkItem
    input: str
    output: str


def fence(text: str) -> str:
    """Data text with our delimiter tags defused, so a document cannot close its own block."""
    return _DELIMITER.sub(lambda m: f"‹{m[1]}{m[2]}", text)


def document_vars(chunks: list[ChunkRecord]) -> list[dict[str, str]]:
    """Chunks as template variables: source name and text, both fenced."""
    return [{"source": fence(c.source).replace('"', "'"), "text": fence(c.text)} for c in chunks]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def example_facts(examples: list[dict[str, Any]]) -> set[str]:
    """The facts each few-shot example carries from its data into its reply (e.g. 'loaf', '40')."""
    facts: set[str] = set()
    for example in examples:
        data = {k: v for k, v in example.items() if k not in ("reply", "kind", "context")}
        facts |= distinctive_words(" ".join(_strings(data))) & distinctive_words(example["reply"])
    return facts


def unique_sources(chunks: list[ChunkRecord]) -> list[str]:
    """Document names in first-seen order."""
    return list(dict.fromkeys(c.source for c in chunks))


class Strategy(ABC):
    """Base class: subclasses set `name` and `prompt_name` and fill in the abstract steps."""

    name: ClassVar[str]
    prompt_name: ClassVar[str]

    def __init__(self, request: SynthRequest, snapshot: Snapshot) -> None:
        self.request = request
        self.snapshot = snapshot
        self.prompt = load_prompt(self.prompt_name)
        self.example_facts = example_facts(list(self.prompt.get("examples") or []))

    @property
    def prompt_version(self) -> str:
        """The prompt file and version, as recorded in every row's provenance."""
        return f"{self.prompt_name}@{self.prompt['version']}"

    @abstractmethod
    def capacity(self) -> int:
        """How many items the sources allow at most."""

    @abstractmethod
    def capacity_note(self) -> str:
        """Why the sources allow no more, in words (e.g. 'only 20 golden outputs')."""

    @abstractmethod
    def items(self) -> Iterator[WorkItem]:
        """The plan, in order; deterministic for a given request and knowledge base."""

    @abstractmethod
    def variables(self, item: WorkItem) -> dict[str, Any]:
        """Template variables for the `user` prompt of this item (data already fenced)."""

    @abstractmethod
    def read(self, item: WorkItem, text: str) -> Candidate:
        """The model's answer as a candidate, or Unusable with the reason."""

    def context_text(self, item: WorkItem) -> str:
        """Everything the model was shown about this item (its facts may appear in the row)."""
        return "\n".join(c.text for c in item.chunks)

    def parse(self, item: WorkItem, text: str) -> Candidate:
        """`read`, then refuse a row that carries over the few-shot example's facts."""
        candidate = self.read(item, text)
        allowed = f"{self.context_text(item)}\n{self.request.use_case}"
        check_not_example(candidate.input, "input", self.example_facts, allowed)
        check_not_example(candidate.output, "output", self.example_facts, allowed)
        return candidate

    def screen(self, candidates: list[Candidate]) -> list[str | None]:
        """Batch-level checks: None to keep a candidate, or the detail of a near-copy reject."""
        return [None] * len(candidates)

    def provenance_extra(self, item: WorkItem) -> dict[str, Any]:
        """Strategy-specific provenance (e.g. the golden output's id)."""
        return {}

    def examples(self, item: WorkItem) -> list[dict[str, Any]]:
        """The prompt file's few-shot examples, in the order to show them for this item."""
        return list(self.prompt.get("examples") or [])

    def chat_request(self, item: WorkItem, attempt: int) -> ChatRequest:
        """The request for `item`; every retry samples hotter so it does not repeat itself."""
        base = {"use_case": self.request.use_case}
        messages = [{"role": "system", "content": render(self.prompt_name, "system", **base)}]
        for example in self.examples(item):
            shown = {k: v for k, v in example.items() if k != "reply"}
            messages.append(
                {"role": "user", "content": render(self.prompt_name, "user", **base, **shown)}
            )
            messages.append({"role": "assistant", "content": example["reply"]})
        user = render(self.prompt_name, "user", **base, **self.variables(item))
        messages.append({"role": "user", "content": user})
        temperature = self.request.temperature
        if attempt > 0:
            temperature = max(temperature, RETRY_TEMPERATURE) + RETRY_TEMPERATURE_STEP * (
                attempt - 1
            )
        return ChatRequest(messages, self.request.max_new_tokens, min(temperature, 2.0))

    def row(self, candidate: Candidate, model_ref: str) -> dict[str, Any]:
        """The training row: messages (optional system, user, assistant), id and meta."""
        item = candidate.item
        messages = []
        if self.request.system_prompt.strip():
            messages.append({"role": "system", "content": self.request.system_prompt.strip()})
        messages.append({"role": "user", "content": candidate.input})
        messages.append({"role": "assistant", "content": candidate.output})
        sources = unique_sources(item.chunks)
        provenance = {
            "strategy": self.name,
            "model": model_ref,
            "prompt_version": self.prompt_version,
            "chunk_ids": [c.id for c in item.chunks],
            "sources": sources,
            **self.provenance_extra(item),
        }
        return {
            "id": f"{self.name}-{item.key}",
            "messages": messages,
            "meta": {"provenance": provenance, "sources": sources},
        }
