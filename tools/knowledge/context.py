"""Retrieval in the prompt: the top chunks of a knowledge base put in front of a question.

Evaluation (`--kb`), the playground and the agent all build RAG prompts here, so "fine-tuning,
RAG, or both" is compared with one and the same prompt. Chunk text is rendered inside delimited
`<reference_documents>` blocks (prompts/rag_context.yaml): it is data, never instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prompts import load_prompt, render

PROMPT = "rag_context"


def context_messages(messages: Sequence[dict], hits: Sequence[Any]) -> list[dict]:
    """`messages` with the last user turn wrapped in the retrieved chunks and a system note.

    An existing system prompt is kept first and the retrieval note is appended to it, so a
    per-model instruction prompt and retrieval combine instead of replacing each other.
    """
    chunks = [{"citation": h.chunk.citation(), "text": h.chunk.body} for h in hits]
    out = [dict(m) for m in messages]
    last_user = max((i for i, m in enumerate(out) if m.get("role") == "user"), default=None)
    if last_user is None or not chunks:
        return out
    question = out[last_user].get("content", "")
    out[last_user] = {
        "role": "user",
        "content": render(PROMPT, "user", chunks=chunks, question=question),
    }
    note = render(PROMPT, "system").strip()
    if out and out[0].get("role") == "system":
        out[0] = {"role": "system", "content": f"{out[0].get('content', '').rstrip()}\n\n{note}"}
    else:
        out.insert(0, {"role": "system", "content": note})
    return out


def retrieve(kb: str, question: str, k: int = 3, *, ws: Any = None) -> list[Any]:
    """The `k` best chunks of knowledge base `kb` for `question` (tools.knowledge.kb.Hit)."""
    from tools.knowledge.kb import search

    return search(kb, question, k, ws=ws)


def with_retrieval(
    messages: Sequence[dict], kb: str, k: int = 3, *, ws: Any = None
) -> tuple[list[dict], list[Any]]:
    """Retrieve for the last user turn of `messages` and return (prompted messages, hits)."""
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    if not users:
        return [dict(m) for m in messages], []
    hits = retrieve(kb, users[-1], k, ws=ws)
    return context_messages(messages, hits), hits


def prompt_version() -> int:
    return int(load_prompt(PROMPT)["version"])
