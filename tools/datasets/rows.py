"""The row conventions every dataset operation shares.

A row is one training example in one of three formats:
    messages:    {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}
    completion:  {"prompt": str, "completion": str}
    text:        {"text": str}
plus two reserved keys that never reach the trainer:
    "id":   a stable row id (str), kept through every operation so versions can be diffed;
    "meta": a dict: "split" ("train"|"eval"), "sources" (document names), "provenance"
            ({strategy, model, prompt_version, chunk_ids, sources}), "scores" ({name: float}).

An operation takes rows and returns an `OpResult`: the rows it kept (possibly changed) and one
`Removal` with a reason for every row it dropped, so `rows in == kept + removed` always holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FORMATS = ("messages", "completion", "text")
RESERVED_KEYS = ("id", "meta")


@dataclass(frozen=True)
class Removal:
    id: str
    reason: str


@dataclass
class OpResult:
    kept: list[dict]
    removed: list[Removal] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)  # e.g. the threshold a filter used

    def reasons(self) -> dict[str, int]:
        """How many rows were removed for each reason."""
        counts: dict[str, int] = {}
        for removal in self.removed:
            counts[removal.reason] = counts.get(removal.reason, 0) + 1
        return counts


def row_format(row: dict) -> str:
    """Which of FORMATS a (validated) row is in."""
    if "messages" in row:
        return "messages"
    if "prompt" in row or "completion" in row:
        return "completion"
    return "text"


def prompt_and_response(row: dict) -> tuple[str, str]:
    """The input a model sees and the output it should learn, whatever the format.

    messages: every turn up to the last assistant turn joined as the input; that turn is the output.
    text: no input, the whole text is the output.
    """
    fmt = row_format(row)
    if fmt == "completion":
        return row.get("prompt", ""), row.get("completion", "")
    if fmt == "text":
        return "", row.get("text", "")
    messages = row["messages"]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        return "\n".join(m.get("content", "") for m in messages), ""
    context = "\n".join(m.get("content", "") for m in messages[:last] if m.get("role") != "system")
    return context, messages[last].get("content", "")


def meta(row: dict) -> dict[str, Any]:
    """The row's meta dict (empty if it has none)."""
    value = row.get("meta")
    return value if isinstance(value, dict) else {}


def assign_ids(rows: list[dict], prefix: str = "r") -> list[dict]:
    """Give every row without an id a stable one (`r00001`...), keeping ids already present."""
    taken = {str(r["id"]) for r in rows if "id" in r}
    counter = 0
    out = []
    for row in rows:
        if "id" not in row:
            counter += 1
            while f"{prefix}{counter:05d}" in taken:
                counter += 1
            row = {"id": f"{prefix}{counter:05d}", **row}
            taken.add(row["id"])
        out.append(row)
    return out
