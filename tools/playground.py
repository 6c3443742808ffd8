"""The playground: ask a model questions, optionally with a knowledge base in its prompt.

`answer()` is one turn; `Conversation` keeps the turns so a follow-up question has its context,
and `/reset` starts over. With a knowledge base, the best chunks for the *latest* question are put
in front of it (tools/knowledge/context.py, the same prompt evaluation uses), so a tuned model can
be tried with retrieval — fine-tuning and RAG together. Earlier turns are kept as they were asked,
without their chunks, so the prompt does not grow by k chunks a turn.

Loading a model takes seconds (minutes for a big one); a playground is many short turns, so
engines are cached per (ref, workspace, device) and every later turn reuses the loaded weights.
The model test runner shares the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, ModelUnavailable
from core.models.engine import ChatRequest, Engine
from core.settings import Settings, get_settings
from core.workspace import Workspace

MAX_CACHED_ENGINES = 2
_ENGINES: OrderedDict[tuple[str, str, str], Engine] = OrderedDict()
_ENGINES_LOCK = threading.Lock()


def workspace_settings(ws: Workspace | None) -> Settings:
    """The settings, pointed at `ws` when one is given (so run: refs resolve in that workspace)."""
    settings = get_settings()
    if ws is None or settings.workspace_dir == ws.root:
        return settings
    return settings.model_copy(update={"home": ws.root})


def get_engine(model_ref: str, ws: Workspace | None = None) -> Engine:
    """The engine for `model_ref`, loaded once and kept (the two most recent models stay loaded)."""
    from core.models.refs import parse_ref
    from core.models.registry import load_engine

    settings = workspace_settings(ws)
    parsed = parse_ref(model_ref)
    name = parsed.canonical
    if parsed.scheme == "hf" and Path(parsed.target).expanduser().exists():
        name = f"hf:{Path(parsed.target).expanduser().resolve()}"  # ./model differs by folder
    key = (name, str(settings.workspace_dir), settings.device)
    with _ENGINES_LOCK:
        if key in _ENGINES:
            _ENGINES.move_to_end(key)
            return _ENGINES[key]
        engine = load_engine(model_ref, settings)
        _ENGINES[key] = engine
        while len(_ENGINES) > MAX_CACHED_ENGINES:
            _ENGINES.popitem(last=False)
        return engine


def clear_engines() -> None:
    """Forget every cached engine (their memory is freed once nothing else holds them)."""
    with _ENGINES_LOCK:
        _ENGINES.clear()


@dataclass
class PlaygroundAnswer:
    """One answer, the chunks it was given (tools.knowledge.kb.Hit, best first) and its cost."""

    text: str
    hits: list[Any]
    prompt_tokens: int
    output_tokens: int
    latency_s: float

    @property
    def sources(self) -> list[str]:
        """The citations of the chunks in the prompt, in the order the model saw them."""
        return [hit.chunk.citation() for hit in self.hits]

    @property
    def citations(self) -> list[str]:
        """The same as `sources` (the name the Gradio playground reads)."""
        return self.sources

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sources": self.sources,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "latency_s": self.latency_s,
        }


def build_messages(
    question: str, history: Sequence[dict] | None = None, system: str | None = None
) -> list[dict]:
    """System prompt (if any), the earlier turns, then the new question."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput("The question is empty.", "Type a question, e.g. 'Do you ship abroad?'")
    messages: list[dict] = []
    if system and system.strip():
        messages.append({"role": "system", "content": system.strip()})
    for turn in history or []:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise InvalidInput(
                f"History turns must be user/assistant messages, got {turn!r}.",
                "Pass the turns as [{'role': 'user', 'content': ...}, ...].",
            )
        messages.append({"role": turn["role"], "content": str(turn.get("content", ""))})
    messages.append({"role": "user", "content": question.strip()})
    return messages


def answer(
    model_ref: str,
    question: str,
    *,
    kb: str | None = None,
    k: int = 3,
    history: Sequence[dict] | None = None,
    system: str | None = None,
    max_new_tokens: int = 256,
    ws: Workspace | None = None,
) -> PlaygroundAnswer:
    """Answer `question` after `history` with `model_ref`; with `kb`, its top-k chunks in front."""
    if max_new_tokens < 1:
        raise InvalidInput(f"max_new_tokens must be at least 1, not {max_new_tokens}.", "Use 256.")
    if kb and k < 1:
        raise InvalidInput(f"k must be at least 1, not {k}.", "Use -k 3 for the three best chunks.")
    messages = build_messages(question, history, system)
    hits: list[Any] = []
    if kb:
        from tools.knowledge.context import with_retrieval

        messages, hits = with_retrieval(messages, kb, k, ws=ws)
    engine = get_engine(model_ref, ws)
    (generation,) = engine.generate([ChatRequest(messages, max_new_tokens=max_new_tokens)])
    if not generation.ok:
        raise ModelUnavailable(
            f"{engine.ref} could not answer: {generation.error}",
            "Check that the model or its server is working (`tunesmith models list`).",
        )
    return PlaygroundAnswer(
        generation.text.strip(),
        hits,
        generation.prompt_tokens,
        generation.output_tokens,
        generation.latency_s,
    )


@dataclass
class Conversation:
    """A playground session: the same settings every turn, and the turns so far."""

    model_ref: str
    kb: str | None = None
    k: int = 3
    system: str | None = None
    max_new_tokens: int = 256
    ws: Workspace | None = None
    history: list[dict] = field(default_factory=list)

    def ask(self, question: str) -> PlaygroundAnswer:
        """Answer with the conversation so far, then remember this turn."""
        reply = answer(
            self.model_ref,
            question,
            kb=self.kb,
            k=self.k,
            history=self.history,
            system=self.system,
            max_new_tokens=self.max_new_tokens,
            ws=self.ws,
        )
        self.history += [
            {"role": "user", "content": question.strip()},
            {"role": "assistant", "content": reply.text},
        ]
        return reply

    def reset(self) -> None:
        """Forget the turns so far (the model stays loaded)."""
        self.history.clear()
