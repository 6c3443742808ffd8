"""The OpenAI-compatible backend: OpenAI itself, vLLM's server, Ollama, LM Studio, llama.cpp...

Remote models are slow per request but happy to serve many at once, so requests go out
concurrently from a small thread pool (bounded, so a 5,000-row synthesis does not open 5,000
connections). Timeouts and retries (with backoff, honouring Retry-After) come from the settings and
are applied by the `openai` SDK. A request that still fails is returned as a `Generation` with
`error` set, so one bad row never throws away the other 4,999 answers.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from core.errors import InvalidInput, ModelUnavailable
from core.models.engine import ChatRequest, Generation, Progress
from core.settings import Settings, get_settings

DEFAULT_CONCURRENCY = 8
LOCAL_SERVER_KEY = "not-needed"
"""Placeholder key: local servers ignore it, but the SDK refuses to start without one."""


def ollama_openai_url(settings: Settings) -> str:
    """Ollama serves the OpenAI API under /v1 of its base URL."""
    return settings.ollama_base_url.rstrip("/") + "/v1"


def openai_credentials(settings: Settings, base_url: str | None) -> tuple[str | None, str]:
    """(base_url, api_key) for an openai: ref, or ModelUnavailable saying which setting to set.

    The URL comes from the ref's own `@base_url`, then TUNESMITH_OPENAI_BASE_URL, then the SDK's
    OPENAI_BASE_URL; None means OpenAI itself. The key comes from TUNESMITH_OPENAI_API_KEY, then
    OPENAI_API_KEY; a server of your own (base URL set, no key) gets a placeholder key.
    """
    url = base_url or settings.openai_base_url.strip() or os.environ.get("OPENAI_BASE_URL") or None
    key = settings.openai_api_key.get_secret_value() or os.environ.get("OPENAI_API_KEY", "")
    if not key and not url:
        raise ModelUnavailable(
            "openai: refs need an API key or the base URL of a compatible server; neither is set.",
            "Set TUNESMITH_OPENAI_API_KEY (or OPENAI_API_KEY) for OpenAI, or "
            "TUNESMITH_OPENAI_BASE_URL (e.g. http://localhost:8000/v1) for vLLM, Ollama and "
            "other compatible servers.",
        )
    return url, key or LOCAL_SERVER_KEY


class OpenAIEngine:
    """Engine over any server that implements POST {base_url}/chat/completions."""

    def __init__(
        self,
        ref: str,
        model: str,
        *,
        base_url: str | None,
        api_key: str,
        timeout_s: float,
        retries: int,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        import openai

        self.ref = ref
        self.model = model
        self.base_url = base_url
        self.concurrency = concurrency
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max(0, retries)
        )

    @classmethod
    def for_openai(
        cls, ref: str, model: str, base_url: str | None, settings: Settings | None = None
    ) -> OpenAIEngine:
        settings = settings or get_settings()
        url, key = openai_credentials(settings, base_url)
        return cls(
            ref,
            model,
            base_url=url,
            api_key=key,
            timeout_s=settings.request_timeout,
            retries=settings.request_retries,
        )

    @classmethod
    def for_ollama(cls, ref: str, model: str, settings: Settings | None = None) -> OpenAIEngine:
        settings = settings or get_settings()
        return cls(
            ref,
            model,
            base_url=ollama_openai_url(settings),
            api_key="ollama",
            timeout_s=settings.request_timeout,
            retries=settings.request_retries,
        )

    def generate(
        self,
        requests: list[ChatRequest],
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> list[Generation]:
        """Send `requests` concurrently (`batch_size` in flight, default 8); results in order."""
        if not requests:
            return []
        workers = batch_size or self.concurrency
        if workers < 1:
            raise InvalidInput(f"batch_size must be at least 1, not {workers}.", "Use 1 or more.")
        results: list[Generation | None] = [None] * len(requests)
        with ThreadPoolExecutor(max_workers=min(workers, len(requests))) as pool:
            futures = {pool.submit(self._one, r): i for i, r in enumerate(requests)}
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, len(requests))
        return [r for r in results if r is not None]

    def _one(self, request: ChatRequest) -> Generation:
        started = time.perf_counter()
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=request.messages,  # type: ignore[arg-type]
                max_tokens=request.max_new_tokens,
                temperature=request.temperature,
            )
            text = _message_text(response)
        except Exception as exc:  # one failed request must not sink the batch
            return Generation("", 0, 0, time.perf_counter() - started, error=_describe(exc))
        usage = getattr(response, "usage", None)
        return Generation(
            text,
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
            time.perf_counter() - started,
        )


def _message_text(response: Any) -> str:
    choices = getattr(response, "choices", None)
    if not choices:
        raise ValueError("the server answered with no choices")
    return choices[0].message.content or ""


def _describe(exc: Exception) -> str:
    """One line naming the failure: status code and server message where there is one."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"timed out: {exc}"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    if isinstance(exc, openai.APIConnectionError):
        return f"connection failed: {exc}"
    return f"{type(exc).__name__}: {exc}"
