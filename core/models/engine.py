"""The one generation interface: batched chat requests in, texts + token counts + latency out.

Synthesis, evaluation, the prompt lab and the judge all talk to models through `Engine`, so a
backend (transformers, an OpenAI-compatible server, later vLLM) is swapped by changing a ref
string and nothing else. Results always come back in the order of the requests, whatever order
the backend ran them in, and one failed request is reported in its own `Generation.error` rather
than failing the whole batch (where the backend can tell them apart).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` while a batch of requests runs."""


@dataclass
class ChatRequest:
    """One conversation to continue: OpenAI-style messages ({"role": ..., "content": ...})."""

    messages: list[dict]
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 means greedy: the same prompt gives the same answer


@dataclass
class Generation:
    """What a model answered to one request, and what it cost.

    `latency_s` is the wall time of the request; for batched backends, of the batch it ran in.
    `error` is set (and `text` empty) when this request failed and the others did not.
    """

    text: str
    prompt_tokens: int
    output_tokens: int
    latency_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class Engine(Protocol):
    """A loaded model that answers chat requests. `ref` is the model ref it was loaded from."""

    ref: str

    def generate(
        self,
        requests: list[ChatRequest],
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> list[Generation]:
        """Answer every request; the i-th result answers the i-th request.

        `batch_size` bounds how much runs at once (prompts per forward pass for local models,
        requests in flight for remote ones); None picks the backend's default.
        """
        ...
