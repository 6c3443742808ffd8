"""What the guide says when no tool is the answer: the next step, and what it can do.

The next step is read from the workflow position in the order the workflow runs: use case,
documents, data, training, evaluation, advice, export. It is phrased as something the person can
type, so the answer is also an example of how to ask.
"""

from __future__ import annotations

from typing import Any

STEPS = (
    ("use_case", "say what the model should do, e.g. 'short friendly answers about our coffee'"),
    ("kb", "add your documents, e.g. 'add the documents in ./docs'"),
    ("dataset", "build a training set, e.g. 'make 30 training examples from the documents'"),
    ("run", "train on it, e.g. 'start training on the current dataset'"),
    ("eval", "evaluate the tuned model against the base, e.g. 'evaluate the last run'"),
)
AFTER_EVAL = "get advice for the next run ('what should I change?'), test it, or export it"


def next_step(position: dict[str, Any]) -> str:
    """The next thing to do, from what the position already holds."""
    for key, advice in STEPS:
        if not position.get(key):
            return advice
    return AFTER_EVAL


def capabilities(registry: Any) -> str:
    """One line per tool: its name and one way to ask for it."""
    lines = []
    for spec in registry:
        example = spec.examples[0] if spec.examples else ""
        lines.append(f'- {spec.name.replace("_", " ")}: e.g. "{example}"')
    return "\n".join(lines)


def not_understood(registry: Any, position: dict[str, Any]) -> str:
    return (
        "I did not understand that. Here is what I can do:\n"
        f"{capabilities(registry)}\n"
        f"A good next step now: {next_step(position)}."
    )


def what_next(position: dict[str, Any]) -> str:
    known = ", ".join(f"{k} {v}" for k, v in position.items() if isinstance(v, str) and v)
    where = f"So far: {known}. " if known else "Nothing is set up yet. "
    return f"{where}Next: {next_step(position)}."
